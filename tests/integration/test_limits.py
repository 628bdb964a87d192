"""Requests that would cost the server without bound are refused with Kubernetes' answers.

Bodies over 3 MiB (413, before they are read whole), YAML alias bombs and deep nesting
(400), JSON patches with too many operations (413) or copies that grow the object
without bound (422), and integers too large for their int32/int64 field (400): each is
answered with the Status Kubernetes gives, and nothing is written.
"""

from __future__ import annotations

import json
import select
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bench.slow_clients import yaml_bomb
from tests.integration.test_bad_inputs import (
    CM,
    DEPLOYMENTS,
    PODS,
    BadInput,
    assert_refused_and_unwritten,
    configmap,
    created,
    deployment,
    existing_configmap,
    existing_deployment,
    pod,
)
from tinykube.testing.processes import APIServerProcess

MiB = 1024 * 1024
TOO_LARGE = "Request entity too large: limit is 3145728"
HUGE = 9223372036854775808  # 2**63: fits no Go int64, let alone an int32
REPLICAS_OVERFLOW = (f'Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                     f"unmarshal number {HUGE} into Go struct field DeploymentSpec.spec.replicas "
                     "of type int32")
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def big_configmap(http: httpx.Client, ns: str) -> dict[str, str]:
    created(http, CM.format(ns=ns), configmap("cm") | {"data": {"k": "x" * 100_000}})
    return {}


DEEP = 100_000
CASES = [
    BadInput("create-over-3MiB", "POST", CM, 413, "RequestEntityTooLarge", message=TOO_LARGE,
             content=json_bytes(configmap("big") | {"data": {"k": "x" * (4 * MiB)}})),
    BadInput("update-over-3MiB", "PUT", CM + "/cm", 413, "RequestEntityTooLarge",
             message=TOO_LARGE, setup=existing_configmap, watched=CM + "/cm",
             content=json_bytes(configmap("cm") | {"data": {"k": "x" * (4 * MiB)}})),
    BadInput("patch-over-3MiB", "PATCH", CM + "/cm", 413, "RequestEntityTooLarge",
             message=TOO_LARGE, setup=existing_configmap, watched=CM + "/cm",
             content_type=MERGE_PATCH, content=json_bytes({"data": {"k": "x" * (4 * MiB)}})),
    BadInput("yaml-alias-bomb", "POST", CM, 400, "BadRequest", content=yaml_bomb(),
             content_type="application/yaml",
             message="yaml: document contains excessive aliasing"),
    BadInput("yaml-nested-too-deep", "POST", CM, 400, "BadRequest",
             content=b"metadata: {name: deep}\ndata: " + b"[" * DEEP,
             content_type="application/yaml", message="yaml: exceeded max depth of 100"),
    BadInput("json-nested-too-deep", "POST", CM, 400, "BadRequest",
             content=b'{"metadata": {"name": "deep"}, "data": ' + b"[" * DEEP + b"]" * DEEP + b"}",
             message="json: exceeded max depth of 100"),
    BadInput("merge-patch-nested-too-deep", "PATCH", CM + "/cm", 400, "BadRequest",
             content=b'{"data": ' + b"[" * DEEP + b"]" * DEEP + b"}", content_type=MERGE_PATCH,
             setup=existing_configmap, watched=CM + "/cm",
             message="error decoding patch: json: exceeded max depth of 100"),
    BadInput("apply-patch-alias-bomb", "PATCH", CM + "/bomb", 400, "BadRequest",
             content=yaml_bomb(), content_type=APPLY_PATCH, params={"fieldManager": "test"},
             message="yaml: document contains excessive aliasing"),
    BadInput("json-patch-with-too-many-operations", "PATCH", CM + "/cm", 413,
             "RequestEntityTooLarge", setup=existing_configmap, watched=CM + "/cm",
             content=json_bytes([{"op": "test", "path": "/data/k", "value": "v"}] * 10_001),
             content_type="application/json-patch+json",
             message="Request entity too large: The allowed maximum operations in a JSON patch "
                     "is 10000, got 10001"),
    # Each operation copies the data into itself: the object doubles per operation.
    BadInput("json-patch-copies-without-bound", "PATCH", CM + "/cm", 422, "Invalid",
             setup=big_configmap, watched=CM + "/cm", content_type="application/json-patch+json",
             content=json_bytes([{"op": "copy", "from": "/data", "path": f"/data/c{i}"}
                                 for i in range(40)]),
             message="Unable to complete the copy, the accumulated size increase of copy is "),
    BadInput("replicas-overflow-create", "POST", DEPLOYMENTS, 400, "BadRequest",
             body=deployment("d", replicas=HUGE), watched=DEPLOYMENTS, message=REPLICAS_OVERFLOW),
    BadInput("replicas-int32-overflow-create-yaml", "POST", DEPLOYMENTS, 400, "BadRequest",
             content=json_bytes(deployment("d", replicas=2**31)), content_type="application/yaml",
             watched=DEPLOYMENTS,
             message="json: cannot unmarshal number 2147483648 into Go struct field "
                     "DeploymentSpec.spec.replicas of type int32"),
    BadInput("int64-overflow-create", "POST", PODS, 400, "BadRequest", watched=PODS,
             body=pod("p") | {"spec": pod("p")["spec"] | {"terminationGracePeriodSeconds": HUGE}},
             message=f'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal '
                     f"number {HUGE} into Go struct field PodSpec.spec.terminationGracePeriodSeconds"
                     " of type int64"),
    BadInput("replicas-overflow-update", "PUT", DEPLOYMENTS + "/d", 400, "BadRequest",
             body=deployment("d", replicas=HUGE), setup=existing_deployment,
             watched=DEPLOYMENTS + "/d", message=REPLICAS_OVERFLOW),
    BadInput("replicas-overflow-merge-patch", "PATCH", DEPLOYMENTS + "/d", 400, "BadRequest",
             body={"spec": {"replicas": HUGE}}, content_type=MERGE_PATCH,
             setup=existing_deployment, watched=DEPLOYMENTS + "/d", message=REPLICAS_OVERFLOW),
    BadInput("replicas-overflow-strategic-merge-patch", "PATCH", DEPLOYMENTS + "/d", 400,
             "BadRequest", body={"spec": {"replicas": HUGE}},
             content_type="application/strategic-merge-patch+json",
             setup=existing_deployment, watched=DEPLOYMENTS + "/d", message=REPLICAS_OVERFLOW),
    BadInput("replicas-overflow-json-patch", "PATCH", DEPLOYMENTS + "/d", 400, "BadRequest",
             body=[{"op": "replace", "path": "/spec/replicas", "value": HUGE}],
             content_type="application/json-patch+json",
             setup=existing_deployment, watched=DEPLOYMENTS + "/d", message=REPLICAS_OVERFLOW),
    BadInput("replicas-overflow-apply", "PATCH", DEPLOYMENTS + "/d", 400, "BadRequest",
             content=json_bytes(deployment("d", replicas=HUGE)), content_type=APPLY_PATCH,
             params={"fieldManager": "test"}, setup=existing_deployment,
             watched=DEPLOYMENTS + "/d", message=REPLICAS_OVERFLOW),
    BadInput("replicas-overflow-scale", "PUT", DEPLOYMENTS + "/d/scale", 400, "BadRequest",
             body={"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "d"},
                   "spec": {"replicas": HUGE}},
             setup=existing_deployment, watched=DEPLOYMENTS + "/d",
             message=f'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal '
                     f"number {HUGE} into Go struct field ScaleSpec.spec.replicas of type int32"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_limit_is_enforced_and_nothing_is_written(case: BadInput, http: httpx.Client,
                                                  namespace: str) -> None:
    assert_refused_and_unwritten(case, http, namespace)


def test_largest_int32_and_a_large_int64_are_stored(http: httpx.Client, namespace: str) -> None:
    body = deployment("d", replicas=2**31 - 1)
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2**40
    obj = created(http, DEPLOYMENTS.format(ns=namespace), body)
    assert obj["spec"]["replicas"] == 2**31 - 1
    assert obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 2**40


def test_a_body_under_the_limit_is_accepted(http: httpx.Client, namespace: str) -> None:
    obj = created(http, CM.format(ns=namespace), configmap("one-mib") | {"data": {"k": "x" * MiB}})
    assert len(obj["data"]["k"]) == MiB


def send_until_answered(apiserver: APIServerProcess, head: bytes, chunks: int,
                        chunk: bytes) -> tuple[bytes, int]:
    """Send `head`, then up to `chunks` x `chunk`, stopping once the server answers.

    Returns the start of the answer and how many body bytes were sent before it came.
    """
    address = urlsplit(apiserver.http_url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(head)
        sent = 0
        for _ in range(chunks):
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                break
            try:
                conn.sendall(chunk)
            except OSError:  # the server closed the connection after answering
                break
            sent += len(chunk)
        return read_answer(conn), sent


def read_answer(conn: socket.socket) -> bytes:
    """One HTTP response with a Content-Length: its head and its whole body."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += conn.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_declared_50_MB_body_is_refused_before_it_is_sent(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    declared = 50 * 1000 * 1000
    head = (f"POST {CM.format(ns=namespace)} HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n").encode()
    answer, sent = send_until_answered(apiserver, head, chunks=declared // (64 * 1024),
                                       chunk=b" " * (64 * 1024))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert TOO_LARGE.encode() in answer
    assert sent < declared
    assert http.get("/readyz").status_code == 200


def test_a_chunked_body_is_refused_once_it_passes_the_limit(
        apiserver: APIServerProcess, http: httpx.Client, namespace: str) -> None:
    head = (f"POST {CM.format(ns=namespace)} HTTP/1.1\r\nHost: localhost\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    piece = b" " * (256 * 1024)
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    answer, sent = send_until_answered(apiserver, head, chunks=200, chunk=chunk)  # ~50 MB
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert TOO_LARGE.encode() in answer
    assert sent < 200 * len(chunk)
    assert http.get("/readyz").status_code == 200


def test_the_server_keeps_answering_during_and_after_yaml_bombs(
        http: httpx.Client, namespace: str) -> None:
    path = CM.format(ns=namespace)

    def bomb(number: int) -> httpx.Response:
        return http.post(path, content=yaml_bomb(f"bomb-{number}"),
                         headers={"Content-Type": "application/yaml"})

    with ThreadPoolExecutor(max_workers=4) as pool:
        bombs = [pool.submit(bomb, number) for number in range(4)]
        ready = pool.submit(http.get, "/readyz")
        assert ready.result().status_code == 200
        for sent in bombs:
            response = sent.result()
            assert response.status_code == 400, response.text
            assert "excessive aliasing" in response.json()["message"]
    assert http.get(f"{path}/bomb-0").status_code == 404
    assert http.post(path, json=configmap("after")).status_code == 201
