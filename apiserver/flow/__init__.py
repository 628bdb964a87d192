"""The flow log: what the API server wrote and which watchers it delivered to.

`log.FlowLog` is the bounded ring; `storage.FlowStorage` feeds it from the write
path, `apiserver.watchserver` from the watch fan-out; `routes` serves it as
`/apis/flow.tinykube.io/v1alpha1/flowrecords` (list and watch); `summary` turns
an object's before/after facts into "replicas 1→2".

Kubernetes counterpart: none (tinykube's own API group; the closest upstream
pieces are the audit log, staging/src/k8s.io/apiserver/pkg/audit, and watch
metrics)
"""
