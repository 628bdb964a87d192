"""Server-side Tables: the response `kubectl get` asks for and prints as columns.

kubectl 1.32 sends `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints
whatever columns come back; there are no built-in per-kind columns on the client
any more, so this module decides what `kubectl get pods` looks like. `to_table`
wraps one row per object in a `meta.k8s.io/v1 Table`; each row carries the object's
metadata as a PartialObjectMetadata, which kubectl needs for the NAMESPACE column
of `-A`. The per-kind columns live here for the simple kinds and in
apiserver/table_printers.py for pods, workloads, services and nodes.

Invariants: every row has one cell per column, wide columns included; the function
is pure (the caller passes `now` in tests).

Kubernetes counterpart: pkg/printers/internalversion/printers.go and
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/response.go (asTable)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from apiserver.conversions import hpa_v1_to_v2
from apiserver.conversions_events import events_v1_to_core as core_event
from apiserver.apiextensions.tableconvertor import CRD_PRINTER
from apiserver.jsoncopy import deep_copy_json
from apiserver.table_printers import (
    AGE,
    DAEMON_SET_COLUMNS,
    DEPLOYMENT_COLUMNS,
    NAME,
    NODE_COLUMNS,
    POD_COLUMNS,
    REPLICA_SET_COLUMNS,
    SERVICE_COLUMNS,
    STATEFUL_SET_COLUMNS,
    Column,
    Obj,
    TablePrinter,
    age,
    get_path,
    human_duration,
    load_balancer_ingress,
    name_of,
    parse_timestamp,
    pod_conditions,
    print_daemon_set,
    print_deployment,
    print_node,
    print_pod,
    print_replica_set,
    print_replication_controller,
    print_service,
    print_stateful_set,
    translate_timestamp_since,
)
from apiserver.table_printers_batch import BATCH_PRINTERS
from apiserver.table_printers_rbac import RBAC_PRINTERS
from apiserver.table_printers_certificates import CERTIFICATE_PRINTERS
from tinykube.api.resources import ResourceInfo
from tinykube.api.volume_util import DEFAULT_CLASS_ANNOTATIONS, access_modes_as_string

__all__ = ["CUSTOM_PRINTERS", "PRINTERS", "human_duration", "printer_for", "to_table"]

INCLUDE_OBJECT_CHOICES = ("None", "Metadata", "Object")


def print_default(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), age(obj, now)]


def print_namespace(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), get_path(obj, "status", "phase", default=""), age(obj, now)]


def format_endpoints(obj: Obj, limit: int = 3) -> str:
    """Up to three `ip:port` pairs, then "+ N more..."; "<none>" with no subsets."""
    subsets = get_path(obj, "subsets", default=[])
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [str(a.get("ip")) for a in subset.get("addresses") or []]
        ports = subset.get("ports") or []
        # Headless services may have no ports: list bare IPs.
        pairs = [[ip] for ip in addresses] if not ports else [
            [_join_host_port(ip, port.get("port")) for ip in addresses] for port in ports]
        for group in pairs:
            count += len(group)
            shown.extend(group[: max(0, limit - len(shown))])
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if count > limit else text


def _join_host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def print_endpoints(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), format_endpoints(obj), age(obj, now)]


def list_with_more(items: list[str], limit: int = 3) -> str:
    """kubectl's listWithMoreString: up to `limit` items, then "+ N more...", or "<unset>"."""
    text = ",".join(items[:limit])
    if len(items) > limit:
        return f"{text} + {len(items) - limit} more..."
    return text or "<unset>"


def print_endpoint_slice(obj: Obj, now: datetime) -> list[Any]:
    """ADDRESSTYPE, PORTS (numbers, a name or "*" for all) and ENDPOINTS (addresses)."""
    ports = [str(p.get("port") if p.get("port") is not None else p.get("name") or "*")
             for p in obj.get("ports") or []]
    addresses = [str(a) for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    return [name_of(obj), obj.get("addressType", ""), list_with_more(ports), list_with_more(addresses),
            age(obj, now)]


def print_api_service(obj: Obj, now: datetime) -> list[Any]:
    """SERVICE is "Local" or namespace/name; AVAILABLE the condition, with its reason when not True."""
    service = get_path(obj, "spec", "service")
    shown = f"{service.get('namespace')}/{service.get('name')}" if isinstance(service, dict) else "Local"
    available = next((c for c in get_path(obj, "status", "conditions", default=[]) or []
                      if c.get("type") == "Available"), None)
    state = "Unknown" if available is None else str(available.get("status"))
    if available is not None and state != "True":
        state = f"{state} ({available.get('reason')})"
    return [name_of(obj), shown, state, age(obj, now)]


def print_config_map(obj: Obj, now: datetime) -> list[Any]:
    size = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [name_of(obj), size, age(obj, now)]


def print_controller_revision(obj: Obj, now: datetime) -> list[Any]:
    """CONTROLLER is `<kind>.<group>/<name>` of the controller ownerReference."""
    controller = ""
    for ref in get_path(obj, "metadata", "ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion") or "").rpartition("/")[0]
            kind = str(ref.get("kind") or "").lower()
            controller = f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
    return [name_of(obj), controller, obj.get("revision") or 0, age(obj, now)]


def print_secret(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), obj.get("type") or "Opaque", len(obj.get("data") or {}), age(obj, now)]


def print_service_account(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), len(obj.get("secrets") or []), age(obj, now)]


def print_events_v1_event(obj: Obj, now: datetime) -> list[Any]:
    """An events.k8s.io/v1 Event prints as the core Event it is stored as."""
    return print_event(core_event(obj), now)


def print_event(obj: Obj, now: datetime) -> list[Any]:
    first = translate_timestamp_since(obj.get("firstTimestamp"), now)
    if parse_timestamp(obj.get("firstTimestamp")) is None:
        first = translate_timestamp_since(obj.get("eventTime"), now)
    last = translate_timestamp_since(obj.get("lastTimestamp"), now)
    if parse_timestamp(obj.get("lastTimestamp")) is None:
        last = first
    count = obj.get("count") or 1  # singleton events in the new API carry no count
    if obj.get("series"):
        last = translate_timestamp_since(obj["series"].get("lastObservedTime"), now)
        count = obj["series"].get("count") or count
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [last, obj.get("type") or "", obj.get("reason") or "", target,
            involved.get("fieldPath") or "", f"{component}, {instance}" if instance else component,
            str(obj.get("message") or "").strip(), first, int(count), name_of(obj)]


def print_persistent_volume(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    claim = spec.get("claimRef")
    phase = get_path(obj, "status", "phase", default="")
    if get_path(obj, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    storage_class = (get_path(obj, "metadata", "annotations", default={})
                     .get("volume.beta.kubernetes.io/storage-class")
                     or spec.get("storageClassName") or "")
    return [name_of(obj), str(get_path(spec, "capacity", "storage", default="")),
            access_modes_as_string(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy") or "", phase,
            f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
            storage_class, spec.get("volumeAttributesClassName") or "<unset>",
            get_path(obj, "status", "reason", default=""), age(obj, now),
            spec.get("volumeMode") or "<unset>"]


def print_persistent_volume_claim(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    phase = get_path(obj, "status", "phase", default="")
    if get_path(obj, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    capacity = modes = ""
    if spec.get("volumeName"):  # bound: show what the volume provides
        modes = access_modes_as_string(get_path(obj, "status", "accessModes"))
        capacity = str(get_path(obj, "status", "capacity", "storage", default=""))
    storage_class = (get_path(obj, "metadata", "annotations", default={})
                     .get("volume.beta.kubernetes.io/storage-class")
                     or spec.get("storageClassName") or "")
    return [name_of(obj), phase, spec.get("volumeName") or "", capacity, modes, storage_class,
            spec.get("volumeAttributesClassName") or "<unset>", age(obj, now),
            spec.get("volumeMode") or "<unset>"]


def print_ingress(obj: Obj, now: datetime) -> list[Any]:
    spec = obj.get("spec") or {}
    hosts = [str(rule["host"]) for rule in spec.get("rules") or [] if rule.get("host")]
    hosts_cell = ",".join(hosts[:4]) + (f" + {len(hosts) - 4} more..." if len(hosts) > 4 else "")
    return [name_of(obj), spec.get("ingressClassName") or "<none>", hosts_cell or "*",
            load_balancer_ingress(get_path(obj, "status", "loadBalancer")),
            "80, 443" if spec.get("tls") else "80", age(obj, now)]


_METRIC_SOURCES = {"Resource": "resource", "ContainerResource": "containerResource",
                   "Pods": "pods", "Object": "object", "External": "external"}


def format_hpa_metric(metric: Obj, status: Obj) -> str:
    """One TARGETS entry: `cpu: 40%/80%`, `cpu: 100m/500m`, `3/10` or `<unknown>/10 (avg)`."""
    key = _METRIC_SOURCES.get(str(metric.get("type")))
    if key is None:
        return "<unknown type>"
    target = (metric.get(key) or {}).get("target") or {}
    current = (status.get(key) or {}).get("current") or {}
    if key in ("resource", "containerResource"):
        name = (metric.get(key) or {}).get("name")
        if target.get("averageValue") is not None:
            return f"{name}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}"
        have, want = current.get("averageUtilization"), target.get("averageUtilization")
        have_text = "<unknown>" if have is None else f"{have}%"
        want_text = "<auto>" if want is None else f"{want}%"
        return f"{name}: {have_text}/{want_text}"
    if key == "pods":
        return f"{current.get('averageValue', '<unknown>')}/{target.get('averageValue')}"
    if target.get("averageValue") is not None:
        return f"{current.get('averageValue', '<unknown>')}/{target['averageValue']} (avg)"
    return f"{current.get('value', '<unknown>')}/{target.get('value')}"


def format_hpa_metrics(specs: list[Obj], statuses: list[Obj]) -> str:
    """Two metrics at most, then "+ N more..."; "<none>" without metrics."""
    if not specs:
        return "<none>"
    shown = [format_hpa_metric(metric, statuses[i] if i < len(statuses) else {})
             for i, metric in enumerate(specs)]
    more = f" + {len(shown) - 2} more..." if len(shown) > 2 else ""
    return ", ".join(shown[:2]) + more


def print_hpa(obj: Obj, now: datetime) -> list[Any]:
    if obj.get("apiVersion") == "autoscaling/v1":  # the same columns from the v2 fields
        obj = hpa_v1_to_v2(dict(obj))
    spec = obj.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    min_replicas = spec.get("minReplicas")
    return [name_of(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            format_hpa_metrics(spec.get("metrics") or [],
                               get_path(obj, "status", "currentMetrics", default=[])),
            "<unset>" if min_replicas is None else str(min_replicas),
            int(spec.get("maxReplicas") or 0), get_path(obj, "status", "currentReplicas", default=0),
            age(obj, now)]


def print_pod_disruption_budget(obj: Obj, now: datetime) -> list[Any]:
    """kubectl's columns: NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE."""
    spec = obj.get("spec") or {}
    shown = ["N/A" if spec.get(k) is None else str(spec[k])
             for k in ("minAvailable", "maxUnavailable")]
    return [name_of(obj), *shown, get_path(obj, "status", "disruptionsAllowed", default=0),
            age(obj, now)]


def print_lease(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), get_path(obj, "spec", "holderIdentity", default=""), age(obj, now)]


def print_storage_class(obj: Obj, now: datetime) -> list[Any]:
    annotations = get_path(obj, "metadata", "annotations", default={})
    is_default = any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)
    return [name_of(obj) + (" (default)" if is_default else ""), obj.get("provisioner") or "",
            obj.get("reclaimPolicy") or "Delete", obj.get("volumeBindingMode") or "Immediate",
            bool(obj.get("allowVolumeExpansion")), age(obj, now)]


def print_ingress_class(obj: Obj, now: datetime) -> list[Any]:
    """kubectl's columns: NAME CONTROLLER PARAMETERS AGE."""
    spec = obj.get("spec") or {}
    parameters = spec.get("parameters") or {}
    shown = "<none>"
    if parameters:
        group = parameters.get("apiGroup") or ""
        shown = f"{parameters.get('kind')}.{group}/{parameters.get('name')}" if group else \
            f"{parameters.get('kind')}/{parameters.get('name')}"
    return [name_of(obj), spec.get("controller") or "", shown, age(obj, now)]


# -- columns of the simple kinds and the registry --------------------------------------

def _col(name: str, description: str, type_: str = "string", priority: int = 0) -> Column:
    return Column(name, type_, description, priority)


EVENT_COLUMNS = (
    _col("Last Seen", "When the event was last observed."),
    _col("Type", "Type of this event (Normal, Warning)."),
    _col("Reason", "Short, machine understandable reason for the event."),
    _col("Object", "The object this event is about."),
    _col("Subobject", "The part of the object (e.g. a container) the event is about.",
         priority=1),
    _col("Source", "The component that reported this event.", priority=1),
    _col("Message", "A human-readable description of the event."),
    _col("First Seen", "When the event was first observed.", priority=1),
    _col("Count", "The number of times this event has occurred.", "integer", 1),
    Column("Name", format="name", priority=1, description=NAME.description),
)


PRINTERS: dict[tuple[str, str], TablePrinter] = {
    ("", "pods"): TablePrinter(POD_COLUMNS, print_pod, pod_conditions),
    ("apps", "deployments"): TablePrinter(DEPLOYMENT_COLUMNS, print_deployment),
    ("apps", "replicasets"): TablePrinter(REPLICA_SET_COLUMNS, print_replica_set),
    ("", "replicationcontrollers"): TablePrinter(REPLICA_SET_COLUMNS, print_replication_controller),
    ("apps", "statefulsets"): TablePrinter(STATEFUL_SET_COLUMNS, print_stateful_set),
    ("apps", "daemonsets"): TablePrinter(DAEMON_SET_COLUMNS, print_daemon_set),
    ("apps", "controllerrevisions"): TablePrinter(
        (NAME, _col("Controller", "The controller of the revision."),
         _col("Revision", "The revision number.", "integer"), AGE), print_controller_revision),
    ("", "services"): TablePrinter(SERVICE_COLUMNS, print_service),
    ("", "nodes"): TablePrinter(NODE_COLUMNS, print_node),
    ("", "namespaces"): TablePrinter(
        (NAME, _col("Status", "The status of the namespace"), AGE), print_namespace),
    ("", "endpoints"): TablePrinter(
        (NAME, _col("Endpoints", "Endpoints of the service, as ip:port pairs."), AGE),
        print_endpoints),
    ("discovery.k8s.io", "endpointslices"): TablePrinter(
        (NAME, _col("AddressType", "Type of address known by this EndpointSlice."),
         _col("Ports", "Ports in this EndpointSlice."),
         _col("Endpoints", "Endpoints in this EndpointSlice."), AGE),
        print_endpoint_slice),
    ("apiregistration.k8s.io", "apiservices"): TablePrinter(
        (NAME, _col("Service", "The reference to the service that hosts this API endpoint."),
         _col("Available", "Whether this service is available."), AGE), print_api_service),
    ("", "configmaps"): TablePrinter(
        (NAME, _col("Data", "Number of keys in data and binaryData.", "integer"), AGE),
        print_config_map),
    ("", "secrets"): TablePrinter(
        (NAME, _col("Type", "The type of the secret"),
         _col("Data", "The number of keys in the secret.", "integer"), AGE), print_secret),
    ("", "serviceaccounts"): TablePrinter(
        (NAME, _col("Secrets", "The number of secrets listed by the service account.",
                    "integer"), AGE), print_service_account),
    ("", "events"): TablePrinter(EVENT_COLUMNS, print_event),
    ("events.k8s.io", "events"): TablePrinter(EVENT_COLUMNS, print_events_v1_event),
    ("", "persistentvolumes"): TablePrinter((
        NAME, _col("Capacity", "The storage capacity of the volume."),
        _col("Access Modes", "The ways the volume can be mounted."),
        _col("Reclaim Policy", "What happens to the volume when its claim is released."),
        _col("Status", "The phase of the volume."),
        _col("Claim", "The claim bound to this volume."),
        _col("StorageClass", "The storage class the volume belongs to."),
        _col("VolumeAttributesClass", "The volume attributes class of the volume."),
        _col("Reason", "Why the volume is in its phase, if it failed."), AGE,
        _col("VolumeMode", "Filesystem or Block.", priority=1),
    ), print_persistent_volume),
    ("", "persistentvolumeclaims"): TablePrinter((
        NAME, _col("Status", "The phase of the claim."),
        _col("Volume", "The volume bound to this claim."),
        _col("Capacity", "The storage capacity of the bound volume."),
        _col("Access Modes", "The ways the bound volume can be mounted."),
        _col("StorageClass", "The storage class the claim requests."),
        _col("VolumeAttributesClass", "The volume attributes class the claim requests."), AGE,
        _col("VolumeMode", "Filesystem or Block.", priority=1),
    ), print_persistent_volume_claim),
    ("networking.k8s.io", "ingresses"): TablePrinter((
        NAME, _col("Class", "The name of the IngressClass resource."),
        _col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        _col("Address", "Address is a list containing ingress points for the load-balancer"),
        _col("Ports", "Ports of TLS configurations that open"), AGE,
    ), print_ingress),
    ("networking.k8s.io", "ingressclasses"): TablePrinter((
        NAME, _col("Controller", "The controller that serves Ingresses of this class."),
        _col("Parameters", "A reference to the controller's parameters."), AGE,
    ), print_ingress_class),
    ("autoscaling", "horizontalpodautoscalers"): TablePrinter((
        NAME, _col("Reference", "The kind and name of the scaled object."),
        _col("Targets", "Current and target value of each metric."),
        _col("MinPods", "The lower limit for the number of replicas."),
        _col("MaxPods", "The upper limit for the number of replicas.", "integer"),
        _col("Replicas", "Current number of replicas.", "integer"), AGE,
    ), print_hpa),
    ("policy", "poddisruptionbudgets"): TablePrinter((
        NAME, _col("Min Available", "The minimum number of pods that must be available."),
        _col("Max Unavailable", "The maximum number of pods that may be unavailable."),
        _col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this "
             "time.", "integer"), AGE,
    ), print_pod_disruption_budget),
    ("coordination.k8s.io", "leases"): TablePrinter(
        (NAME, _col("Holder", "The identity of the current holder of the lease."), AGE),
        print_lease),
    ("storage.k8s.io", "storageclasses"): TablePrinter((
        NAME, _col("Provisioner", "The volume plugin that provisions volumes of this class."),
        _col("ReclaimPolicy", "The reclaim policy of dynamically provisioned volumes."),
        _col("VolumeBindingMode", "When volumes are bound and provisioned."),
        _col("AllowVolumeExpansion", "Whether volumes of this class may be expanded.",
             "boolean"), AGE,
    ), print_storage_class),
}
PRINTERS.update(BATCH_PRINTERS)
PRINTERS.update(RBAC_PRINTERS)
PRINTERS.update(CERTIFICATE_PRINTERS)
PRINTERS[("apiextensions.k8s.io", "customresourcedefinitions")] = CRD_PRINTER
DEFAULT_PRINTER = TablePrinter((NAME, AGE), print_default)
# Custom resources' printers (their CRDs' additionalPrinterColumns), kept by the
# API server's CRD controller while it serves them.
CUSTOM_PRINTERS: dict[ResourceInfo, TablePrinter] = {}


def printer_for(info: ResourceInfo) -> TablePrinter:
    custom = CUSTOM_PRINTERS.get(info)
    if custom is not None:
        return custom
    return PRINTERS.get((info.group, info.plural), DEFAULT_PRINTER)


def partial_object_metadata(obj: Obj) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": deep_copy_json(dict(obj.get("metadata") or {}))}


def to_table(
    info: ResourceInfo,
    objects: list[dict[str, Any]],
    *,
    list_resource_version: str | None = None,
    continue_token: str | None = None,
    include_object: str = "Metadata",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Render objects as a meta.k8s.io/v1 Table (one row each, all columns).

    - `include_object` is the `includeObject` query parameter: "Metadata" (default)
      attaches a PartialObjectMetadata, "Object" the whole object, "None" nothing.
    - Without `list_resource_version`, a single object's own resourceVersion is used,
      as the real server does for a `get` of one object.
    """
    if include_object not in INCLUDE_OBJECT_CHOICES:
        raise ValueError(f"includeObject must be one of {', '.join(INCLUDE_OBJECT_CHOICES)}")
    now = now or datetime.now(timezone.utc)
    printer = printer_for(info)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.print_row(obj, now)}
        conditions = printer.conditions(obj) if printer.conditions else None
        if conditions:
            row["conditions"] = conditions
        if include_object == "Metadata":
            row["object"] = partial_object_metadata(obj)
        elif include_object == "Object":
            row["object"] = deep_copy_json(obj)
        rows.append(row)
    resource_version = list_resource_version
    if resource_version is None and len(objects) == 1:
        resource_version = get_path(objects[0], "metadata", "resourceVersion")
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = str(resource_version)
    if continue_token:
        metadata["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [column.definition() for column in printer.columns],
        "rows": rows,
    }
