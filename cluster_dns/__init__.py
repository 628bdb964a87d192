"""Cluster DNS, the add-on that gives Services and pods names (`python -m cluster_dns`)."""
