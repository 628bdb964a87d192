"""apiextensions.k8s.io: CustomResourceDefinitions and their structural schemas.

`structural` holds the pure schema library (check a CRD's openAPIV3Schema, validate,
prune and default custom resources against it); `cel` evaluates the
`x-kubernetes-validations` rules. Neither does I/O.

Kubernetes counterpart: staging/src/k8s.io/apiextensions-apiserver
"""
