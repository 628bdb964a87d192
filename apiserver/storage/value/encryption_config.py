"""`--encryption-provider-config`: Kubernetes' EncryptionConfiguration, loaded once at start.

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
    - resources: [secrets, configmaps]      # also deployments.apps, *.apps, *. (core), *.*
      providers:                            # the first writes, any reads
      - aesgcm: {keys: [{name: key1, secret: <base64 of 16, 24 or 32 bytes>}]}
      - identity: {}                        # plaintext written before encryption was on

Validation and its messages are kube-apiserver's (a config with any error stops the
API server). The result, `ResourceTransformers`, answers for an etcd key the
transformer of its resource: the exact `resource.group` first, then `*.group`,
then `*.*`; a resource named nowhere is stored as plain JSON (None). Keys are
`/registry/<plural>/...` for built-ins (plural -> group from the resource index)
and `/registry/<group>/<plural>/...` for custom resources.

tinykube has no `kms` (no KMS plugin client): it is refused at start, by name.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go,
staging/src/k8s.io/apiserver/pkg/apis/apiserver/validation/validation_encryption.go
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import yaml

from apiserver.storage.value.aes import CBCTransformer, GCMTransformer
from apiserver.storage.value.secretbox import SecretboxTransformer
from apiserver.storage.value.transformer import (
    IdentityTransformer,
    PrefixTransformer,
    PrefixTransformers,
    Transformer,
)

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
PROVIDERS = ("kms", "aesgcm", "aescbc", "secretbox", "identity")
AES_KEY_SIZES = (16, 24, 32)
SECRETBOX_KEY_SIZES = (32,)
PREFIXES = {"aesgcm": b"k8s:enc:aesgcm:v1:", "aescbc": b"k8s:enc:aescbc:v1:",
            "secretbox": b"k8s:enc:secretbox:v1:"}
TRANSFORMERS = {"aesgcm": GCMTransformer, "aescbc": CBCTransformer, "secretbox": SecretboxTransformer}
UNSUPPORTED = {
    "kms": "tinykube has no KMS plugin client; use aesgcm or aescbc",
}
GroupResource = tuple[str, str]  # (group, resource); "*" for either wildcard
ANY = ("*", "*")


class EncryptionConfigError(ValueError):
    pass


def parse_group_resource(text: str) -> GroupResource:
    """`secrets` -> ("", "secrets"); `deployments.apps` -> ("apps", "deployments");
    `*.` -> ("", "*") (schema.ParseGroupResource)."""
    resource, _, group = text.partition(".")
    return group, resource


def _format(group_resource: GroupResource) -> str:
    group, resource = group_resource
    return "*." if group_resource == ("", "*") else (f"{resource}.{group}" if group else resource)


def _invalid(path: str, value: Any, detail: str) -> str:
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _required(path: str, detail: str) -> str:
    return f"{path}: Required value: {detail}"


def _validate_resources(resources: list[str], path: str) -> list[str]:
    errors = []
    parsed = [parse_group_resource(r) for r in resources]
    duplicate = len(set(parsed)) != len(parsed)
    overlap = len(parsed) > 1 and any(
        a == ANY or (a[0] == b[0] and "*" in (a[1], b[1]))
        for i, a in enumerate(parsed) for j, b in enumerate(parsed) if i != j and a != b)
    if duplicate:
        errors.append(_invalid(path, resources, "the same resource cannot be specified multiple times"))
    if overlap:
        errors.append(_invalid(path, resources, "using overlapping resources such as 'secrets' and "
                               "'*.' in the same resource list is not allowed as they will be masked"))
    for index, text in enumerate(resources):
        at, (group, resource) = f"{path}[{index}]", parse_group_resource(text)
        if text.lower() != text:
            errors.append(_invalid(at, text, "resource name should not contain capital letters"))
        elif text == "*":
            errors.append(_invalid(at, text, "use '*.' to encrypt all the resources from core API "
                                   "group or *.* to encrypt all resources"))
        elif text in ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations"):
            errors.append(_invalid(at, text, "resources which do not have REST API/s cannot be encrypted"))
        elif group == "events.k8s.io":
            errors.append(_invalid(at, text, "'*.events.k8s.io' objects are stored using the 'events' "
                                   "API group in etcd. Use 'events' instead in the config file"))
        elif group == "extensions":
            errors.append(_invalid(at, text, "'extensions' group has been removed and cannot be used "
                                   "for encryption"))
        elif group == "*" and resource != "*":
            errors.append(_invalid(at, text, "encrypting the same resource across groups is not supported"))
    return errors


def _validate_keys(provider: Any, path: str, sizes: tuple[int, ...]) -> list[str]:
    keys = (provider or {}).get("keys") if isinstance(provider, dict) else None
    if not keys:
        return [_required(f"{path}.keys", "at least one keys is required")]
    errors = []
    for index, key in enumerate(keys):
        at, key = f"{path}.keys[{index}]", key if isinstance(key, dict) else {}
        if not key.get("name"):
            errors.append(_required(f"{at}.name", "name is a mandatory field for a key"))
        if not key.get("secret"):
            errors.append(_required(f"{at}.secret", "secret is a mandatory field for a key"))
            continue
        try:
            secret = base64.b64decode(str(key["secret"]), validate=True)
        except binascii.Error:
            errors.append(_invalid(f"{at}.secret", "REDACTED", "secrets must be base64 encoded"))
            continue
        if len(secret) not in sizes:
            expected = "[" + " ".join(str(s) for s in sizes) + "]"
            errors.append(_invalid(f"{at}.secret", "REDACTED", f"secret is not of the expected "
                                   f"length, got {len(secret)}, expected one of {expected}"))
    return errors


def validate(config: dict[str, Any]) -> list[str]:
    entries = config.get("resources") or []
    if not entries:
        return [_required("resources", "at least one resources is required")]
    errors: list[str] = []
    for i, entry in enumerate(entries):
        r, p = f"resources[{i}].resources", f"resources[{i}].providers"
        entry = entry if isinstance(entry, dict) else {}
        resources = [str(x) for x in entry.get("resources") or []]
        if not resources:
            errors.append(_required(r, f"at least one {r} is required"))
        errors += _validate_resources(resources, r)
        providers = entry.get("providers") or []
        if not providers:
            errors.append(_required(p, f"at least one {p} is required"))
        for j, provider in enumerate(providers):
            at = f"{p}[{j}]"
            provider = provider if isinstance(provider, dict) else {}
            unknown = sorted(set(provider) - set(PROVIDERS))
            found = [name for name in PROVIDERS if name in provider]
            if unknown:
                errors.append(_invalid(at, ", ".join(unknown), "unknown provider; expected one of "
                                       "kms, aesgcm, aescbc, secretbox, identity"))
            elif not found:
                errors.append(_invalid(at, "{}", "provider does not contain any of the expected "
                                       "providers: KMS, AESGCM, AESCBC, Secretbox, Identity"))
            elif len(found) > 1:
                errors.append(_invalid(at, ", ".join(found), "more than one provider specified in a "
                                       "single element, should split into different list elements"))
            elif found[0] in ("aesgcm", "aescbc", "secretbox"):
                sizes = SECRETBOX_KEY_SIZES if found[0] == "secretbox" else AES_KEY_SIZES
                errors += _validate_keys(provider[found[0]], f"{at}.{found[0]}", sizes)
    return errors


def _provider_transformer(provider: dict[str, Any]) -> PrefixTransformer:
    (name, settings), = provider.items()
    if name == "identity":
        return PrefixTransformer(b"", IdentityTransformer())
    if name in UNSUPPORTED:
        raise EncryptionConfigError(f"{name} provider is not supported by tinykube: {UNSUPPORTED[name]}")
    make = TRANSFORMERS[name]
    keys = [PrefixTransformer(f"{key['name']}:".encode(), make(base64.b64decode(key["secret"])))
            for key in settings["keys"]]
    no_match = ("no matching key was found for the provided Secretbox transformer" if name == "secretbox"
                else "no matching key was found for the provided AES transformer")
    return PrefixTransformer(PREFIXES[name], PrefixTransformers(no_match, keys))


def build_transformers(config: dict[str, Any]) -> dict[GroupResource, Transformer]:
    """Each configured resource -> its providers in order (a resource named by
    several entries gets all their providers; one masked by an earlier wildcard is
    an error, as upstream)."""
    chains: dict[GroupResource, list[PrefixTransformer]] = {}
    for entry in config["resources"]:
        providers = [_provider_transformer(p) for p in entry["providers"]]
        for text in entry["resources"]:
            group_resource = parse_group_resource(text)
            for mask in ((group_resource[0], "*"), ANY):
                if mask in chains:
                    raise EncryptionConfigError(f"resource {_format(group_resource)!r} is masked by "
                                                f"earlier rule {_format(mask)!r}".replace("'", '"'))
            chains.setdefault(group_resource, []).extend(providers)
    return {gr: PrefixTransformers("no matching prefix found", chain) for gr, chain in chains.items()}


def load_encryption_config(path: str | Path) -> dict[GroupResource, Transformer]:
    """Read, validate and build; EncryptionConfigError with kube-apiserver's words."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise EncryptionConfigError(f'error opening encryption provider configuration file "{path}": '
                                    f"{err.strerror}") from None
    if not text.strip():
        raise EncryptionConfigError(f'encryption provider configuration file "{path}" is empty')
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise EncryptionConfigError(f'error decoding encryption provider configuration file "{path}": '
                                    f"{err}") from None
    if not isinstance(config, dict) or (config.get("apiVersion"), config.get("kind")) != (API_VERSION, KIND):
        got = config if isinstance(config, dict) else {}
        raise EncryptionConfigError(
            f'error decoding encryption provider configuration file "{path}": no kind '
            f'"{got.get("kind", "")}" is registered for version "{got.get("apiVersion", "")}"; '
            f"expected kind {KIND} in {API_VERSION}")
    errors = validate(config)
    if errors:
        raise EncryptionConfigError("error while parsing file: " + (
            errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"))
    return build_transformers(config)
