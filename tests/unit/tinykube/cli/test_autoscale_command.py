"""`tinykube autoscale`: the HorizontalPodAutoscaler it builds from kubectl's flags."""

from __future__ import annotations

import argparse

import pytest

from tinykube.cli.commands.autoscale import build_hpa
from tinykube.cli.context import CLIError


def args(**kwargs: object) -> argparse.Namespace:
    values: dict[str, object] = {"min": -1, "max": 5, "cpu": None, "memory": None, "cpu_percent": None,
                                 "hpa_name": None}
    return argparse.Namespace(**{**values, **kwargs})


def test_cpu_percent_and_quantities_become_utilization_and_average_value_targets() -> None:
    hpa = build_hpa(args(min=2, cpu="50%", memory="256Mi"), "apps/v1", "Deployment", "web", "prod")
    assert hpa["metadata"] == {"name": "web", "namespace": "prod"}
    assert hpa["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 2, "maxReplicas": 5, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                        "averageUtilization": 50}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                           "averageValue": "256Mi"}}}]}
    bare = build_hpa(args(cpu="500"), "apps/v1", "Deployment", "web", "prod")["spec"]["metrics"][0]
    assert bare["resource"]["target"] == {"type": "AverageValue", "averageValue": "500m"}


def test_no_metric_flag_leaves_the_servers_default_and_the_deprecated_flag_warns(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert "metrics" not in build_hpa(args(), "apps/v1", "Deployment", "web", "prod")["spec"]
    old = build_hpa(args(cpu_percent=70, hpa_name="w"), "apps/v1", "Deployment", "web", "prod")
    assert old["metadata"]["name"] == "w"
    assert old["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert "Flag --cpu-percent has been deprecated" in capsys.readouterr().err


def test_max_is_required_and_not_below_min() -> None:
    with pytest.raises(CLIError, match="--max=MAXPODS is required and must be at least 1, max: -1"):
        build_hpa(args(max=-1), "apps/v1", "Deployment", "web", "prod")
    with pytest.raises(CLIError, match="--max=MAXPODS must be larger or equal to --min=MINPODS, max: 2, min: 3"):
        build_hpa(args(min=3, max=2), "apps/v1", "Deployment", "web", "prod")
