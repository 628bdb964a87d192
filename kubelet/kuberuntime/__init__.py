"""The kubelet's container manager: turn a pod spec into runtime calls.

- `types`: the runtime's view of one pod (sandboxes and containers, newest first),
  rebuilt from the engine's labels on every sync.
- `actions`: `compute_pod_actions(pod, pod_status)`, a pure function deciding what
  to create, start and kill.
- `env` and `container_config`: a container spec → `ContainerConfig`.
- `lifecycle`: postStart/preStop hooks.
- `manager`: `KubeRuntimeManager` carries out the actions (images, backoff,
  graceful kills).

Kubernetes counterpart: pkg/kubelet/kuberuntime/
"""
