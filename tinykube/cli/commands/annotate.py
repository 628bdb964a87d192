"""`tinykube annotate TYPE NAME key=value key- ...`: `label`'s twin for annotations.

Annotation values may be any string (labels are restricted); everything else,
`--overwrite`, `-l`, `--all`, the merge patch, is shared with `label`.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/cmd/annotate/annotate.go
"""

from __future__ import annotations

import argparse

from tinykube.cli.commands.label import add_parser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_parser(subparsers, "annotate", "update the annotations on a resource")
