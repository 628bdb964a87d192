"""The web dashboard add-on: the cluster drawn live in a browser (`python -m dashboard`)."""
