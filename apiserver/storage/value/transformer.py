"""Value transformers: what happens to an object's bytes on their way to etcd and back.

A transformer turns the JSON of an object into what is stored (`to_storage`) and
back (`from_storage`). `from_storage` also says whether the stored value is
*stale*: readable, but not written the way a write would write it now (an old
key, an old provider, plaintext under an encrypting config). The store writes a
stale value again even when the object did not change, which is what makes key
rotation by rewrite work (`kubectl get secrets -A -o json | kubectl replace -f -`).

`PrefixTransformers` chooses by the stored value's prefix: the first transformer
writes; on read the first whose prefix matches and that succeeds wins, and any but
the first marks the value stale. Providers nest this twice, as upstream: a
provider prefix (`k8s:enc:aesgcm:v1:`) over key prefixes (`key1:`).

The context of every call is the etcd key: AES-GCM authenticates it, so a value
copied under another key does not decrypt.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/value/transformer.go,
staging/src/k8s.io/apiserver/pkg/storage/value/encrypt/identity/identity.go
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Every encrypted value starts so; identity refuses to pass such a value on as JSON.
ENCRYPTED_PREFIX = b"k8s:enc:"


class TransformError(Exception):
    """The stored value cannot be turned back into the object (wrong key, tampered, ...)."""


class Transformer(Protocol):
    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        """(the plain value, stale); TransformError if it cannot be read."""
        ...

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        ...


class IdentityTransformer:
    """Plaintext: writes the value as it is; refuses to read an encrypted one as plain."""

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if data.startswith(ENCRYPTED_PREFIX):
            raise TransformError("identity transformer tried to read encrypted data")
        return data, False

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        return data


@dataclass(frozen=True)
class PrefixTransformer:
    prefix: bytes
    transformer: Transformer


class PrefixTransformers:
    """Guarantees:
    - writes use the first transformer and start with its prefix;
    - a read tries every transformer whose prefix matches, in order (two providers
      of one kind share a prefix while a key is rotated); the first success wins
      and is stale unless it was the first transformer;
    - an error of the empty-prefix (identity) transformer never hides a later one;
    - nothing matching: `no_match` (or the errors of those that matched)."""

    def __init__(self, no_match: str, transformers: list[PrefixTransformer]) -> None:
        if not transformers:
            raise ValueError("at least one transformer is required")
        self.no_match = no_match
        self.transformers = transformers

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        errors: list[str] = []
        for index, candidate in enumerate(self.transformers):
            if not data.startswith(candidate.prefix):
                continue
            try:
                plain, stale = candidate.transformer.from_storage(
                    data[len(candidate.prefix):], context)
            except TransformError as err:
                if candidate.prefix:
                    errors.append(str(err))
                continue
            return plain, stale or index != 0
        if errors:
            raise TransformError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
        raise TransformError(self.no_match)

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        first = self.transformers[0]
        return first.prefix + first.transformer.to_storage(data, context)
