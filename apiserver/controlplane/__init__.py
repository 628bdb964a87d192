"""Loops the API server runs on itself: the `kubernetes` Service and its endpoints.

Kubernetes counterpart: pkg/controlplane/controller/, pkg/controlplane/reconcilers/
"""
