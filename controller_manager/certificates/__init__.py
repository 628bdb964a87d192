"""Certificate controllers: csrapproving (kubelets' own requests) and csrsigning (the cluster CA).

Kubernetes counterpart: pkg/controller/certificates/
"""

from controller_manager.certificates.approver import CSRApprovingController
from controller_manager.certificates.signer import CSRSigningController

__all__ = ["CSRApprovingController", "CSRSigningController"]
