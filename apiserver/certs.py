"""`python -m apiserver.certs`: make the API server's CA and serving certificate only.

What the API server does on its first start (`ensure_serving_certificate` in
`--cert-dir`), as a step of its own, so a cluster with several API servers on one
configuration volume (the HA compose topology) makes them once, before any server
starts, with every member's name in `--tls-sans`.

    python -m apiserver.certs --cert-dir /etc/tinykube/pki --tls-sans apiserver,cp-1,cp-2,cp-3

Kubernetes counterpart: cmd/kubeadm/app/cmd/phases/init/certs.go (`kubeadm init phase certs`)
"""

from __future__ import annotations

import argparse
import sys

from apiserver.auth import ensure_serving_certificate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apiserver.certs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cert-dir", required=True)
    parser.add_argument("--tls-sans", default="", help="extra names/IPs for the serving certificate")
    args = parser.parse_args(argv)
    made = ensure_serving_certificate(args.cert_dir, [s for s in args.tls_sans.split(",") if s])
    print(f"{made.ca_file} {made.cert_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
