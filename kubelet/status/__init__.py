"""Pod status: generating it from the engine's view (`generate`) and writing it (`status_manager`).

Kubernetes counterpart: pkg/kubelet/status
"""
