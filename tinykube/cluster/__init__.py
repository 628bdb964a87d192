"""Bringing clusters up: images, the compose cluster, and lab hosts.

- `images`: every image built offline and incrementally (sample images, the
  tinykube image on a Debian or debootstrap base).
- `engine`: the host's Docker engine (answering, or started by us).
- `bootstrap`: a control plane's tokens and kubeconfigs.
- `compose`: the one-command cluster (`tinykube up|down|status|load-image|node`).
- `lab`: the same components on separate hosts (`tinykube init|join`).

Kubernetes counterpart: kind (sigs.k8s.io/kind), kubeadm (cmd/kubeadm)
"""
