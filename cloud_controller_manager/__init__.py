"""The cloud controller manager: what a cloud adds to a cluster (here, load balancers)."""
