"""Encryption at rest: providers, prefix selection, staleness, config validation."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from apiserver.storage.value.aes import CBCTransformer, GCMTransformer
from apiserver.storage.value.encryption_config import EncryptionConfigError, load_encryption_config
from apiserver.storage.value.resource_transformers import ResourceTransformers
from apiserver.storage.value.transformer import TransformError

KEY = "/registry/secrets/default/db"
KEY1 = base64.b64encode(b"1" * 32).decode()
KEY2 = base64.b64encode(b"2" * 16).decode()


def write_config(tmp_path: Path, providers: str, resources: str = "[secrets]") -> Path:
    path = tmp_path / "encryption.yaml"
    path.write_text(f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: {resources}
  providers:
{providers}
""")
    return path


def secrets_transformer(tmp_path: Path, providers: str):  # type: ignore[no-untyped-def]
    transformer = ResourceTransformers(load_encryption_config(write_config(tmp_path, providers))) \
        .for_key(KEY)
    assert transformer is not None
    return transformer


@pytest.mark.parametrize("make", [GCMTransformer, CBCTransformer])
@pytest.mark.parametrize("size", [16, 24, 32])
def test_each_aes_provider_round_trips(make: type, size: int) -> None:
    transformer = make(b"k" * size)
    for plain in (b"", b"x", b"{" + b"a" * 100 + b"}"):
        stored = transformer.to_storage(plain, KEY.encode())
        assert len(plain) < 8 or plain not in stored
        assert transformer.from_storage(stored, KEY.encode()) == (plain, False)


def test_gcm_layout_is_nonce_then_sealed_value_bound_to_the_key() -> None:
    transformer = GCMTransformer(b"k" * 32, random=lambda n: b"\x07" * n)
    stored = transformer.to_storage(b'{"a":1}', KEY.encode())
    assert stored[:12] == b"\x07" * 12 and len(stored) == 12 + 7 + 16
    with pytest.raises(TransformError, match="message authentication failed"):
        transformer.from_storage(stored, b"/registry/secrets/default/other")


def test_wrong_key_fails_with_a_clear_error(tmp_path: Path) -> None:
    writer = secrets_transformer(tmp_path, f"  - aesgcm: {{keys: [{{name: key1, secret: {KEY1}}}]}}")
    stored = writer.to_storage(b'{"kind":"Secret"}', KEY.encode())
    assert stored.startswith(b"k8s:enc:aesgcm:v1:key1:")
    reader = secrets_transformer(tmp_path, f"  - aesgcm: {{keys: [{{name: key1, secret: {KEY2}}}]}}")
    with pytest.raises(TransformError, match="cipher: message authentication failed"):
        reader.from_storage(stored, KEY.encode())
    other = secrets_transformer(tmp_path, f"  - aesgcm: {{keys: [{{name: key2, secret: {KEY2}}}]}}")
    with pytest.raises(TransformError, match="no matching key was found"):
        other.from_storage(stored, KEY.encode())


def test_rotation_reads_old_key_as_stale_and_writes_with_the_first(tmp_path: Path) -> None:
    old = secrets_transformer(tmp_path, f"  - aescbc: {{keys: [{{name: old, secret: {KEY1}}}]}}")
    stored = old.to_storage(b"{}", KEY.encode())
    rotated = secrets_transformer(tmp_path, f"""  - aesgcm: {{keys: [{{name: new, secret: {KEY2}}}]}}
  - aescbc: {{keys: [{{name: old, secret: {KEY1}}}]}}""")
    assert rotated.from_storage(stored, KEY.encode()) == (b"{}", True)
    rewritten = rotated.to_storage(b"{}", KEY.encode())
    assert rewritten.startswith(b"k8s:enc:aesgcm:v1:new:")
    assert rotated.from_storage(rewritten, KEY.encode()) == (b"{}", False)


def test_identity_reads_plaintext_as_stale_and_never_reads_ciphertext(tmp_path: Path) -> None:
    both = secrets_transformer(tmp_path, f"""  - aesgcm: {{keys: [{{name: key1, secret: {KEY1}}}]}}
  - identity: {{}}""")
    assert both.from_storage(b'{"kind":"Secret"}', KEY.encode()) == (b'{"kind":"Secret"}', True)
    plain_first = secrets_transformer(tmp_path, f"""  - identity: {{}}
  - aesgcm: {{keys: [{{name: key1, secret: {KEY1}}}]}}""")
    assert plain_first.to_storage(b"{}", KEY.encode()) == b"{}"
    encrypted = both.to_storage(b"{}", KEY.encode())
    assert plain_first.from_storage(encrypted, KEY.encode()) == (b"{}", True)
    only_gcm = secrets_transformer(tmp_path, f"  - aesgcm: {{keys: [{{name: key1, secret: {KEY1}}}]}}")
    with pytest.raises(TransformError, match="no matching prefix found"):
        only_gcm.from_storage(b"{}", KEY.encode())


def test_resources_match_exact_then_group_wildcard_then_everything(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets, deployments.apps]
  providers: [{{aesgcm: {{keys: [{{name: a, secret: {KEY1}}}]}}}}]
- resources: ["*.stable.example.com"]
  providers: [{{aescbc: {{keys: [{{name: b, secret: {KEY1}}}]}}}}]
""")
    transformers = ResourceTransformers(load_encryption_config(path))
    prefix = lambda key: transformers.for_key(key).to_storage(b"{}", key.encode())[:18]  # noqa: E731
    assert prefix("/registry/secrets/ns/a") == b"k8s:enc:aesgcm:v1:"
    assert prefix("/registry/deployments/ns/a") == b"k8s:enc:aesgcm:v1:"
    assert prefix("/registry/stable.example.com/crontabs/ns/a") == b"k8s:enc:aescbc:v1:"
    for plain in ("/registry/configmaps/ns/a", "/registry/ranges/serviceips/10.0.0.1",
                  "/registry/other.example.com/things/a", "compact_rev_key"):
        assert transformers.for_key(plain) is None
    everything = ResourceTransformers(load_encryption_config(
        write_config(tmp_path, "  - identity: {}", '["*.*"]')))
    assert everything.for_key("/registry/configmaps/ns/a") is not None


@pytest.mark.parametrize(("providers", "resources", "message"), [
    (f"  - aesgcm: {{keys: [{{name: k, secret: {base64.b64encode(b'short').decode()}}}]}}", "[secrets]",
     'resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not '
     "of the expected length, got 5, expected one of [16 24 32]"),
    ("  - aescbc: {keys: [{name: k, secret: '***'}]}", "[secrets]",
     "secrets must be base64 encoded"),
    ("  - aesgcm: {keys: []}", "[secrets]",
     "resources[0].providers[0].aesgcm.keys: Required value: at least one keys is required"),
    (f"  - aesgcm: {{keys: [{{secret: {KEY1}}}]}}", "[secrets]",
     "name is a mandatory field for a key"),
    ("  - rot13: {}", "[secrets]", 'Invalid value: "rot13": unknown provider'),
    (f"  - aesgcm: {{keys: [{{name: k, secret: {KEY1}}}]}}\n    identity: {{}}", "[secrets]",
     "more than one provider specified in a single element"),
    ("  - identity: {}", "[Secrets]", "resource name should not contain capital letters"),
    ("  - identity: {}", '["*"]', "use '*.' to encrypt all the resources"),
    ("  - identity: {}", '[secrets, "*."]', "overlapping resources"),
    ("  - identity: {}", "[secrets, secrets]", "the same resource cannot be specified multiple times"),
    ("  - identity: {}", "[events.events.k8s.io]", "Use 'events' instead"),
    ("  - identity: {}", '["pods.*"]', "encrypting the same resource across groups is not supported"),
    (f"  - secretbox: {{keys: [{{name: k, secret: {KEY2}}}]}}", "[secrets]",
     "expected one of [32]"),
    ("  - kms: {name: plugin}", "[secrets]", "kms provider is not supported by tinykube"),
])
def test_invalid_configs_are_refused(tmp_path: Path, providers: str, resources: str,
                                     message: str) -> None:
    with pytest.raises(EncryptionConfigError) as err:
        load_encryption_config(write_config(tmp_path, providers, resources))
    assert message in str(err.value)


def test_kind_version_and_masking_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(EncryptionConfigError, match='no kind "ConfigMap" is registered for version "v1"'):
        load_encryption_config(path)
    with pytest.raises(EncryptionConfigError, match="error opening encryption provider configuration"):
        load_encryption_config(tmp_path / "missing.yaml")
    path.write_text("""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: ["*.*"]
  providers: [{identity: {}}]
- resources: [secrets]
  providers: [{identity: {}}]
""")
    with pytest.raises(EncryptionConfigError, match='resource "secrets" is masked by earlier rule "\\*.\\*"'):
        load_encryption_config(path)
