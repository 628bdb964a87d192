"""kubeconfig files (single and merged) and the in-cluster service account config."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tinykube.client.config import ClientConfig, ConfigError, in_cluster_config, load_kubeconfig

CA_PEM = b"-----BEGIN CERTIFICATE-----\nnot-a-real-cert\n-----END CERTIFICATE-----\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def kubeconfig(clusters: str, users: str, contexts: str, current: str = "") -> str:
    return (f"apiVersion: v1\nkind: Config\nclusters:\n{clusters}\nusers:\n{users}\n"
            f"contexts:\n{contexts}\ncurrent-context: {current!r}\n")


ONE = kubeconfig(
    clusters="- name: lab\n  cluster:\n    server: https://10.0.0.1:6443/\n"
             "    certificate-authority: pki/ca.crt\n",
    users="- name: admin\n  user:\n    token: secret-token\n",
    contexts="- name: lab\n  context:\n    cluster: lab\n    user: admin\n    namespace: team-a\n",
    current="lab",
)


def test_reads_server_token_ca_and_namespace(tmp_path: Path) -> None:
    path = write(tmp_path / "conf" / "kubeconfig", ONE)
    config = load_kubeconfig(path)
    assert config.server == "https://10.0.0.1:6443"
    assert config.token == "secret-token"
    # Relative paths are relative to the kubeconfig file, as kubectl resolves them.
    assert config.ca_file == str(tmp_path / "conf" / "pki" / "ca.crt")
    assert config.namespace == "team-a"


def test_inline_ca_and_token_file(tmp_path: Path) -> None:
    write(tmp_path / "token", "file-token\n")
    ca_b64 = base64.b64encode(CA_PEM).decode()
    path = write(tmp_path / "kubeconfig", kubeconfig(
        clusters=f"- name: c\n  cluster:\n    server: https://h:1\n"
                 f"    certificate-authority-data: {ca_b64}\n",
        users="- name: u\n  user:\n    tokenFile: token\n",
        contexts="- name: x\n  context:\n    cluster: c\n    user: u\n",
        current="x"))
    config = load_kubeconfig(path)
    assert config.ca_data == CA_PEM
    assert config.token == "file-token"
    assert config.namespace == "default"


def test_kubeconfig_env_merges_files_first_definition_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "a", kubeconfig(
        clusters="- name: shared\n  cluster:\n    server: https://first:6443\n",
        users="- name: u\n  user:\n    token: t-first\n",
        contexts="- name: ctx-a\n  context:\n    cluster: shared\n    user: u\n"))
    second = write(tmp_path / "b", kubeconfig(
        clusters="- name: shared\n  cluster:\n    server: https://second:6443\n"
                 "- name: only-b\n  cluster:\n    server: https://b:6443\n",
        users="- name: u\n  user:\n    token: t-second\n",
        contexts="- name: ctx-b\n  context:\n    cluster: only-b\n    user: u\n",
        current="ctx-a"))
    env = {"KUBECONFIG": f"{first}:{tmp_path / 'missing'}:{second}"}
    # current-context comes from the first file that sets one (here: the second).
    config = load_kubeconfig(env=env)
    assert (config.server, config.token) == ("https://first:6443", "t-first")
    other = load_kubeconfig(context="ctx-b", env=env)
    assert (other.server, other.token) == ("https://b:6443", "t-first")


@pytest.mark.parametrize(
    ("text", "context", "message"),
    [
        (ONE, "nope", 'context "nope" does not exist'),
        (ONE.replace("current-context: 'lab'", "current-context: ''"), None, "no current-context"),
        (ONE.replace("cluster: lab\n    user", "cluster: gone\n    user"), None,
         'refers to cluster "gone"'),
        (ONE.replace("user: admin\n    namespace", "user: ghost\n    namespace"), None,
         'refers to user "ghost"'),
        (ONE.replace("server: https://10.0.0.1:6443/", "server: ''"), None, "has no server URL"),
        (ONE.replace("certificate-authority: pki/ca.crt", "certificate-authority-data: '%%'"),
         None, "not valid base64"),
    ],
)
def test_errors_say_what_is_wrong(tmp_path: Path, text: str, context: str | None, message: str) -> None:
    path = write(tmp_path / "kubeconfig", text)
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(path, context=context)


def test_missing_kubeconfig_names_the_paths_tried(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no kubeconfig found.*nothing-here"):
        load_kubeconfig(env={"KUBECONFIG": str(tmp_path / "nothing-here")})


def test_in_cluster_config_reads_the_service_account(tmp_path: Path) -> None:
    write(tmp_path / "token", "sa-token\n")
    write(tmp_path / "ca.crt", CA_PEM.decode())
    write(tmp_path / "namespace", "kube-system")
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    config = in_cluster_config(env=env, service_account_dir=tmp_path)
    assert config.server == "https://10.96.0.1:443"
    assert config.token == "sa-token"
    assert config.ca_file == str(tmp_path / "ca.crt")
    assert config.namespace == "kube-system"
    ipv6 = in_cluster_config(env={**env, "KUBERNETES_SERVICE_HOST": "fd00::1"},
                             service_account_dir=tmp_path)
    assert ipv6.server == "https://[fd00::1]:443"


def test_in_cluster_config_outside_a_pod(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not running in a cluster"):
        in_cluster_config(env={}, service_account_dir=tmp_path)
    with pytest.raises(ConfigError, match="service account token"):
        in_cluster_config(env={"KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"},
                          service_account_dir=tmp_path)


def test_plain_http_needs_no_tls_context() -> None:
    assert ClientConfig(server="http://127.0.0.1:8080").ssl_context() is True
    insecure = ClientConfig(server="https://127.0.0.1:6443", insecure_skip_tls_verify=True)
    context = insecure.ssl_context()
    assert context is not True and not context.check_hostname  # type: ignore[union-attr]


def test_a_rotated_service_account_token_is_sent_once_a_minute_old(tmp_path: Path) -> None:
    write(tmp_path / "token", "first\n")
    write(tmp_path / "ca.crt", CA_PEM.decode())
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    config = in_cluster_config(env=env, service_account_dir=tmp_path)
    now = [100.0]
    config.clock = lambda: now[0]
    assert config.bearer_token() == "first"
    write(tmp_path / "token", "second\n")  # the kubelet rotated it
    now[0] += 30
    assert config.bearer_token() == "first"  # read at most once a minute
    now[0] += 30
    assert config.bearer_token() == "second"
    (tmp_path / "token").unlink()  # unreadable for a moment: the last token stays
    now[0] += 60
    assert config.bearer_token() == "second"
