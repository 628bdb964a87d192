"""The ServiceAccounts controller: a `default` ServiceAccount in every namespace.

A namespace is synced when it appears or changes, and again when one of its
managed accounts is deleted, so a deleted `default` comes back. The sync is
level-triggered: for an active namespace, create each managed account the cache
does not hold (AlreadyExists means the cache was behind: fine). A terminating
namespace is left alone (creating into it is refused anyway).

Kubernetes counterpart: pkg/controller/serviceaccount/serviceaccounts_controller.go
"""

from __future__ import annotations

import logging
from typing import Any

from controller_manager.controller_utils import Controller
from tinykube.api.core import Namespace, ServiceAccount
from tinykube.api.meta import ObjectMeta
from tinykube.api.resources import NAMESPACES, SERVICE_ACCOUNTS
from tinykube.client import (
    REAL_CLOCK, AlreadyExists, Clock, EventRecorder, Forbidden, NotFound, RESTClient,
    SharedInformerFactory,
)

log = logging.getLogger(__name__)

MANAGED_NAMES = ("default",)


class ServiceAccountsController(Controller):
    """Guarantees: every active namespace gets each of `MANAGED_NAMES`; nothing else
    is created or changed (an account's content is the user's)."""

    name = "serviceaccount"

    def __init__(self, client: RESTClient, factory: SharedInformerFactory, recorder: EventRecorder,
                 *, clock: Clock = REAL_CLOCK, **options: Any) -> None:
        super().__init__(client, recorder, self.sync_namespace, clock=clock)
        self.namespace_informer = factory.informer_for(NAMESPACES)
        self.account_informer = factory.informer_for(SERVICE_ACCOUNTS)
        self.namespace_informer.add_event_handler(self.enqueue, lambda old, cur: self.enqueue(cur),
                                                  None)
        self.account_informer.add_event_handler(None, None, self.service_account_deleted)

    def service_account_deleted(self, account: ServiceAccount) -> None:
        if account.metadata.name in MANAGED_NAMES and account.metadata.namespace:
            self.queue.add(account.metadata.namespace)

    async def sync_namespace(self, key: str) -> None:
        namespace: Namespace | None = self.namespace_informer.indexer.get(key)
        if namespace is None or namespace.metadata.deletion_timestamp is not None:
            return
        if namespace.status is not None and namespace.status.phase == "Terminating":
            return
        for name in MANAGED_NAMES:
            if self.account_informer.indexer.get(f"{key}/{name}") is not None:
                continue
            account = ServiceAccount(metadata=ObjectMeta(name=name, namespace=key))
            try:
                await self.client.create_object(account)
                log.info("created service account namespace=%s name=%s", key, name)
            except AlreadyExists:
                pass  # the cache had not seen it yet
            except (NotFound, Forbidden):
                pass  # the namespace went away or is terminating: nothing to do
