"""The `kubernetes` Service's variables in every container, before envFrom and env."""

from __future__ import annotations

from kubelet.kuberuntime.env import make_environment
from kubelet.kuberuntime.service_env import service_env
from tinykube.api.core import Pod, Service
from tinykube.testing.fake_client import FakeClient

KUBERNETES = {"metadata": {"name": "kubernetes", "namespace": "default"},
              "spec": {"clusterIP": "10.96.0.1",
                       "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}


def test_the_variables_of_a_service_with_a_named_port() -> None:
    assert service_env(Service.from_dict(KUBERNETES)) == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1"}


def test_a_headless_service_has_none() -> None:
    headless = {**KUBERNETES, "spec": {**KUBERNETES["spec"], "clusterIP": "None"}}
    assert service_env(Service.from_dict(headless)) == {}


async def test_every_container_gets_them_and_its_env_may_override() -> None:
    pod = Pod.from_dict({"metadata": {"name": "web", "namespace": "ns"}, "spec": {"containers": [
        {"name": "app", "env": [{"name": "KUBERNETES_SERVICE_PORT", "value": "6443"}]}]}})
    container = pod.spec.containers[0]
    client = FakeClient()
    assert await make_environment(pod, container, client, pod_ip="", host_ip="") == [
        ("KUBERNETES_SERVICE_PORT", "6443")]  # no Service yet: nothing but the container's own
    client.seed("services", KUBERNETES)
    env = dict(await make_environment(pod, container, client, pod_ip="", host_ip=""))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "6443"
