"""Client machinery shared by every component: config, REST, informers, workqueue, leases.

Read in this order: `config` (where the server is), `errors` (Status → exceptions),
`rest` (verbs and watch), `cache` + `informer` (list, watch, local cache, handlers),
`workqueue` (keys to workers, retries), `expectations` (do not act twice),
`leaderelection` (one active replica), `events` (what a controller tells people).
`clock` is the seam that lets tests move time instead of sleeping.

Kubernetes counterpart: staging/src/k8s.io/client-go
"""

from __future__ import annotations

from tinykube.client.cache import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    OWNER_UID_INDEX,
    Indexer,
    Store,
    meta_namespace_key,
)
from tinykube.client.clock import REAL_CLOCK, Clock, FakeClock, RealClock
from tinykube.client.config import ClientConfig, ConfigError, in_cluster_config, load_kubeconfig
from tinykube.client.errors import (
    AlreadyExists,
    APIStatusError,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    TooManyRequests,
    TransportError,
    Unauthorized,
    error_from_response,
    error_from_status,
)
from tinykube.client.events import EventRecorder, EventType
from tinykube.client.expectations import ControllerExpectations
from tinykube.client.factory import SharedInformerFactory
from tinykube.client.informer import Reflector, SharedInformer
from tinykube.client.leaderelection import LeaderElector
from tinykube.client.rest import PatchType, RESTClient, WatchEvent
from tinykube.client.workqueue import (
    RateLimitingQueue,
    default_controller_rate_limiter,
    run_workers,
)

__all__ = [
    "NAMESPACE_INDEX", "NODE_NAME_INDEX", "OWNER_UID_INDEX", "REAL_CLOCK",
    "APIStatusError", "AlreadyExists", "BadRequest", "ClientConfig", "ClientError", "Clock", "ConfigError",
    "Conflict", "ControllerExpectations", "EventRecorder", "EventType", "FakeClock", "Forbidden",
    "Gone", "Indexer", "Invalid", "LeaderElector", "NotFound", "PatchType", "RESTClient",
    "RateLimitingQueue", "RealClock", "Reflector", "ServerError", "SharedInformer",
    "SharedInformerFactory", "Store",
    "TooManyRequests", "TransportError", "Unauthorized", "WatchEvent", "default_controller_rate_limiter",
    "error_from_response", "error_from_status", "in_cluster_config", "load_kubeconfig",
    "meta_namespace_key", "run_workers",
]
