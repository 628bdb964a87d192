"""Pod volumes on the node: directories under `<root-dir>/pods/<uid>/volumes/`.

- `atomic_writer`: configMap/secret/downwardAPI files swapped in atomically.
- `plugins`: one setup function per volume kind (emptyDir, hostPath, configMap,
  secret, downwardAPI, projected, persistentVolumeClaim).
- `manager`: `VolumeManager` sets up every volume of a pod before its containers
  start, refreshes the projected files on every sync and removes the pod's
  directory when the pod is gone.

Kubernetes counterpart: pkg/kubelet/volumemanager/, pkg/volume/
"""
