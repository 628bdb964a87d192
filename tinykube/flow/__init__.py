"""The flow log's wire format, shared by the API server's endpoint and `tinykube trace`.

Kubernetes counterpart: none (tinykube's flow.tinykube.io API group)
"""
