"""The pull-secret keyring: registries of image references, and which secret entries match."""

from __future__ import annotations

import base64
import json

from kubelet.kuberuntime.pull_secrets import Keyring
from tinykube.image_reference import image_registry
from kubelet.runtime import AuthConfig
from tinykube.api.core import Secret


def secret(auths: dict[str, dict[str, str]], kind: str = "kubernetes.io/dockerconfigjson") -> Secret:
    encoded = base64.b64encode(json.dumps({"auths": auths}).encode()).decode()
    return Secret.model_validate({"metadata": {"name": "s"}, "type": kind, "data": {".dockerconfigjson": encoded}})


def test_image_registries_follow_dockers_defaults() -> None:
    assert image_registry("busybox") == ("docker.io", "library/busybox")
    assert image_registry("busybox:1.36") == ("docker.io", "library/busybox")
    assert image_registry("user/app:1") == ("docker.io", "user/app")
    assert image_registry("index.docker.io/user/app") == ("docker.io", "user/app")
    assert image_registry("registry:5000/team/app:2") == ("registry:5000", "team/app")
    assert image_registry("localhost/app@sha256:abc") == ("localhost", "app")


def test_the_keyring_matches_host_and_path_prefix_most_specific_first() -> None:
    basic = base64.b64encode(b"bob:pw2").decode()
    keyring = Keyring([secret({"registry:5000": {"username": "alice", "password": "pw1"},
                               "registry:5000/team": {"auth": basic},
                               "https://index.docker.io/v1/": {"username": "hub", "password": "pw3"}})])
    assert keyring.lookup("registry:5000/team/app:1") == [
        AuthConfig("bob", "pw2", "registry:5000/team"), AuthConfig("alice", "pw1", "registry:5000")]
    assert keyring.lookup("registry:5000/teamx/app") == [AuthConfig("alice", "pw1", "registry:5000")]
    assert keyring.lookup("busybox") == [AuthConfig("hub", "pw3", "https://index.docker.io/v1/")]
    assert keyring.lookup("other:5000/app") == []


def test_secrets_of_another_type_or_malformed_give_nothing() -> None:
    opaque = secret({"registry:5000": {"username": "a", "password": "b"}}, kind="Opaque")
    broken = Secret.model_validate({"metadata": {"name": "b"}, "type": "kubernetes.io/dockerconfigjson",
                                    "data": {".dockerconfigjson": base64.b64encode(b"{not json").decode()}})
    assert Keyring([opaque, broken]).lookup("registry:5000/app") == []
