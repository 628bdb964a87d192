"""A small operator for WebApp custom resources, written with kopf and lightkube.

Run it against a cluster (the compose cluster, or any API server) with

    kubectl apply -f examples/operator/crd.yaml
    KUBECONFIG=$PWD/kubeconfig kopf run --standalone examples/operator/webapp_operator.py
    kubectl apply -f examples/operator/webapp.yaml

For each WebApp it keeps a Deployment and a Service of the same name (owned by the
WebApp, so the garbage collector would clean up too), writes `status.phase` and
`status.replicas`, and on delete removes both before kopf lets its finalizer go.

kopf (https://kopf.readthedocs.io) drives the handlers; lightkube is the API client.
"""

from __future__ import annotations

from typing import Any

import kopf
from lightkube import AsyncClient
from lightkube.codecs import from_dict
from lightkube.core.exceptions import ApiError
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

GROUP, VERSION, PLURAL = "demo.tinykube.dev", "v1", "webapps"
MANAGER = "webapp-operator"


def children(name: str, namespace: str, spec: dict[str, Any], owner: dict[str, Any]) -> list[dict[str, Any]]:
    """The Deployment and Service a WebApp wants, as manifests."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": MANAGER}
    meta = {"name": name, "namespace": namespace, "labels": labels, "ownerReferences": [owner]}
    port = spec.get("port", 80)
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {"replicas": spec.get("replicas", 1), "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                     "name": "web", "image": spec["image"], "imagePullPolicy": "IfNotPresent",
                     "ports": [{"containerPort": port}]}]}}},
    }
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": {"selector": labels, "ports": [{"port": port, "targetPort": port}]},
    }
    return [deployment, service]


def owner_reference(body: kopf.Body) -> dict[str, Any]:
    return {"apiVersion": body["apiVersion"], "kind": body["kind"], "name": body.metadata.name,
            "uid": body.metadata.uid, "controller": True, "blockOwnerDeletion": True}


@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.on.resume(GROUP, VERSION, PLURAL)
async def reconcile(spec: kopf.Spec, name: str, namespace: str, body: kopf.Body,
                    patch: kopf.Patch, logger: kopf.Logger, **_: Any) -> None:
    """Server-side apply the children (idempotent), then report in status."""
    async with AsyncClient(field_manager=MANAGER) as client:
        for manifest in children(name, namespace, dict(spec), owner_reference(body)):
            await client.apply(from_dict(manifest), namespace=namespace, force=True)
    patch.status["phase"] = "Deployed"
    patch.status["replicas"] = spec.get("replicas", 1)
    logger.info("applied Deployment and Service for %s", name)


@kopf.on.delete(GROUP, VERSION, PLURAL)
async def clean_up(name: str, namespace: str, logger: kopf.Logger, **_: Any) -> None:
    """Delete the children now, rather than leaving them to garbage collection."""
    async with AsyncClient() as client:
        for resource in (Deployment, Service):
            try:
                await client.delete(resource, name, namespace=namespace)
            except ApiError as err:
                if err.status.code != 404:
                    raise
    logger.info("deleted Deployment and Service of %s", name)
