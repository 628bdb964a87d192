"""Liveness, readiness and startup probes.

- `probers`: run one probe (httpGet, tcpSocket, exec) and say Success or Failure.
- `manager`: one worker per (container, probe kind) that probes on its period and
  keeps the thresholded result; a change wakes the pod's sync.

Kubernetes counterpart: pkg/kubelet/prober/
"""
