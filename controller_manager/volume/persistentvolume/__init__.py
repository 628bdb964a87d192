"""The PersistentVolume controller (`--controllers` name `persistentvolume-binder`).

Kubernetes counterpart: pkg/controller/volume/persistentvolume/
"""

from controller_manager.volume.persistentvolume.pv_controller import PersistentVolumeController

__all__ = ["PersistentVolumeController"]
