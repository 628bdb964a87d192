"""RBAC end to end: an API server with `--authorization-mode=RBAC`, the default
policy it bootstraps, the clusterrole-aggregation controller, kubectl and the
official client as users with and without bindings.

Users come from the token file: `admin` (system:masters), and users with no
group but system:authenticated, each used by one test so bindings don't mix.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from cli_helpers import tinykube

from tinykube.testing.processes import REPO_ROOT, APIServerProcess, Etcd, kubeconfig_text, \
    start_apiserver, wait_until

USERS = ("nobody", "viewer", "binder", "ghost", "aggregated")
DEADLINE_SECONDS = 30.0
RBAC = "/apis/rbac.authorization.k8s.io/v1"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
GRANT_PREFIX = 'is attempting to grant RBAC permissions not currently held:\n'


@pytest.fixture(scope="module")
def rbac_apiserver(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[APIServerProcess]:
    workdir = tmp_path_factory.mktemp("rbac")
    server = start_apiserver(etcd.url, workdir / "apiserver",
                             flags=("--authorization-mode=RBAC",),
                             extra_tokens=tuple(f"{u}-token,{u},{u}-uid," for u in USERS))
    with open(workdir / "controller-manager.log", "ab") as log:
        manager = subprocess.Popen(
            [sys.executable, "-m", "controller_manager", f"--kubeconfig={server.kubeconfig}",
             "--controllers=clusterrole-aggregation", "--leader-elect=false"],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield server
    finally:
        manager.terminate()
        manager.wait(10)
        server.stop()


def as_user(api: APIServerProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=api.https_url, timeout=30,
                        verify=ssl.create_default_context(cafile=str(api.ca_file)),
                        headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def admin(rbac_apiserver: APIServerProcess) -> Iterator[httpx.Client]:
    with as_user(rbac_apiserver, rbac_apiserver.token) as http:
        yield http


def official(api: APIServerProcess, token: str) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = api.https_url
    configuration.api_key = {"authorization": token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.ssl_ca_cert = str(api.ca_file)
    return client.ApiClient(configuration)


def new_namespace(admin: httpx.Client) -> str:
    name = f"rbac-{uuid.uuid4().hex[:8]}"
    assert admin.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    return name


def bind(admin: httpx.Client, namespace: str, user: str, kind: str, role: str) -> None:
    body = {"metadata": {"name": f"{user}-{role}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [{"kind": "User", "name": user}]}
    response = admin.post(f"{RBAC}/namespaces/{namespace}/rolebindings", json=body)
    assert response.status_code == 201, response.text


def can(http: httpx.Client, verb: str, resource: str, namespace: str = "",
        group: str = "") -> bool:
    attributes = {"verb": verb, "resource": resource, "namespace": namespace, "group": group}
    response = http.post(SSAR, json={"apiVersion": "authorization.k8s.io/v1",
                                     "kind": "SelfSubjectAccessReview",
                                     "spec": {"resourceAttributes": attributes}})
    assert response.status_code == 201, response.text
    return bool(response.json()["status"]["allowed"])


def kubectl(api: APIServerProcess, tmp_path: Path, token: str, *args: str
            ) -> subprocess.CompletedProcess[str]:
    kubeconfig = tmp_path / f"kubeconfig-{token}"
    kubeconfig.write_text(kubeconfig_text(api.https_url, api.ca_file, token))
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir",
                           str(tmp_path / "cache"), *args], capture_output=True, text=True,
                          timeout=60)


needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")


def test_a_user_without_roles_gets_403_with_kubernetes_message(
        rbac_apiserver: APIServerProcess) -> None:
    with official(rbac_apiserver, "nobody-token") as api:
        core = client.CoreV1Api(api)
        with pytest.raises(client.ApiException) as listed:
            core.list_namespaced_pod("default")
        with pytest.raises(client.ApiException) as created:
            core.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
    assert listed.value.status == 403 and created.value.status == 403
    assert '"message":"pods is forbidden: User \\"nobody\\" cannot list resource \\"pods\\" in ' \
        'API group \\"\\" in the namespace \\"default\\""' in listed.value.body
    assert 'configmaps is forbidden: User \\"nobody\\" cannot create resource \\"configmaps\\" ' \
        'in API group \\"\\" in the namespace \\"default\\""' in created.value.body


def test_a_binding_to_a_missing_role_says_so(rbac_apiserver: APIServerProcess,
                                             admin: httpx.Client) -> None:
    namespace = new_namespace(admin)
    bind(admin, namespace, "ghost", "ClusterRole", "does-not-exist")
    with as_user(rbac_apiserver, "ghost-token") as ghost:
        def reason_shown() -> bool:
            message = ghost.get(f"/api/v1/namespaces/{namespace}/pods").json()["message"]
            return message.endswith(': RBAC: clusterrole.rbac.authorization.k8s.io '
                                    '"does-not-exist" not found')
        wait_until(reason_shown, DEADLINE_SECONDS, "the not-found reason in the 403")


def test_view_allows_reading_only_in_its_namespace(rbac_apiserver: APIServerProcess,
                                                   admin: httpx.Client) -> None:
    mine, other = new_namespace(admin), new_namespace(admin)
    bind(admin, mine, "viewer", "ClusterRole", "view")
    with as_user(rbac_apiserver, "viewer-token") as viewer:
        wait_until(lambda: viewer.get(f"/api/v1/namespaces/{mine}/pods").status_code == 200,
                   DEADLINE_SECONDS, "viewer to list pods")
        assert viewer.get(f"/api/v1/namespaces/{mine}/configmaps?watch=true&timeoutSeconds=1"
                          ).status_code == 200
        assert viewer.get(f"/api/v1/namespaces/{mine}/secrets").status_code == 403
        assert viewer.get(f"/api/v1/namespaces/{other}/pods").status_code == 403
        assert viewer.get("/api/v1/pods").status_code == 403
        created = viewer.post(f"/api/v1/namespaces/{mine}/configmaps",
                              json={"metadata": {"name": "nope"}})
        assert created.status_code == 403
    assert admin.get(f"/api/v1/namespaces/{mine}/configmaps/nope").status_code == 404


@needs_kubectl
def test_kubectl_auth_can_i_and_whoami_follow_the_bindings(
        rbac_apiserver: APIServerProcess, admin: httpx.Client, tmp_path: Path) -> None:
    mine, other = new_namespace(admin), new_namespace(admin)
    bind(admin, mine, "viewer", "ClusterRole", "view")
    with as_user(rbac_apiserver, "viewer-token") as viewer:
        wait_until(lambda: can(viewer, "list", "pods", mine), DEADLINE_SECONDS, "view to apply")
    answers = {args: kubectl(rbac_apiserver, tmp_path, "viewer-token", "auth", "can-i", *args)
               for args in (("list", "pods", "-n", mine), ("create", "pods", "-n", mine),
                            ("list", "pods", "-n", other), ("get", "deployments.apps", "-n", mine))}
    assert {args: (r.stdout.strip(), r.returncode) for args, r in answers.items()} == {
        ("list", "pods", "-n", mine): ("yes", 0), ("create", "pods", "-n", mine): ("no", 1),
        ("list", "pods", "-n", other): ("no", 1),
        ("get", "deployments.apps", "-n", mine): ("yes", 0)}
    listed = kubectl(rbac_apiserver, tmp_path, "viewer-token", "auth", "can-i", "--list", "-n",
                     mine)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert rows["pods"].endswith("[get list watch]")
    assert rows["selfsubjectaccessreviews.authorization.k8s.io"].endswith("[create]")
    assert "secrets" not in rows
    whoami = kubectl(rbac_apiserver, tmp_path, "viewer-token", "auth", "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert "viewer" in whoami.stdout and "system:authenticated" in whoami.stdout
    admin_can = kubectl(rbac_apiserver, tmp_path, rbac_apiserver.token, "auth", "can-i", "*", "*",
                        "--all-namespaces")
    assert (admin_can.stdout.strip(), admin_can.returncode) == ("yes", 0)


def test_an_escalation_is_refused_and_nothing_is_written(rbac_apiserver: APIServerProcess,
                                                         admin: httpx.Client) -> None:
    namespace = new_namespace(admin)
    role = {"metadata": {"name": "rbac-writer"}, "rules": [
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
         "verbs": ["create", "get"]}]}
    assert admin.post(f"{RBAC}/namespaces/{namespace}/roles", json=role).status_code == 201
    bind(admin, namespace, "binder", "Role", "rbac-writer")
    binding = {"metadata": {"name": "escalate"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                           "name": "system:aggregate-to-edit"},
               "subjects": [{"kind": "User", "name": "binder"}]}
    secrets_role = {"metadata": {"name": "secrets"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}
    with as_user(rbac_apiserver, "binder-token") as binder:
        wait_until(lambda: can(binder, "create", "rolebindings", namespace,
                               "rbac.authorization.k8s.io"), DEADLINE_SECONDS, "the binding")
        refused = binder.post(f"{RBAC}/namespaces/{namespace}/rolebindings", json=binding)
        assert refused.status_code == 403, refused.text
        message = refused.json()["message"]
        assert message.startswith('rolebindings.rbac.authorization.k8s.io "escalate" is '
                                  'forbidden: user "binder" (groups=["system:authenticated"]) '
                                  + GRANT_PREFIX)
        assert '\n{APIGroups:[""], Resources:["secrets"], Verbs:["create" "delete" ' \
            '"deletecollection" "patch" "update" "get" "list" "watch"]}\n' in message, message
        refused_role = binder.post(f"{RBAC}/namespaces/{namespace}/roles", json=secrets_role)
        assert refused_role.status_code == 403
        assert refused_role.json()["message"].endswith(
            GRANT_PREFIX + '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}')
        held = {"metadata": {"name": "held"}, "rules": [
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["get"]}]}
        assert binder.post(f"{RBAC}/namespaces/{namespace}/roles", json=held).status_code == 201
    assert admin.get(f"{RBAC}/namespaces/{namespace}/rolebindings/escalate").status_code == 404
    assert admin.get(f"{RBAC}/namespaces/{namespace}/roles/secrets").status_code == 404


def test_the_admin_may_do_everything(rbac_apiserver: APIServerProcess) -> None:
    with official(rbac_apiserver, rbac_apiserver.token) as api:
        core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
        assert core.list_secret_for_all_namespaces().items is not None
        names = {r.metadata.name for r in rbac.list_cluster_role().items}
        assert {"cluster-admin", "admin", "edit", "view", "system:kube-scheduler",
                "system:node", "system:kube-controller-manager"} <= names
        binding = rbac.read_cluster_role_binding("cluster-admin")
        assert [(s.kind, s.name) for s in binding.subjects] == [("Group", "system:masters")]
        review = client.AuthorizationV1Api(api).create_self_subject_access_review(
            client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(verb="delete", resource="nodes"))))
        assert review.status.allowed is True


def test_aggregation_makes_view_grow(rbac_apiserver: APIServerProcess,
                                     admin: httpx.Client) -> None:
    namespace = new_namespace(admin)
    bind(admin, namespace, "aggregated", "ClusterRole", "view")
    crontabs = {"metadata": {"name": f"crontabs-{namespace}", "labels": {
        "rbac.authorization.k8s.io/aggregate-to-view": "true"}}, "rules": [
        {"apiGroups": ["stable.example.com"], "resources": ["crontabs"], "verbs": ["get", "list"]}]}
    with as_user(rbac_apiserver, "aggregated-token") as user:
        wait_until(lambda: can(user, "list", "pods", namespace), DEADLINE_SECONDS, "view")
        assert not can(user, "list", "crontabs", namespace, "stable.example.com")
        assert admin.post(f"{RBAC}/clusterroles", json=crontabs).status_code == 201
        wait_until(lambda: can(user, "list", "crontabs", namespace, "stable.example.com"),
                   DEADLINE_SECONDS, "view to aggregate the crontabs rule")
    # view is aggregated into edit: a second pass of the controller, after view changed
    wait_until(lambda: crontabs["rules"][0] in admin.get(f"{RBAC}/clusterroles/edit").json()["rules"],
               DEADLINE_SECONDS, "edit to aggregate view's new rule")


def test_reviews_are_create_only_and_discovered(rbac_apiserver: APIServerProcess,
                                                admin: httpx.Client) -> None:
    listed = admin.get(SSAR)
    assert (listed.status_code, listed.json()["reason"]) == (405, "MethodNotAllowed")
    resources = admin.get("/apis/authorization.k8s.io/v1").json()["resources"]
    assert {(r["name"], tuple(r["verbs"])) for r in resources} == {
        ("selfsubjectaccessreviews", ("create",)), ("selfsubjectrulesreviews", ("create",)),
        ("subjectaccessreviews", ("create",)), ("localsubjectaccessreviews", ("create",))}
    review = admin.post("/apis/authentication.k8s.io/v1/tokenreviews", json={
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": "viewer-token"}}).json()["status"]
    assert review["authenticated"] is True and review["user"]["username"] == "viewer"
    bad = admin.post("/apis/authentication.k8s.io/v1/tokenreviews",
                     json={"spec": {"token": "made-up"}}).json()["status"]
    assert bad["authenticated"] is False
    sar = admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json={"spec": {
        "user": "nobody", "resourceAttributes": {"verb": "list", "resource": "pods"}}})
    assert sar.json()["status"]["allowed"] is False


@needs_kubectl
def test_kubectl_creates_gets_and_describes_roles_and_bindings(
        rbac_apiserver: APIServerProcess, admin: httpx.Client, tmp_path: Path) -> None:
    namespace = new_namespace(admin)
    token = rbac_apiserver.token

    def ok(*args: str) -> str:
        result = kubectl(rbac_apiserver, tmp_path, token, *args)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    ok("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", namespace)
    ok("create", "rolebinding", "read-pods", "--role=pod-reader", "--user=viewer",
       "--group=devs", "--serviceaccount=default:robot", "-n", namespace)
    ok("create", "clusterrolebinding", f"view-{namespace}", "--clusterrole=view",
       "--user=nobody-else")
    roles = ok("get", "roles", "-n", namespace).splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"]
    assert roles[1].split()[0] == "pod-reader"
    wide = ok("get", "rolebindings", "-n", namespace, "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    cells = wide[1].split()
    assert (cells[0], cells[1], cells[3:]) == ("read-pods", "Role/pod-reader",
                                               ["viewer", "devs", "default/robot"])
    described = ok("describe", "role", "pod-reader", "-n", namespace)
    assert "pods" in described and "[get list]" in described
    changed = kubectl(rbac_apiserver, tmp_path, token, "patch", "rolebinding", "read-pods", "-n",
                      namespace, "--type=merge", "-p", '{"roleRef":{"name":"other"}}')
    assert changed.returncode == 1 and "cannot change roleRef" in changed.stderr


def test_impersonation_needs_the_impersonate_verb(rbac_apiserver: APIServerProcess,
                                                  admin: httpx.Client, tmp_path: Path) -> None:
    namespace = new_namespace(admin)
    bind(admin, namespace, "viewer", "ClusterRole", "view")
    with as_user(rbac_apiserver, "nobody-token") as nobody:
        refused = nobody.get("/api/v1/namespaces/default/pods",
                             headers={"Impersonate-User": "viewer"})
        assert (refused.status_code, refused.json()["message"]) == (
            403, 'users "viewer" is forbidden: User "nobody" cannot impersonate resource "users" '
                 'in API group "" at the cluster scope')
    as_viewer = {"Impersonate-User": "viewer"}
    wait_until(lambda: admin.get(f"/api/v1/namespaces/{namespace}/pods",
                                 headers=as_viewer).status_code == 200,
               DEADLINE_SECONDS, "the admin acting as viewer to list pods")
    assert admin.get(f"/api/v1/namespaces/{namespace}/secrets", headers=as_viewer
                     ).status_code == 403
    who = admin.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={},
                     headers={"Impersonate-User": "jane", "Impersonate-Group": "devs"})
    assert who.json()["status"]["userInfo"] == {"username": "jane",
                                                     "groups": ["devs", "system:authenticated"]}
    if shutil.which("kubectl") is not None:
        answer = kubectl(rbac_apiserver, tmp_path, rbac_apiserver.token, "auth", "can-i", "list",
                         "secrets", "-n", namespace, "--as=viewer")
        assert (answer.stdout.strip(), answer.returncode) == ("no", 1)


def test_tinykube_auth_can_i_and_whoami(rbac_apiserver: APIServerProcess,
                                        admin: httpx.Client) -> None:
    namespace = new_namespace(admin)
    bind(admin, namespace, "viewer", "ClusterRole", "view")
    with as_user(rbac_apiserver, "viewer-token") as viewer:
        wait_until(lambda: can(viewer, "list", "pods", namespace), DEADLINE_SECONDS, "view")

    def ask(*args: str) -> tuple[str, int]:
        result = tinykube(rbac_apiserver, "--token", "viewer-token", "auth", *args)
        return result.stdout.strip(), result.returncode

    assert ask("can-i", "list", "pods", "-n", namespace) == ("yes", 0)
    assert ask("can-i", "get", "deploy", "-n", namespace) == ("yes", 0)
    assert ask("can-i", "delete", "pods", "-n", namespace) == ("no", 1)
    assert ask("can-i", "list", "pods", "-n", "default") == ("no", 1)
    assert ask("can-i", "get", "/healthz") == ("yes", 0)
    listed, code = ask("can-i", "--list", "-n", namespace)
    assert code == 0 and "pods   " in listed and "[get list watch]" in listed
    whoami, code = ask("whoami")
    assert code == 0 and whoami.splitlines()[1].split() == ["Username", "viewer"]
