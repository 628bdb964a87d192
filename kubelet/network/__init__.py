"""The node's side of the pod network (`--network-plugin=host-gw`): routes and
packet-filter rules that let pods on different nodes reach each other by pod IP.
The pod bridge itself belongs to the runtime (kubelet.runtime.docker)."""
