"""EnsureImageExists: the pull policy, pull secrets, ImagePullBackOff and the pull events.

- The policy is the container's `imagePullPolicy`, defaulted as the API server does:
  `Always` for an image without a tag or tagged `:latest` (and no digest), else
  `IfNotPresent`. `Never` with the image absent is `ErrImageNeverPull`.
- Credentials come from the pod's `imagePullSecrets` (pull_secrets.Keyring); with
  credentials for the image's registry each is tried in turn until one pull works,
  without any the pull is anonymous. A secret that cannot be read is an event
  (`FailedToRetrieveImagePullSecret`) and the pull goes on without it.
- A failed pull is `ErrImagePull` with the registry's message (through the engine),
  and starts a per image-and-pod backoff (10 s doubling to 5 min): while it lasts the
  container waits in `ImagePullBackOff` and nothing is pulled.
- Events carry upstream's reasons and messages: Pulling, Pulled (with the time taken
  and the image's size, or "already present on machine"), Failed, BackOff,
  ErrImageNeverPull.

Kubernetes counterpart: pkg/kubelet/images/image_manager.go (EnsureImageExists),
pkg/kubelet/kuberuntime/kuberuntime_image.go (PullImage with the keyring),
pkg/kubelet/kubelet_pods.go (getPullSecretsForPod)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from kubelet.backoff import Backoff
from kubelet.kuberuntime.env import ObjectGetter
from kubelet.kuberuntime.pull_secrets import Keyring
from kubelet.runtime import AuthConfig, Image, RuntimeServiceError
from tinykube.api.core import Container, Pod, Secret
from tinykube.client.clock import Clock
from tinykube.client.errors import APIStatusError

log = logging.getLogger(__name__)


class ImageRuntime(Protocol):
    async def pull_image(self, image: str, auth: AuthConfig | None = None) -> str: ...

    async def image_status(self, image: str) -> Image | None: ...


Recorder = Callable[[Pod, str, str, str], None]  # (pod, type, reason, message)


def pull_policy(container: Container) -> str:
    if container.image_pull_policy:
        return container.image_pull_policy
    image = container.image or ""
    tag = image.rsplit("/", 1)[-1].partition("@")[0].partition(":")[2]
    return "Always" if tag in ("", "latest") and "@" not in image else "IfNotPresent"


def _duration(seconds: float) -> str:
    """Go's time.Duration rounded to milliseconds, as the Pulled event prints it."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    return (f"{int(minutes)}m" if minutes else "") + f"{rest:.3f}".rstrip("0").rstrip(".") + "s"


class ImageManager:
    def __init__(self, runtime: ImageRuntime, client: ObjectGetter, backoff: Backoff, clock: Clock,
                 record: Recorder) -> None:
        self.runtime, self.client, self.backoff, self.clock, self.record = runtime, client, backoff, clock, record

    async def pull_secrets(self, pod: Pod) -> list[Secret]:
        """The pod's pull secrets that can be read; the others are named in one event."""
        names = [ref.name for ref in (pod.spec.image_pull_secrets or []) if ref.name] if pod.spec else []
        found, missing = [], []
        for name in names:
            try:
                found.append(await self.client.get_object(Secret, name, pod.metadata.namespace))
            except APIStatusError as err:
                log.info("pull secret unavailable pod=%s/%s secret=%s error=%s",
                         pod.metadata.namespace, pod.metadata.name, name, err)
                missing.append(f'"{pod.metadata.namespace}/{name}"')
        if missing:
            self.record(pod, "Warning", "FailedToRetrieveImagePullSecret",
                        f"Unable to retrieve some image pull secrets ({', '.join(missing)}); "
                        "attempting to pull the image may not succeed.")
        return found

    async def pull(self, image: str, pod: Pod) -> None:
        """One pull with each matching credential in turn (or none); the errors joined."""
        credentials: list[AuthConfig | None] = list(Keyring(await self.pull_secrets(pod)).lookup(image))
        errors = []
        for auth in credentials or [None]:
            try:
                await self.runtime.pull_image(image, auth)
                return
            except RuntimeServiceError as err:
                errors.append(str(err))
        raise RuntimeServiceError(errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]")

    async def ensure_image_exists(self, pod: Pod, container: Container) -> tuple[str, str, float | None] | None:
        """None when the image is there (pulled now if need be), else (reason, message,
        seconds until the next pull may be tried)."""
        image, policy = container.image or "", pull_policy(container)
        if not image:
            return "InvalidImageName", "the container has no image", None
        present = await self.runtime.image_status(image) is not None
        if present and policy != "Always":
            self.record(pod, "Normal", "Pulled", f'Container image "{image}" already present on machine')
            return None
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            self.record(pod, "Warning", "ErrImageNeverPull", message)
            return "ErrImageNeverPull", message, None
        key = f"{image}/{pod.metadata.uid}"
        if self.backoff.is_in_backoff_since_update(key):
            message = f'Back-off pulling image "{image}"'
            self.record(pod, "Normal", "BackOff", message)
            return "ImagePullBackOff", message, max(0.0, self.backoff.get(key) / 2)
        self.record(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        started = time.monotonic()
        try:
            await self.pull(image, pod)
        except RuntimeServiceError as err:
            retry = self.backoff.next(key, self.clock.wall())
            message = f'Failed to pull image "{image}": {err}'
            self.record(pod, "Warning", "Failed", message)
            return "ErrImagePull", message, retry
        self.backoff.reset(key)
        took = _duration(time.monotonic() - started)
        pulled = await self.runtime.image_status(image)
        size = pulled.size_bytes if pulled is not None else 0
        self.record(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" in {took} '
                                             f"({took} including waiting). Image size: {size} bytes.")
        return None
