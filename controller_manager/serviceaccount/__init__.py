"""ServiceAccount controllers: the `default` account and the root CA ConfigMap in every
namespace.

Kubernetes counterpart: pkg/controller/serviceaccount, pkg/controller/certificates/rootcacertpublisher
"""

from controller_manager.serviceaccount.rootcacert import RootCACertPublisher
from controller_manager.serviceaccount.serviceaccounts import ServiceAccountsController

__all__ = ["RootCACertPublisher", "ServiceAccountsController"]
