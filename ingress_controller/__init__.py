"""The Ingress controller add-on: HTTP(S) routing by host and path to Services."""
