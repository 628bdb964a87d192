"""Least privilege in the clusters: an API server with `--authorization-mode=Node,RBAC`
as the compose cluster and `tinykube init` run it, the add-on manifests and the
cluster bindings applied as `up`/`init` apply them, then SubjectAccessReviews for
what each component and add-on calls (grepped from their code) and for a few things
each must not do.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tinykube.cluster import bootstrap, compose
from tinykube.testing.processes import APIServerProcess, Etcd, start_apiserver

SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
KUBE_SYSTEM = "kube-system"


def service_account(name: str) -> tuple[str, list[str]]:
    return (f"system:serviceaccount:{KUBE_SYSTEM}:{name}",
            ["system:serviceaccounts", f"system:serviceaccounts:{KUBE_SYSTEM}", "system:authenticated"])


DNS, INGRESS, DASHBOARD = service_account("kube-dns"), service_account("ingress-controller"), \
    service_account("dashboard")
NODE = ("system:node:node-1", ["system:nodes", "system:authenticated"])
CCM = ("system:cloud-controller-manager", ["system:authenticated"])
SCHEDULER = ("system:kube-scheduler", ["system:authenticated"])
CONTROLLER_MANAGER = ("system:kube-controller-manager", ["system:authenticated"])

# (who, verb, "group/resource[/subresource]", namespace)
ALLOWED = [
    *[(DNS, verb, f"/{resource}", "") for verb in ("list", "watch") for resource in ("services", "endpoints")],
    *[(INGRESS, verb, resource, "") for verb in ("list", "watch") for resource in (
        "networking.k8s.io/ingresses", "networking.k8s.io/ingressclasses", "/services", "/endpoints", "/secrets")],
    (INGRESS, "patch", "networking.k8s.io/ingresses/status", "shop"),
    *[(DASHBOARD, verb, resource, "") for verb in ("list", "watch") for resource in (
        "/nodes", "/pods", "/events", "apps/deployments", "apps/statefulsets", "apps/daemonsets", "batch/jobs",
        "flow.tinykube.io/flowrecords")],
    (DASHBOARD, "get", "/pods/log", "shop"),
    (DASHBOARD, "patch", "apps/deployments/scale", "shop"),
    (DASHBOARD, "patch", "apps/daemonsets", "shop"),  # rollout restart
    (DASHBOARD, "create", "apps/deployments", "shop"),  # apply of a new object
    *[(NODE, verb, resource, "") for verb in ("list", "watch") for resource in (
        "/services", "discovery.k8s.io/endpointslices")],  # kube-proxy
    (NODE, "get", "/persistentvolumes", ""),  # the kubelet's local-path reclaimer
    *[(CCM, verb, resource, "") for verb in ("list", "watch") for resource in ("/nodes", "/services")],
    (CCM, "update", "/services", "shop"),  # the load balancer finalizer
    (CCM, "update", "/services/status", "shop"),
    (CCM, "create", "/events", "shop"),
    (SCHEDULER, "create", "/pods/binding", "shop"),
    (SCHEDULER, "list", "storage.k8s.io/storageclasses", ""),
    (SCHEDULER, "update", "/persistentvolumeclaims", "shop"),
    (CONTROLLER_MANAGER, "create", "/pods", "shop"),
    (CONTROLLER_MANAGER, "create", "discovery.k8s.io/endpointslices", "shop"),
    (CONTROLLER_MANAGER, "update", "certificates.k8s.io/certificatesigningrequests/approval", ""),
]
DENIED = [
    (DNS, "list", "/secrets", ""),
    (DNS, "create", "/pods", "shop"),
    (INGRESS, "update", "networking.k8s.io/ingresses", "shop"),
    (INGRESS, "create", "/pods", "shop"),
    (DASHBOARD, "get", "/secrets", "shop"),
    (DASHBOARD, "create", "rbac.authorization.k8s.io/clusterrolebindings", ""),
    (DASHBOARD, "delete", "/namespaces", ""),
    (NODE, "list", "/secrets", ""),
    (NODE, "create", "discovery.k8s.io/endpointslices", "shop"),
    (NODE, "list", "/persistentvolumes", ""),
    (NODE, "delete", "/persistentvolumes", ""),
    (CCM, "list", "/secrets", ""),
    (CCM, "create", "/pods", "shop"),
    (SCHEDULER, "list", "/secrets", ""),
    (SCHEDULER, "create", "/pods", "shop"),
]


@pytest.fixture(scope="module")
def cluster_api(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIServerProcess]:
    server = start_apiserver(etcd.url, tmp_path_factory.mktemp("least-privilege"),
                             flags=("--authorization-mode=Node,RBAC",
                                    "--enable-admission-plugins=ServiceAccount,NodeRestriction"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin(cluster_api: APIServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster_api.https_url, timeout=30,
                      verify=ssl.create_default_context(cafile=str(cluster_api.ca_file)),
                      headers={"Authorization": f"Bearer {cluster_api.token}"}) as http:
        yield http


def allowed(admin: httpx.Client, who: tuple[str, list[str]], verb: str, target: str, namespace: str) -> bool:
    group, _, rest = target.partition("/")
    resource, _, subresource = rest.partition("/")
    attributes = {"verb": verb, "group": group, "resource": resource, "subresource": subresource}
    if namespace:
        attributes["namespace"] = namespace
    review = admin.post(SAR, json={"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                                   "spec": {"user": who[0], "groups": who[1], "resourceAttributes": attributes}})
    assert review.status_code == 201, review.text
    return bool(review.json()["status"].get("allowed"))


@pytest.fixture(scope="module")
def applied(cluster_api: APIServerProcess, admin: httpx.Client) -> None:
    """What `up` and `init` apply: the bootstrap token's Secret and bindings, the add-ons."""
    # before: nothing lets a node read these
    assert not allowed(admin, NODE, "list", "discovery.k8s.io/endpointslices", "")
    assert not allowed(admin, NODE, "get", "/persistentvolumes", "")
    bootstrap.upload_bootstrap_token(admin, bootstrap.new_bootstrap_token(), None)
    compose.apply_addons(compose.AdminAccess(cluster_api.https_url, cluster_api.token,
                                             cluster_api.ca_file.read_bytes()), lambda line: None)


@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(("who", "verb", "target", "namespace"), ALLOWED,
                         ids=[f"{w[0].rsplit(':', 1)[-1]}-{v}-{t}" for w, v, t, _ in ALLOWED])
def test_each_component_may_do_what_its_code_calls(admin: httpx.Client, who: tuple[str, list[str]], verb: str,
                                                   target: str, namespace: str) -> None:
    assert allowed(admin, who, verb, target, namespace)


@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(("who", "verb", "target", "namespace"), DENIED,
                         ids=[f"{w[0].rsplit(':', 1)[-1]}-{v}-{t}" for w, v, t, _ in DENIED])
def test_no_component_may_do_more(admin: httpx.Client, who: tuple[str, list[str]], verb: str,
                                  target: str, namespace: str) -> None:
    assert not allowed(admin, who, verb, target, namespace)


@pytest.mark.usefixtures("applied")
def test_the_add_ons_service_accounts_exist_and_their_pods_mount_no_host_path(admin: httpx.Client) -> None:
    accounts = {a["metadata"]["name"] for a in admin.get(f"/api/v1/namespaces/{KUBE_SYSTEM}/serviceaccounts")
                .json()["items"]}
    assert {"kube-dns", "ingress-controller", "dashboard"} <= accounts
    for deployment in admin.get(f"/apis/apps/v1/namespaces/{KUBE_SYSTEM}/deployments").json()["items"]:
        spec = deployment["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] in accounts, deployment["metadata"]["name"]
        assert not [v for v in spec.get("volumes") or [] if "hostPath" in v], deployment["metadata"]["name"]
