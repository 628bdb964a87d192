"""Reading manifests: multi-document YAML, JSON, Lists, directories, errors with lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tinykube.cli.manifests import ManifestError, parse_documents, read_manifests


def test_multi_document_yaml_skips_empty_documents_and_keeps_dates_as_strings() -> None:
    text = ("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {day: 2024-01-01}\n"
            "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    objects = parse_documents(text, "x.yaml")
    assert [o["metadata"]["name"] for o in objects] == ["a", "b"]
    assert objects[0]["data"]["day"] == "2024-01-01"


def test_json_and_lists_are_unpacked() -> None:
    text = ('{"apiVersion": "v1", "kind": "List", "items": ['
            '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]}')
    assert [o["metadata"]["name"] for o in parse_documents(text, "x.json")] == ["a"]


@pytest.mark.parametrize(("text", "message"), [
    ("kind: ConfigMap\nmetadata:\n  name: x\n  labels: a: b\n",
     "error parsing f.yaml: error converting YAML to JSON: yaml: line 4: "
     "mapping values are not allowed in this context"),
    ("apiVersion: v1\nmetadata: {name: x}\n", "error validating data: kind not set in f.yaml"),
    ("kind: ConfigMap\nmetadata: {name: x}\n", "error validating data: apiVersion not set in f.yaml"),
    ("- a\n- b\n", "error parsing f.yaml: expected an object, got list"),
])
def test_errors_name_the_file(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse_documents(text, "f.yaml")
    assert str(err.value) == message


def test_directories_recursion_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "notes.txt").write_text("not a manifest")
    (tmp_path / "sub" / "b.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    flat = [m.obj["metadata"]["name"] for m in read_manifests([str(tmp_path)])]
    deep = [m.obj["metadata"]["name"] for m in read_manifests([str(tmp_path)], recursive=True)]
    assert (flat, deep) == (["a"], ["a", "b"])
    piped = list(read_manifests(["-"], stdin=io.StringIO(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n")))
    assert [(m.source, m.obj["kind"]) for m in piped] == [("STDIN", "Namespace")]
    with pytest.raises(ManifestError, match='the path "nope.yaml" does not exist'):
        list(read_manifests(["nope.yaml"]))
