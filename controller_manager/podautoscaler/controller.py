"""The HorizontalPodAutoscaler controller: every sync period, each HPA's target is resized.

`sync_hpa(key)` (upstream's reconcileAutoscaler):
1. read the target's /scale (any served kind with a scale subresource); failing that,
   AbleToScale=False FailedGetScale;
2. a target scaled to 0 is left alone (ScalingActive=False ScalingDisabled); outside
   min/max it is brought back inside; otherwise each metric proposes a replica count
   (`ReplicaCalculator`) and the largest wins, then `Stabilizer` applies the stabilization
   windows and the scale rate limits (`spec.behavior`, or the fixed limits without one);
3. a changed count is written to /scale with a SuccessfulRescale event; status
   (currentReplicas, desiredReplicas, currentMetrics, lastScaleTime, conditions) is
   written when it changed.

Each HPA is synced once per --horizontal-pod-autoscaler-sync-period: every enqueue
waits that long (a fixed-interval rate limiter, as upstream), so the controller's own
status writes do not cause extra syncs, and a failed sync is retried a period later.

Kubernetes counterpart: pkg/controller/podautoscaler/horizontal.go
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

from controller_manager.controller_utils import Controller
from controller_manager.podautoscaler.behavior import Normalized, Stabilizer
from controller_manager.podautoscaler.metrics import MetricsClient, MetricsError, RESTMetricsClient
from controller_manager.podautoscaler.replica_calculator import ReplicaCalculator
from controller_manager.podautoscaler.status import (
    ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED, milli_quantity, set_condition, status_of,
)
from tinykube.api.core import Pod
from tinykube.api.meta import now_rfc3339
from tinykube.api.other import (
    HorizontalPodAutoscaler, MetricSpec, MetricStatus, MetricValueStatus, ResourceMetricStatus,
)
from tinykube.api.quantity import milli_value
from tinykube.api.registry import deep_copy
from tinykube.api.resources import HORIZONTAL_POD_AUTOSCALERS, INDEX, PODS, ResourceInfo
from tinykube.api.selectors import SelectorError, parse_label_selector
from tinykube.client import (
    NAMESPACE_INDEX, REAL_CLOCK, APIStatusError, ClientError, Clock, EventRecorder, NotFound, RESTClient,
    SharedInformerFactory,
)
from tinykube.client.discovery import discover_resources

log = logging.getLogger(__name__)

WARNING, NORMAL = "Warning", "Normal"
DEFAULT_SYNC_PERIOD_SECONDS = 15.0
DEFAULT_TOLERANCE = 0.1
DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300.0
DEFAULT_CPU_INITIALIZATION_PERIOD_SECONDS = 300.0
DEFAULT_INITIAL_READINESS_DELAY_SECONDS = 30.0


class FixedIntervalRateLimiter:
    """Every item waits the same interval (upstream's FixedItemIntervalRateLimiter)."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds

    def when(self, item: Hashable) -> float:
        return self.interval

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


def error_text(err: Exception) -> str:
    """An API error as Kubernetes prints it: the Status message alone."""
    return err.message if isinstance(err, APIStatusError) and err.message else str(err)


class MetricFailure(Exception):
    """One metric could not be evaluated; carries the ScalingActive reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class HorizontalController(Controller):
    name = "horizontalpodautoscaling"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder, *,
                 clock: Clock = REAL_CLOCK, metrics_client: MetricsClient | None = None,
                 horizontal_pod_autoscaler_sync_period_seconds: float = DEFAULT_SYNC_PERIOD_SECONDS,
                 horizontal_pod_autoscaler_tolerance: float = DEFAULT_TOLERANCE,
                 horizontal_pod_autoscaler_downscale_stabilization_seconds: float =
                 DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
                 horizontal_pod_autoscaler_cpu_initialization_period_seconds: float =
                 DEFAULT_CPU_INITIALIZATION_PERIOD_SECONDS,
                 horizontal_pod_autoscaler_initial_readiness_delay_seconds: float =
                 DEFAULT_INITIAL_READINESS_DELAY_SECONDS,
                 **options: Any) -> None:
        self.sync_period = horizontal_pod_autoscaler_sync_period_seconds
        super().__init__(client, recorder, self.sync_hpa, clock=clock,
                         rate_limiter=FixedIntervalRateLimiter(self.sync_period))
        self.calculator = ReplicaCalculator(
            metrics_client or RESTMetricsClient(client), tolerance=horizontal_pod_autoscaler_tolerance,
            cpu_initialization_period=horizontal_pod_autoscaler_cpu_initialization_period_seconds,
            delay_of_initial_readiness=horizontal_pod_autoscaler_initial_readiness_delay_seconds)
        self.stabilizer = Stabilizer(horizontal_pod_autoscaler_downscale_stabilization_seconds)
        self.hpa_informer = factory.informer_for(HORIZONTAL_POD_AUTOSCALERS)
        self.pod_informer = factory.informer_for(PODS)
        self.hpa_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur), self.delete_hpa)

    def enqueue(self, obj: Any) -> None:
        """Always a period later; a key already waiting keeps its earlier turn."""
        self.queue.add_rate_limited(f"{obj.metadata.namespace}/{obj.metadata.name}")

    def delete_hpa(self, hpa: HorizontalPodAutoscaler) -> None:
        self.stabilizer.forget(f"{hpa.metadata.namespace}/{hpa.metadata.name}")

    def _now(self) -> str:
        return now_rfc3339(self.clock.wall)

    async def sync_hpa(self, key: str) -> None:
        cached: HorizontalPodAutoscaler | None = self.hpa_informer.indexer.get(key)
        if cached is None:
            self.stabilizer.forget(key)
            return
        try:
            await self.reconcile(deep_copy(cached))
        finally:
            self.queue.add_rate_limited(key)  # the next period's sync, success or not

    async def target_resource(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The target's resource; a kind this process does not know yet (a custom
        resource served since) is looked up in discovery once more."""
        info = INDEX.by_kind(api_version, kind)
        if info is None:
            try:
                await discover_resources(self.client)
            except ClientError as err:
                log.warning("discovery failed while resolving a scale target err=%s", err)
            info = INDEX.by_kind(api_version, kind)
        return info

    # --- the reconcile --------------------------------------------------------------

    async def reconcile(self, hpa: HorizontalPodAutoscaler) -> None:
        assert hpa.spec is not None
        key = f"{hpa.metadata.namespace}/{hpa.metadata.name}"
        old_status = status_of(hpa).to_dict()
        ref = hpa.spec.scale_target_ref
        namespace = hpa.metadata.namespace or "default"
        info = await self.target_resource(ref.api_version or "", ref.kind)
        try:
            if info is None:
                group = (ref.api_version or "").rpartition("/")[0]
                raise ClientError(f'unable to determine resource for scale target reference: '
                                                f'no matches for kind "{ref.kind}" in group "{group}"')
            scale = await self.client.get_subresource(info, ref.name, "scale", namespace)
        except ClientError as err:
            self.recorder.event(hpa, WARNING, "FailedGetScale", error_text(err))
            set_condition(hpa, ABLE_TO_SCALE, "False", "FailedGetScale",
                          f"the HPA controller was unable to get the target's current scale: {error_text(err)}",
                          self._now())
            await self._write_status(hpa, old_status)
            raise
        set_condition(hpa, ABLE_TO_SCALE, "True", "SucceededGetScale",
                      "the HPA controller was able to get the target's current scale", self._now())
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        self.stabilizer.record_initial(key, current, self.clock.now())
        min_replicas = hpa.spec.min_replicas if hpa.spec.min_replicas is not None else 1
        max_replicas = hpa.spec.max_replicas
        metric_statuses: list[MetricStatus] = []
        rescale, reason, desired = True, "", 0
        if current == 0 and min_replicas != 0:
            rescale = False
            set_condition(hpa, SCALING_ACTIVE, "False", "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero", self._now())
        elif current > max_replicas:
            reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
        elif current < min_replicas:
            reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
        else:
            computed = await self.compute_replicas_for_metrics(hpa, scale, metric_statuses)
            if computed is None:
                self._set_status(hpa, current, status_of(hpa).desired_replicas, metric_statuses, False)
                await self._write_status(hpa, old_status)
                return
            desired, metric_name = computed
            if desired > current:
                reason = f"{metric_name} above target"
            elif desired < current:
                reason = "All metrics below target"
            normalized = self._normalize(hpa, key, current, desired, min_replicas, max_replicas)
            desired = normalized.replicas
            rescale = desired != current
        if rescale:
            if not await self._rescale(hpa, info, ref.name, namespace, scale, desired, reason, current,
                                       metric_statuses, old_status):
                return
        else:
            desired = current
        self._set_status(hpa, current, desired, metric_statuses, rescale)
        await self._write_status(hpa, old_status)

    def _normalize(self, hpa: HorizontalPodAutoscaler, key: str, current: int, desired: int, min_replicas: int,
                   max_replicas: int) -> Normalized:
        assert hpa.spec is not None
        now = self.clock.now()
        if hpa.spec.behavior is None:
            normalized = self.stabilizer.normalize(key, current, desired, min_replicas, max_replicas, now)
        else:
            normalized = self.stabilizer.normalize_with_behavior(key, hpa.spec.behavior, current, desired,
                                                                 min_replicas, max_replicas, now)
        set_condition(hpa, ABLE_TO_SCALE, "True", *normalized.able_to_scale, self._now())
        set_condition(hpa, SCALING_LIMITED, "True" if normalized.limited else "False", *normalized.limit,
                      self._now())
        return normalized

    async def _rescale(self, hpa: HorizontalPodAutoscaler, info: Any, name: str, namespace: str,
                       scale: dict[str, Any], desired: int, reason: str, current: int,
                       metric_statuses: list[MetricStatus], old_status: dict[str, Any]) -> bool:
        body = {**scale, "spec": {**(scale.get("spec") or {}), "replicas": desired}}
        try:
            await self.client.put_subresource(info, name, "scale", body, namespace)
        except ClientError as err:
            self.recorder.event(hpa, WARNING, "FailedRescale",
                                f"New size: {desired}; reason: {reason}; error: {error_text(err)}")
            set_condition(hpa, ABLE_TO_SCALE, "False", "FailedUpdateScale",
                          f"the HPA controller was unable to update the target scale: {error_text(err)}",
                          self._now())
            self._set_status(hpa, current, status_of(hpa).desired_replicas, metric_statuses, False)
            await self._write_status(hpa, old_status)
            raise
        set_condition(hpa, ABLE_TO_SCALE, "True", "SucceededRescale",
                      f"the HPA controller was able to update the target scale to {desired}", self._now())
        self.recorder.event(hpa, NORMAL, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        self.stabilizer.record_scale(f"{hpa.metadata.namespace}/{hpa.metadata.name}", hpa.spec.behavior
                                     if hpa.spec else None, current, desired, self.clock.now())
        log.info("rescaled hpa=%s/%s from=%d to=%d reason=%s", namespace, hpa.metadata.name, current, desired,
                 reason)
        return True

    def _set_status(self, hpa: HorizontalPodAutoscaler, current: int, desired: int,
                    metric_statuses: list[MetricStatus], rescale: bool) -> None:
        status = status_of(hpa)
        status.current_replicas, status.desired_replicas = current, desired
        status.current_metrics = metric_statuses or None
        if rescale:
            status.last_scale_time = self._now()

    async def _write_status(self, hpa: HorizontalPodAutoscaler, old_status: dict[str, Any]) -> None:
        if status_of(hpa).to_dict() == old_status:
            return
        try:
            await self.client.update_status(HORIZONTAL_POD_AUTOSCALERS, hpa)
        except NotFound:
            return
        except ClientError as err:
            self.recorder.event(hpa, WARNING, "FailedUpdateStatus", error_text(err))
            raise

    # --- metrics --------------------------------------------------------------------

    async def compute_replicas_for_metrics(self, hpa: HorizontalPodAutoscaler, scale: dict[str, Any],
                                           statuses: list[MetricStatus]) -> tuple[int, str] | None:
        """The largest proposal and its metric's name; None when metrics rule out scaling."""
        assert hpa.spec is not None
        selector_text = (scale.get("status") or {}).get("selector") or ""
        if not selector_text:
            self.recorder.event(hpa, WARNING, "SelectorRequired", "selector is required")
            set_condition(hpa, SCALING_ACTIVE, "False", "InvalidSelector",
                          "the HPA target's scale is missing a selector", self._now())
            return None
        try:
            selector = parse_label_selector(selector_text)
        except SelectorError as err:
            self.recorder.event(hpa, WARNING, "InvalidSelector", str(err))
            set_condition(hpa, SCALING_ACTIVE, "False", "InvalidSelector",
                          f"couldn't convert selector into a corresponding internal selector object: {err}",
                          self._now())
            return None
        spec_replicas = int((scale.get("spec") or {}).get("replicas") or 0)
        namespace = hpa.metadata.namespace or "default"
        pods = [p for p in self.pod_informer.indexer.by_index(NAMESPACE_INDEX, namespace)
                if selector.matches(p.metadata.labels or {})]
        specs = hpa.spec.metrics or []
        replicas, metric_name = 0, ""
        failures: list[MetricFailure] = []
        for spec in specs:
            try:
                proposal, name, status = await self._resource_metric(spec, spec_replicas, namespace, selector_text,
                                                                     pods)
            except MetricFailure as failure:
                self.recorder.event(hpa, WARNING, failure.reason, str(failure))
                failures.append(failure)
                statuses.append(MetricStatus(type=""))  # upstream keeps the slot, empty
                continue
            statuses.append(status)
            if proposal > replicas:
                replicas, metric_name = proposal, name
        if failures and (len(failures) >= len(specs) or replicas < spec_replicas):
            first = failures[0]
            set_condition(hpa, SCALING_ACTIVE, "False", first.reason,
                          f"the HPA was unable to compute the replica count: {first}", self._now())
            self.recorder.event(hpa, WARNING, "FailedComputeMetricsReplicas",
                                f"invalid metrics ({len(failures)} invalid out of {len(specs)}), "
                                f"first error is: {first}")
            return None
        set_condition(hpa, SCALING_ACTIVE, "True", "ValidMetricFound",
                      f"the HPA was able to successfully calculate a replica count from {metric_name}", self._now())
        return replicas, metric_name

    async def _resource_metric(self, spec: MetricSpec, current: int, namespace: str, selector: str,
                               pods: list[Pod]) -> tuple[int, str, MetricStatus]:
        if spec.type != "Resource" or spec.resource is None:
            raise MetricFailure("InvalidMetricSourceType",
                                f"invalid metric source type: tinykube evaluates Resource metrics only, not {spec.type}")
        resource, target = spec.resource.name, spec.resource.target
        now = self.clock.wall()
        try:
            if target.average_value is not None:
                result = await self.calculator.raw_resource_replicas(
                    current, milli_value(target.average_value), resource, namespace, selector, pods, now)
                current_value = MetricValueStatus(average_value=milli_quantity(result.raw_average))
                name = f"{resource} resource"
            elif target.average_utilization is not None:
                result = await self.calculator.resource_replicas(
                    current, target.average_utilization, resource, namespace, selector, pods, now)
                current_value = MetricValueStatus(average_utilization=result.utilization,
                                                  average_value=milli_quantity(result.raw_average))
                name = f"{resource} resource utilization (percentage of request)"
            else:
                raise MetricsError("invalid resource metric source: neither an average utilization target "
                                   "nor an average value (usage) target was set")
        except MetricsError as err:
            kind = "usage" if target.average_value is not None else "utilization"
            raise MetricFailure("FailedGetResourceMetric", f"failed to get {resource} {kind}: {err}") from None
        return result.replicas, name, MetricStatus(
            type="Resource", resource=ResourceMetricStatus(name=resource, current=current_value))
