"""Volume controllers: the PersistentVolume binder and its host-path provisioner.

Kubernetes counterpart: pkg/controller/volume/
"""
