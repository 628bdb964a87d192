"""The create-only review groups the API server serves (see apiserver/reviews.py).

Kubernetes counterpart: pkg/controlplane/instance.go (the authentication and
authorization REST storage providers)
"""

from __future__ import annotations

from apiserver.auth_reviews import AUTHENTICATION_REVIEWS
from apiserver.authorization.reviews import AUTHORIZATION_REVIEWS
from apiserver.reviews import ReviewGroup

REVIEW_GROUPS: tuple[ReviewGroup, ...] = (AUTHENTICATION_REVIEWS, AUTHORIZATION_REVIEWS)
