"""The Job controller: pods run to completion, counted once through a finalizer.

Read `util` (conditions, indexes, pod failure policy, backoff), then `controller`
(the sync), `tracking` (counting finished pods exactly once) and `pods` (creates
and deletes).

Kubernetes counterpart: pkg/controller/job
"""

from controller_manager.job.controller import JobController

__all__ = ["JobController"]
