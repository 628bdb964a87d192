"""The kubelet's own certificates, obtained through CertificateSigningRequests.

- `bootstrap`: the client certificate (TLS bootstrap from `--bootstrap-kubeconfig`);
- `serving`: the kubelet API's serving certificate (`--rotate-server-certificates`);
- `csr`: posting a request and waiting for the issued certificate.

Kubernetes counterpart: pkg/kubelet/certificate/
"""
