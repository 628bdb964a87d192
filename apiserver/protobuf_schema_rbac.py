"""Protobuf field tables for rbac.authorization.k8s.io/v1 and the review kinds.

kubectl's typed clients send these as protobuf: `kubectl create role`,
`create clusterrole`, `create rolebinding`, `create clusterrolebinding`, and the
reviews behind `kubectl auth can-i` (SelfSubjectAccessReview,
SelfSubjectRulesReview) and `kubectl auth whoami` (SelfSubjectReview). Same table
syntax as apiserver/protobuf_schema.py, which merges these. The `extra` maps of
user info (map<string, ExtraValue>) are not listed, so a body carrying them is
refused with a message naming the field.

Kubernetes counterpart: staging/src/k8s.io/api/{rbac,authorization,authentication}/v1/generated.proto
"""

from __future__ import annotations

RBAC_MESSAGES: dict[str, str] = {
    "PolicyRule": ("1 verbs:[str], 2 apiGroups:[str], 3 resources:[str], 4 resourceNames:[str], "
                   "5 nonResourceURLs:[str]"),
    "AggregationRule": "1 clusterRoleSelectors:[LabelSelector]",
    "Role": "1 metadata:ObjectMeta, 2 rules:[PolicyRule]",
    "ClusterRole": "1 metadata:ObjectMeta, 2 rules:[PolicyRule], 3 aggregationRule:AggregationRule",
    "Subject": "1 kind, 2 apiGroup, 3 name, 4 namespace",
    "RoleRef": "1 apiGroup, 2 kind, 3 name",
    "RoleBinding": "1 metadata:ObjectMeta, 2 subjects:[Subject], 3 roleRef:RoleRef",
    # authorization.k8s.io/v1
    "ResourceAttributes": (
        "1 namespace, 2 verb, 3 group, 4 version, 5 resource, 6 subresource, 7 name, "
        "8 fieldSelector:FieldSelectorAttributes, 9 labelSelector:LabelSelectorAttributes"),
    "FieldSelectorAttributes": "1 rawSelector, 2 requirements:[LabelSelectorRequirement]",
    "LabelSelectorAttributes": "1 rawSelector, 2 requirements:[LabelSelectorRequirement]",
    "NonResourceAttributes": "1 path, 2 verb",
    "SelfSubjectAccessReviewSpec": (
        "1 resourceAttributes:ResourceAttributes, 2 nonResourceAttributes:NonResourceAttributes"),
    "SubjectAccessReviewSpec": (
        "1 resourceAttributes:ResourceAttributes, 2 nonResourceAttributes:NonResourceAttributes, "
        "3 user, 4 groups:[str], 6 uid"),
    "SubjectAccessReviewStatus": "1 allowed:bool, 2 reason, 3 evaluationError, 4 denied:bool",
    "SelfSubjectAccessReview": (
        "1 metadata:ObjectMeta, 2 spec:SelfSubjectAccessReviewSpec, "
        "3 status:SubjectAccessReviewStatus"),
    "SubjectAccessReview": (
        "1 metadata:ObjectMeta, 2 spec:SubjectAccessReviewSpec, 3 status:SubjectAccessReviewStatus"),
    "SelfSubjectRulesReviewSpec": "1 namespace",
    "ResourceRule": "1 verbs:[str], 2 apiGroups:[str], 3 resources:[str], 4 resourceNames:[str]",
    "NonResourceRule": "1 verbs:[str], 2 nonResourceURLs:[str]",
    "SubjectRulesReviewStatus": (
        "1 resourceRules:[ResourceRule], 2 nonResourceRules:[NonResourceRule], "
        "3 incomplete:bool, 4 evaluationError"),
    "SelfSubjectRulesReview": (
        "1 metadata:ObjectMeta, 2 spec:SelfSubjectRulesReviewSpec, 3 status:SubjectRulesReviewStatus"),
    # authentication.k8s.io/v1
    "UserInfo": "1 username, 2 uid, 3 groups:[str]",
    "SelfSubjectReviewStatus": "1 userInfo:UserInfo",
    "SelfSubjectReview": "1 metadata:ObjectMeta, 2 status:SelfSubjectReviewStatus",
    "TokenReviewSpec": "1 token, 2 audiences:[str]",
    "TokenReviewStatus": "1 authenticated:bool, 2 user:UserInfo, 3 error, 4 audiences:[str]",
    "TokenReview": "1 metadata:ObjectMeta, 2 spec:TokenReviewSpec, 3 status:TokenReviewStatus",
}

RBAC_ROOT_MESSAGES: dict[tuple[str, str], str] = {
    ("rbac.authorization.k8s.io/v1", "Role"): "Role",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "ClusterRole",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "SubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenReview"): "TokenReview",
}
