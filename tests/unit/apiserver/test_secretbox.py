"""The secretbox provider: NaCl's XSalsa20-Poly1305 in Kubernetes' layout."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from apiserver.storage.value.encryption_config import load_encryption_config
from apiserver.storage.value.resource_transformers import ResourceTransformers
from apiserver.storage.value.secretbox import SecretboxTransformer, open_box, seal
from apiserver.storage.value.transformer import TransformError

KEY = bytes(range(32))
NONCE = bytes(range(24))
MESSAGE = b"tinykube secretbox test vector"
# crypto_secretbox_easy of libsodium (through PyNaCl 1.5) for KEY, NONCE, MESSAGE, without
# the nonce: the Poly1305 tag, then the ciphertext. Recorded once; the code here was
# also compared with it on random keys, nonces and lengths 0 to 5000.
LIBSODIUM_BOX = bytes.fromhex("0f5a60b931f5ef482c9a4449e642a7ff2a965636acbfc0759b4fea5d1aea3ef5"
                              "3ddd66abe9564bcf61c704e03ab5")


def test_seal_matches_libsodium_and_opens_again() -> None:
    assert seal(MESSAGE, NONCE, KEY) == LIBSODIUM_BOX
    assert open_box(LIBSODIUM_BOX, NONCE, KEY) == MESSAGE


def test_a_tampered_box_or_another_key_does_not_open() -> None:
    tampered = LIBSODIUM_BOX[:-1] + bytes([LIBSODIUM_BOX[-1] ^ 1])
    assert open_box(tampered, NONCE, KEY) is None
    assert open_box(LIBSODIUM_BOX, NONCE, bytes(32)) is None


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000])
def test_the_transformer_round_trips_with_the_nonce_first(size: int) -> None:
    transformer = SecretboxTransformer(KEY, random=lambda n: NONCE[:n])
    plain = bytes(i % 251 for i in range(size))
    stored = transformer.to_storage(plain, b"/registry/secrets/default/x")
    assert stored[:24] == NONCE and len(stored) == 24 + 16 + size
    assert transformer.from_storage(stored, b"/registry/secrets/default/x") == (plain, False)
    with pytest.raises(TransformError):
        SecretboxTransformer(bytes(32)).from_storage(stored, b"")


def test_a_secretbox_config_writes_kubernetes_prefix(tmp_path: Path) -> None:
    secret = base64.b64encode(KEY).decode()
    path = tmp_path / "encryption.yaml"
    path.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
                    "resources:\n- resources: [secrets]\n  providers:\n"
                    f"  - secretbox: {{keys: [{{name: key1, secret: {secret}}}]}}\n")
    transformer = ResourceTransformers(load_encryption_config(path)).for_key("/registry/secrets/a/b")
    assert transformer is not None
    stored = transformer.to_storage(b'{"kind":"Secret"}', b"/registry/secrets/a/b")
    assert stored.startswith(b"k8s:enc:secretbox:v1:key1:")
    assert transformer.from_storage(stored, b"/registry/secrets/a/b")[0] == b'{"kind":"Secret"}'
