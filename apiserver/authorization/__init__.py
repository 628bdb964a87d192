"""Authorization: who may do what, decided once per request before any handler runs.

- `attributes.py` turns a request into Kubernetes' authorizer attributes (user,
  verb, API group, resource, subresource, namespace, name; or a non-resource path);
- `authorizer.py` is the contract (allow, deny, no opinion) and the chain built from
  `--authorization-mode`, asked in order until one decides;
- `filter.py` is the step of the request chain that asks, and answers 403 with
  kube-apiserver's message when nobody allows.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/authorization,
staging/src/k8s.io/apiserver/pkg/endpoints/filters/authorization.go
"""
