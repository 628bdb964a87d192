"""`tinykube create token`: the TokenRequest kubectl would send, and kubectl's refusals."""

from __future__ import annotations

import argparse

import pytest

from tinykube.cli.commands.create_token import register_token, token_request
from tinykube.cli.context import CLIError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register_token(parser.add_subparsers())
    return parser.parse_args(["token", *argv])


def test_a_pod_bound_request_with_audiences_and_a_duration() -> None:
    body = token_request(parse("builder", "--audience", "vault", "--audience", "api",
                               "--bound-object-kind", "Pod", "--bound-object-name", "web",
                               "--duration", "20m"))
    assert body == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
        "audiences": ["vault", "api"], "expirationSeconds": 1200,
        "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}}


def test_no_flags_leave_everything_to_the_server() -> None:
    assert token_request(parse("builder"))["spec"] == {}


@pytest.mark.parametrize("argv, message", [
    (("--bound-object-kind", "Node", "--bound-object-name", "n"),
     "supported --bound-object-kind values are Pod, Secret"),
    (("--bound-object-kind", "Pod"), "--bound-object-name is required"),
    (("--bound-object-name", "web"), "--bound-object-name can only be set if --bound-object-kind"),
    (("--duration", "1500ms"), "--duration cannot be expressed in units less than seconds"),
])
def test_kubectls_refusals(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(CLIError, match=message):
        token_request(parse("builder", *argv))
