"""Services: defaults, validation, and cluster IP / NodePort allocation.

- type ClusterIP, NodePort or LoadBalancer gets a cluster IP from the service
  range (a requested free one is honoured, a taken one is 422); `None` makes a
  headless service; ExternalName gets none;
- NodePort and LoadBalancer ports get a nodePort from the node-port range;
- a cluster IP never changes after create; an update that omits it keeps it;
- everything is released when the Service is deleted, or when the create fails.

Kubernetes counterpart: pkg/registry/core/service/strategy.go,
pkg/registry/core/service/storage/alloc.go
"""

from __future__ import annotations

from typing import Any

from apiserver.allocator import AlreadyAllocatedError, Allocator, OutOfRangeError, RangeFullError
from apiserver.strategy import FieldRejected, Obj, Reservation, Strategy
from tinykube.api.resources import ResourceInfo
from tinykube.api.validation import (
    FieldError,
    duplicate,
    invalid,
    is_dns1035_label,
    is_dns1123_label,
    not_supported,
    required,
)

SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
PROTOCOLS = ["TCP", "UDP", "SCTP"]


class ServiceAllocationError(FieldRejected):
    pass


class ServiceStrategy(Strategy):
    name_validator = staticmethod(is_dns1035_label)

    def __init__(self, info: ResourceInfo, ips: Allocator, node_ports: Allocator) -> None:
        super().__init__(info)
        self.ips = ips
        self.node_ports = node_ports
        self.node_port_range = node_ports.describe()

    def _default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        if spec["type"] == "ExternalName":
            return
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._default(obj)
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        # An update that leaves out allocated values keeps them (kubectl replace).
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = old_spec.get("clusterIPs", [old_spec["clusterIP"]])
        old_node_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                          for p in old_spec.get("ports") or [] if p.get("nodePort")}
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or []:
                key = (port.get("port"), port.get("protocol"))
                if not port.get("nodePort") and key in old_node_ports:
                    port["nodePort"] = old_node_ports[key]
        elif old_spec.get("type") in ("NodePort", "LoadBalancer"):
            # Switching to a type without nodePorts while leaving them as they were
            # (`kubectl patch -p '{"spec":{"type":"ClusterIP"}}'`) drops them, as
            # dropTypeDependentFields does; a changed nodePort is still refused.
            for port in spec.get("ports") or []:
                key = (port.get("port"), port.get("protocol"))
                if port.get("nodePort") and old_node_ports.get(key) == port["nodePort"]:
                    del port["nodePort"]

    def validate(self, obj: Obj) -> list[FieldError]:
        return super().validate(obj) + _validate_service_spec(obj.get("spec"))

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = super().validate_update(new, old) + _validate_service_spec(new.get("spec"))
        new_ip = (new.get("spec") or {}).get("clusterIP")
        old_ip = (old.get("spec") or {}).get("clusterIP")
        if old_ip and new_ip != old_ip and (new.get("spec") or {}).get("type") != "ExternalName":
            errs.append(invalid("spec.clusterIPs[0]", new_ip, "may not change once set"))
        return errs

    # --- allocation ------------------------------------------------------
    async def before_create(self, obj: Obj) -> Reservation:
        spec = obj["spec"]
        owner = f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        reservation = Reservation()
        try:
            if spec["type"] != "ExternalName":
                await self._allocate_ip(obj, owner, reservation)
            await self._allocate_node_ports(obj, owner, set(), reservation)
        except ServiceAllocationError:
            await reservation.release()
            raise
        return reservation

    async def _allocate_ip(self, obj: Obj, owner: str, reservation: Reservation) -> None:
        spec = obj["spec"]
        requested = spec.get("clusterIP") or ""
        if requested == "None":
            spec["clusterIPs"] = ["None"]
            return
        if requested:
            try:
                await self.ips.allocate(requested, owner)
            except OutOfRangeError:
                raise ServiceAllocationError(invalid(
                    "spec.clusterIPs", [requested],
                    f"failed to allocate IP {requested}: provided IP is not in the valid range. "
                    "The range of valid IPs is the service cluster IP range")) from None
            except AlreadyAllocatedError:
                raise ServiceAllocationError(invalid(
                    "spec.clusterIPs", [requested],
                    f"failed to allocate IP {requested}: provided IP is already allocated")) from None
            ip = requested
        else:
            try:
                ip = str(await self.ips.allocate_next(owner))
            except RangeFullError:
                raise ServiceAllocationError(invalid("spec.clusterIPs", [], "range is full")) from None
        reservation.on_release(lambda: self.ips.release(ip))
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")

    async def _allocate_node_ports(self, obj: Obj, owner: str, keep: set[int],
                                   reservation: Reservation) -> None:
        spec = obj["spec"]
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return
        for i, port in enumerate(spec.get("ports") or []):
            requested = port.get("nodePort")
            if requested and requested in keep:
                continue
            if requested:
                try:
                    await self.node_ports.allocate(int(requested), owner)
                except OutOfRangeError:
                    raise ServiceAllocationError(invalid(
                        f"spec.ports[{i}].nodePort", requested,
                        "provided port is not in the valid range. The range of valid ports is "
                        f"{self.node_port_range}")) from None
                except AlreadyAllocatedError:
                    raise ServiceAllocationError(invalid(
                        f"spec.ports[{i}].nodePort", requested,
                        "provided port is already allocated")) from None
                allocated = int(requested)
            else:
                try:
                    allocated = int(await self.node_ports.allocate_next(owner))
                except RangeFullError:
                    raise ServiceAllocationError(invalid(f"spec.ports[{i}].nodePort", 0,
                                                         "range is full")) from None
                port["nodePort"] = allocated
            reservation.on_release(lambda p=allocated: self.node_ports.release(p))

    async def before_update(self, new: Obj, old: Obj) -> Reservation:
        kept = {int(p["nodePort"]) for p in (old.get("spec") or {}).get("ports") or []
                if p.get("nodePort")}
        owner = f"{new['metadata'].get('namespace')}/{new['metadata']['name']}"
        reservation = Reservation()
        try:
            await self._allocate_node_ports(new, owner, kept, reservation)
        except ServiceAllocationError:
            await reservation.release()
            raise
        return reservation

    async def after_update(self, new: Obj, old: Obj) -> None:
        still = {p.get("nodePort") for p in (new.get("spec") or {}).get("ports") or []
                 if new.get("spec", {}).get("type") in ("NodePort", "LoadBalancer")}
        for port in (old.get("spec") or {}).get("ports") or []:
            if port.get("nodePort") and port["nodePort"] not in still:
                await self.node_ports.release(port["nodePort"])

    async def after_delete(self, obj: Obj) -> None:
        spec = obj.get("spec") or {}
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            await self.ips.release(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                await self.node_ports.release(port["nodePort"])


def _validate_service_spec(spec: Any) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required("spec")]
    errs: list[FieldError] = []
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        return [not_supported("spec.type", kind, SERVICE_TYPES)]
    if kind == "ExternalName":
        if not spec.get("externalName"):
            errs.append(required("spec.externalName"))
        return errs
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None":
        errs.append(required("spec.ports"))
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            errs.append(invalid(path, port, "must be an object"))
            continue
        name = port.get("name")
        if len(ports) > 1 and not name:
            errs.append(required(f"{path}.name"))
        if name:
            errs.extend(invalid(f"{path}.name", name, m) for m in is_dns1123_label(str(name)))
            if name in names:
                errs.append(duplicate(f"{path}.name", name))
            names.add(name)
        number = port.get("port")
        if number is None:
            errs.append(required(f"{path}.port"))
        elif not 1 <= int(number) <= 65535:
            errs.append(invalid(f"{path}.port", number, "must be between 1 and 65535, inclusive"))
        key = (number, port.get("protocol", "TCP"))
        if key in seen:
            errs.append(duplicate(path, {"port": number, "protocol": key[1]}))
        seen.add(key)
        if port.get("protocol", "TCP") not in PROTOCOLS:
            errs.append(not_supported(f"{path}.protocol", port.get("protocol"), PROTOCOLS))
        if port.get("nodePort") and kind == "ClusterIP":
            errs.append(forbidden_node_port(path))
    return errs


def forbidden_node_port(path: str) -> FieldError:
    return FieldError("FieldValueForbidden", f"{path}.nodePort",
                      "Forbidden: may not be used when `type` is 'ClusterIP'")
