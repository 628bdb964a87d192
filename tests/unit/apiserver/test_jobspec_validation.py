"""Job spec validation: kube-apiserver's field paths and messages."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.strategies.jobspec import default_job_spec, validate_job_spec, validate_job_spec_update

Obj = dict[str, Any]


def spec(**fields: Any) -> Obj:
    body: Obj = {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "x"}]}},
                 **fields}
    return body


def messages(body: Obj) -> list[str]:
    return [f"{e.field}: {e.message}" for e in validate_job_spec(body, "spec")]


def test_defaults() -> None:
    body = spec()
    default_job_spec(body)
    assert {k: body[k] for k in ("parallelism", "completions", "backoffLimit", "completionMode", "suspend",
                                 "manualSelector")} == {
        "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "manualSelector": False}
    work_queue = spec(parallelism=3)
    default_job_spec(work_queue)
    assert "completions" not in work_queue


@pytest.mark.parametrize(("fields", "expected"), [
    ({"completions": -1}, "spec.completions: Invalid value: -1: must be greater than or equal to 0"),
    ({"activeDeadlineSeconds": -5}, "spec.activeDeadlineSeconds: Invalid value: -5: must be greater than or "
                                    "equal to 0"),
    ({"completionMode": "Sometimes"}, 'spec.completionMode: Unsupported value: "Sometimes": supported values: '
                                      '"NonIndexed", "Indexed"'),
    ({"backoffLimitPerIndex": 1}, "spec.backoffLimitPerIndex: Forbidden: not supported by tinykube"),
    ({"selector": {"matchLabels": {"a": "c"}}},
     'spec.template.metadata.labels: Invalid value: map[string]string{"a":"b"}: `selector` does not match template `labels`'),
    ({"podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [0]}}]}},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"),
    ({"podFailurePolicy": {"rules": [{"action": "Count", "onExitCodes": {"operator": "In", "values": [3, 1]}}]}},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 1: must be ordered"),
    ({"podFailurePolicy": {"rules": [{"action": "Ignore"}]}},
     "spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is "
     "required"),
])
def test_invalid_specs(fields: Obj, expected: str) -> None:
    assert expected in messages(spec(**fields))


def test_pod_failure_policy_needs_restart_policy_never() -> None:
    body = spec(podFailurePolicy={"rules": [{"action": "Ignore", "onPodConditions": [
        {"type": "DisruptionTarget", "status": "True"}]}]})
    body["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert messages(body) == ['spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is '
                              "supported when podFailurePolicy is specified"]


def test_updates_keep_the_template_and_completions() -> None:
    old = spec(completions=2, parallelism=2)
    new = spec(completions=3, parallelism=2)
    new["template"]["spec"]["containers"][0]["image"] = "y"
    assert [e.field for e in validate_job_spec_update(new, old, "spec")] == ["spec.template", "spec.completions"]
    elastic_old = spec(completions=2, parallelism=2, completionMode="Indexed")
    elastic_new = spec(completions=4, parallelism=4, completionMode="Indexed")
    assert validate_job_spec_update(elastic_new, elastic_old, "spec") == []
