"""A container spec → ContainerConfig: env (all sources), resources, security, mounts, DNS."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from kubelet.kuberuntime.container_config import (
    container_resources,
    dns_config,
    generate_container_config,
    generate_pod_sandbox_config,
    security_context,
    sub_path_on_host,
)
from kubelet.kuberuntime.env import ContainerConfigError, make_environment
from kubelet.runtime import DNSConfig, LinuxContainerResources, Mount, PortMapping
from tinykube.api.core import Container, Pod
from tinykube.api.resources import CONFIGMAPS, SECRETS
from tinykube.testing.fake_client import FakeClient

Obj = dict[str, Any]

CLIENT = FakeClient()
CLIENT.seed(CONFIGMAPS.plural, {"metadata": {"name": "settings", "namespace": "ns"},
                                "data": {"greeting": "hello", "color": "blue"}})
CLIENT.seed(SECRETS.plural, {"metadata": {"name": "creds", "namespace": "ns"},
                             "data": {"password": base64.b64encode(b"s3cret").decode()}})


def pod(container: Obj, **spec: Any) -> Pod:
    return Pod.from_dict({"metadata": {"name": "web", "namespace": "ns", "uid": "u1", "labels": {"app": "web"},
                                       "annotations": {"team": "a"}},
                          "spec": {"nodeName": "node-1", "serviceAccountName": "default", "containers": [container],
                                   **spec}})


async def env_of(container: Obj) -> dict[str, str]:
    return dict(await make_environment(pod(container), Container.from_dict(container), CLIENT, pod_ip="10.0.0.5",
                                       host_ip="192.168.0.2", allocatable={"cpu": "4", "memory": "8Gi"}))


async def test_env_from_every_source() -> None:
    container = {"name": "app", "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}},
                 "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}, {"secretRef": {"name": "creds"}}],
                 "env": [
                     {"name": "PLAIN", "value": "x"},
                     {"name": "EXPANDED", "value": "$(PLAIN)-$(CFG_color)-$$(PLAIN)-$(UNKNOWN)"},
                     {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "greeting"}}},
                     {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                     {"name": "MAYBE", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": True}}},
                     {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                     {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                     {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                     {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                     {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['team']"}}},
                     {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                     {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                     {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                     {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
                     {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                     {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
                     {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                 ]}
    assert await env_of(container) == {
        "CFG_greeting": "hello", "CFG_color": "blue", "password": "s3cret", "PLAIN": "x",
        "EXPANDED": "x-blue-$(PLAIN)-$(UNKNOWN)", "GREETING": "hello", "PASSWORD": "s3cret", "MAYBE": "",
        "NAME": "web", "NS": "ns", "UID": "u1", "APP": "web", "TEAM": "a", "POD_IP": "10.0.0.5",
        "HOST_IP": "192.168.0.2", "NODE": "node-1", "SA": "default", "MEM_MI": "64", "CPU_M": "250",
        "CPU_LIMIT": "4"}


@pytest.mark.parametrize(("env", "message"), [
    ({"configMapKeyRef": {"name": "absent", "key": "k"}}, 'configmap "absent" not found'),
    ({"configMapKeyRef": {"name": "settings", "key": "nope"}}, "couldn't find key nope in ConfigMap ns/settings"),
    ({"secretKeyRef": {"name": "absent", "key": "k"}}, 'secret "absent" not found'),
    ({"secretKeyRef": {"name": "creds", "key": "nope"}}, "couldn't find key nope in Secret ns/creds"),
])
async def test_a_missing_source_is_a_config_error_with_kubernetes_message(env: Obj, message: str) -> None:
    with pytest.raises(ContainerConfigError) as error:
        await env_of({"name": "app", "env": [{"name": "X", "valueFrom": env}]})
    assert str(error.value) == message


async def test_env_from_a_missing_optional_source_is_empty() -> None:
    assert await env_of({"name": "app", "envFrom": [{"secretRef": {"name": "absent", "optional": True}}]}) == {}


@pytest.mark.parametrize(("resources", "want"), [
    ({}, LinuxContainerResources(cpu_shares=2)),
    ({"requests": {"cpu": "250m"}}, LinuxContainerResources(cpu_shares=256)),
    ({"requests": {"cpu": "1m"}}, LinuxContainerResources(cpu_shares=2)),
    ({"limits": {"cpu": "500m", "memory": "64Mi"}},
     LinuxContainerResources(cpu_shares=512, cpu_quota_us=50_000, cpu_period_us=100_000, memory_limit_bytes=64 << 20)),
    ({"requests": {"cpu": "1"}, "limits": {"cpu": "2"}},
     LinuxContainerResources(cpu_shares=1024, cpu_quota_us=200_000, cpu_period_us=100_000)),
    ({"limits": {"cpu": "5m"}}, LinuxContainerResources(cpu_shares=5, cpu_quota_us=1000, cpu_period_us=100_000)),
])
def test_resources(resources: Obj, want: LinuxContainerResources) -> None:
    assert container_resources(Container.from_dict({"name": "app", "resources": resources})) == want


def test_security_context_falls_back_to_the_pod() -> None:
    spec = pod({"name": "app"}, securityContext={"runAsUser": 1000, "runAsGroup": 2000})
    container = Container.from_dict({"name": "app", "securityContext": {
        "runAsUser": 5, "readOnlyRootFilesystem": True, "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}})
    context = security_context(spec, container)
    assert (context.run_as_user, context.run_as_group, context.readonly_rootfs) == (5, 2000, True)
    assert (context.add_capabilities, context.drop_capabilities) == (("NET_ADMIN",), ("ALL",))


def test_container_config_labels_command_and_mounts() -> None:
    container = {"name": "app", "image": "busybox:1", "command": ["sh", "-c"], "args": ["echo $(GREETING)"],
                 "workingDir": "/work", "volumeMounts": [
                     {"name": "data", "mountPath": "/data"}, {"name": "data", "mountPath": "/sub", "subPath": "a/b"},
                     {"name": "config", "mountPath": "/etc/config"},
                     {"name": "host", "mountPath": "/host", "readOnly": True}]}
    spec = pod(container, volumes=[{"name": "data", "emptyDir": {}}, {"name": "config", "configMap": {"name": "c"}},
                                   {"name": "host", "hostPath": {"path": "/srv"}}])
    config = generate_container_config(spec, Container.from_dict(container), attempt=3, envs=[("GREETING", "hi")],
                                       volume_paths={"data": "/v/data", "config": "/v/config", "host": "/srv"})
    assert (config.command, config.args, config.working_dir, config.attempt) == (("sh", "-c"), ("echo hi",), "/work", 3)
    assert config.mounts == (Mount("/data", "/v/data"), Mount("/sub", "/v/data/a/b"),
                             Mount("/etc/config", "/v/config", readonly=True), Mount("/host", "/srv", readonly=True))
    assert config.labels["io.kubernetes.container.restartCount"] == "3"
    assert config.labels["io.kubernetes.pod.uid"] == "u1" and config.labels["io.kubernetes.container.name"] == "app"


def test_sandbox_config_host_ports_and_dns() -> None:
    container = {"name": "app", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 9090}]}
    config = generate_pod_sandbox_config(pod(container, hostname="h"), 2, cluster_dns="10.96.0.10", node_name="n1")
    assert config.port_mappings == (PortMapping(80, 8080, "TCP"),)
    assert (config.hostname, config.metadata.attempt) == ("h", 2)
    assert config.dns_config == DNSConfig(("10.96.0.10",), ("ns.svc.cluster.local", "svc.cluster.local",
                                                            "cluster.local"), ("ndots:5",))
    assert config.labels["io.tinykube.node-name"] == "n1"
    assert config.hostname_domain == ""


def test_sandbox_config_hostname_and_subdomain_give_the_pod_its_fqdn() -> None:
    config = generate_pod_sandbox_config(pod({"name": "app"}, hostname="db-0", subdomain="db"), 0)
    assert (config.hostname, config.hostname_domain) == ("db-0", "db.ns.svc.cluster.local")


@pytest.mark.parametrize(("spec", "cluster_dns", "want"), [
    ({}, "", None),
    ({"dnsPolicy": "Default"}, "10.96.0.10", None),
    ({"hostNetwork": True}, "10.96.0.10", None),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}]}},
     "", DNSConfig(("1.1.1.1",), (), ("ndots:2",))),
])
def test_dns_policies(spec: Obj, cluster_dns: str, want: DNSConfig | None) -> None:
    assert dns_config(pod({"name": "app"}, **spec), cluster_dns) == want


def test_sub_path_never_leaves_its_volume(tmp_path: Path) -> None:
    """A pod stored before the API validated paths, or a symlink another container made."""
    volume = tmp_path / "volume"
    (volume / "logs").mkdir(parents=True)
    assert sub_path_on_host(str(volume), "logs") == str(volume / "logs")
    assert sub_path_on_host(str(volume), "not-yet") == str(volume / "not-yet")
    os.symlink("/etc", volume / "escape")
    for sub_path, message in [("../../etc", "must not contain '..'"),
                              ("/etc", "must not be an absolute path"),
                              ("escape", "not within volume path")]:
        with pytest.raises(ContainerConfigError, match=message):
            sub_path_on_host(str(volume), sub_path)
    assert Path("/etc").exists()
