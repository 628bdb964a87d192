"""The CustomResourceDefinition strategy: defaults, validation, deletion.

- create fills in upstream's v1 defaults (`names.singular`, `names.listKind`,
  `conversion.strategy`) and resets status; the CRD controllers write status;
- validation follows upstream's ValidateCustomResourceDefinition: the name is
  `<plural>.<group>`, a group with a dot, scope, DNS-1035 names, unique version
  names, exactly one storage version, scale paths, and each version's schema checked
  by the structural-schema library (`schemas.check_schema`);
- an update may not change group or plural, nor (once Established) scope or kind,
  and must keep every `status.storedVersions` entry in `spec.versions`;
- the first delete marks the CRD Terminating and adds the cleanup finalizer: the
  finalizer controller removes every custom resource before the CRD goes.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresourcedefinition
(strategy.go, etcd.go), pkg/apis/apiextensions/validation/validation.go
"""

from __future__ import annotations

from typing import Any

from apiserver.apiextensions import schemas
from apiserver.apiextensions.conditions import set_condition
from apiserver.strategy import Obj, Strategy
from tinykube.api.apiextensions import CLEANUP_FINALIZER, ESTABLISHED, TERMINATING
from tinykube.api.validation import (
    FieldError,
    invalid,
    is_dns1035_label,
    is_dns1123_subdomain,
    not_supported,
    required,
)

SCOPES = ["Cluster", "Namespaced"]


class CustomResourceDefinitionStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        set_defaults(obj.setdefault("spec", {}))
        obj["status"] = {"storedVersions": stored_versions([], obj["spec"])}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        if isinstance(new.get("spec"), dict):
            set_defaults(new["spec"])
            status = new.setdefault("status", {})
            status["storedVersions"] = stored_versions(status.get("storedVersions") or [],
                                                       new["spec"])

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + validate_crd(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old) + validate_crd(new)
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        immutable = [("spec.group", ("group",)), ("spec.names.plural", ("names", "plural"))]
        if _condition_true(old, ESTABLISHED):
            immutable += [("spec.scope", ("scope",)), ("spec.names.kind", ("names", "kind"))]
        for path, keys in immutable:
            if _get(spec, keys) != _get(old_spec, keys):
                errs.append(invalid(path, _get(spec, keys), "field is immutable"))
        served = {v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict)}
        for i, version in enumerate((new.get("status") or {}).get("storedVersions") or []):
            if version not in served:
                errs.append(invalid(f"status.storedVersions[{i}]", version,
                                    "must appear in spec.versions"))
        return errs

    def prepare_for_delete(self, obj: Obj) -> None:
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if CLEANUP_FINALIZER not in finalizers:
            meta["finalizers"] = [*finalizers, CLEANUP_FINALIZER]
        set_condition(obj, TERMINATING, "True", "InstanceDeletionPending",
                      "CustomResourceDefinition marked for deletion; instance deletion pending")


def set_defaults(spec: dict[str, Any]) -> None:
    """Upstream's SetDefaults_CustomResourceDefinitionSpec (v1)."""
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str) and names["kind"]:
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    conversion = spec.setdefault("conversion", {})
    if isinstance(conversion, dict):
        conversion.setdefault("strategy", "None")


def stored_versions(previous: list[str], spec: dict[str, Any]) -> list[str]:
    """storedVersions keeps every version ever stored and adds the current storage one."""
    versions = list(previous)
    for version in spec.get("versions") or []:
        if isinstance(version, dict) and version.get("storage") and version.get("name") \
                and version["name"] not in versions:
            versions.append(version["name"])
    return versions


def validate_crd(obj: Obj) -> list[FieldError]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    errs: list[FieldError] = []
    name = (obj.get("metadata") or {}).get("name", "")
    if name != f"{names.get('plural', '')}.{spec.get('group', '')}":
        errs.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    group = spec.get("group") or ""
    if not group:
        errs.append(required("spec.group"))
    elif problems := is_dns1123_subdomain(group):
        errs.append(invalid("spec.group", group, ",".join(problems)))
    elif "." not in group:
        errs.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errs.append(required("spec.scope"))
    elif scope not in SCOPES:
        errs.append(not_supported("spec.scope", scope, SCOPES))
    errs += _validate_versions(spec.get("versions") or [])
    for key in ("plural", "singular", "kind", "listKind"):
        if not names.get(key):
            errs.append(required(f"spec.names.{key}"))
    errs += validate_names(names, "spec.names")
    if (spec.get("conversion") or {}).get("strategy", "None") != "None":
        errs.append(not_supported("spec.conversion.strategy", spec["conversion"]["strategy"],
                                  ["None"]))
    return errs


def _validate_versions(versions: list[Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not versions:
        return [required("spec.versions", "must have at least one version")]
    seen: set[str] = set()
    unique = True
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        vname = version.get("name") or ""
        unique = unique and vname not in seen
        seen.add(vname)
        if problems := is_dns1035_label(vname):
            errs.append(invalid(f"{path}.name", vname, ",".join(problems)))
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            errs.append(required(f"{path}.schema.openAPIV3Schema", "schemas are required"))
        else:
            errs += schemas.check_schema(schema, f"{path}.schema.openAPIV3Schema")
        errs += _validate_scale((version.get("subresources") or {}).get("scale"),
                                f"{path}.subresources.scale")
    if not unique:
        errs.append(invalid("spec.versions", versions, "must contain unique version names"))
    if sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(invalid("spec.versions", versions,
                            "must have exactly one version marked as storage version"))
    return errs


def _validate_scale(scale: Any, path: str) -> list[FieldError]:
    if not isinstance(scale, dict):
        return []
    errs: list[FieldError] = []
    for key, under in (("specReplicasPath", (".spec.",)), ("statusReplicasPath", (".status.",)),
                       ("labelSelectorPath", (".spec.", ".status."))):
        value = scale.get(key)
        if not value:
            if key != "labelSelectorPath":
                errs.append(required(f"{path}.{key}"))
            continue
        if not value.startswith(under):
            where = "either .spec or .status" if len(under) == 2 else under[0].rstrip(".")
            errs.append(invalid(f"{path}.{key}", value, f"should be a json path under {where}"))
    return errs


def validate_names(names: dict[str, Any], path: str) -> list[FieldError]:
    """Upstream's ValidateCustomResourceDefinitionNames."""
    errs: list[FieldError] = []
    for key in ("plural", "singular"):
        value = names.get(key) or ""
        if value and (problems := is_dns1035_label(value)):
            errs.append(invalid(f"{path}.{key}", value, ",".join(problems)))
    for key in ("kind", "listKind"):
        value = names.get(key) or ""
        if value and (problems := is_dns1035_label(value.lower())):
            errs.append(invalid(f"{path}.{key}", value, "may have mixed case, but should "
                                "otherwise match: " + ",".join(problems)))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(names.get(key) or []):
            if problems := is_dns1035_label(value):
                errs.append(invalid(f"{path}.{key}[{i}]", value, ",".join(problems)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(invalid(f"{path}.listKind", names["listKind"],
                            "kind and listKind may not be the same"))
    return errs


def _get(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None  # type: ignore[assignment]
    return obj


def _condition_true(obj: Obj, condition_type: str) -> bool:
    return any(c.get("type") == condition_type and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])
