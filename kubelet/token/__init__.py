"""The kubelet's ServiceAccount tokens (TokenRequest, cached, refreshed before expiry).

Kubernetes counterpart: pkg/kubelet/token
"""

from kubelet.token.manager import TokenManager

__all__ = ["TokenManager"]
