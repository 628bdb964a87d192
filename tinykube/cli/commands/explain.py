"""`tinykube explain deploy.spec.replicas`: field documentation from the server's schema.

The first word names the resource; the rest is a path of fields. The schema is
the API server's OpenAPI v3 document for the resource's group-version (the same
one `kubectl explain` reads); `$ref`s and single `allOf` wrappers are followed and
array items are stepped through, so `explain pod.spec.containers.ports` works.
`--recursive` prints the field tree below the path instead of descriptions.

Kubernetes counterpart: staging/src/k8s.io/kubectl/pkg/explain/v2/explain.go
"""

from __future__ import annotations

import textwrap
from typing import Any

from tinykube.cli.commands.apply import SchemaCache
from tinykube.cli.context import CLIContext, CLIError

Obj = dict[str, Any]
MAX_DEPTH = 15


class Schemas:
    def __init__(self, components: dict[str, Obj]) -> None:
        self.components = components

    def resolve(self, schema: Obj) -> Obj:
        for _ in range(10):
            if "$ref" in schema:
                schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
            elif len(schema.get("allOf") or []) == 1 and "properties" not in schema:
                schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
            else:
                break
        return schema

    def type_name(self, schema: Obj) -> str:
        if schema.get("x-kubernetes-int-or-string"):
            return "IntOrString"
        ref = schema.get("$ref") or next((s.get("$ref") for s in schema.get("allOf") or [] if "$ref" in s), None)
        if ref:
            name = ref.rsplit(".", 1)[-1]
            target = self.components.get(ref.rsplit("/", 1)[-1], {})
            if target.get("properties") or name in ("Quantity", "IntOrString"):
                return name
            return str(target.get("type") or name)
        kind = schema.get("type")
        if kind == "array":
            return "[]" + self.type_name(schema.get("items") or {})
        if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            return "map[string]" + self.type_name(schema["additionalProperties"])
        return str(kind or "Object")

    def child(self, schema: Obj, name: str) -> Obj | None:
        resolved = self.resolve(schema)
        while resolved.get("type") == "array" and resolved.get("items"):
            resolved = self.resolve(resolved["items"])
        return (resolved.get("properties") or {}).get(name)

    def fields(self, schema: Obj) -> tuple[dict[str, Obj], set[str]]:
        resolved = self.resolve(schema)
        while resolved.get("type") == "array" and resolved.get("items"):
            resolved = self.resolve(resolved["items"])
        return resolved.get("properties") or {}, set(resolved.get("required") or [])


def wrap(text: str, indent: int) -> str:
    lines = []
    for paragraph in text.splitlines() or [""]:
        lines.append(textwrap.fill(paragraph, width=80, initial_indent=" " * indent,
                                   subsequent_indent=" " * indent) or " " * indent)
    return "\n".join(lines)


def describe_fields(schemas: Schemas, schema: Obj, recursive: bool, depth: int = 1) -> list[str]:
    fields, required = schemas.fields(schema)
    lines = []
    for name in sorted(fields):
        prop = fields[name]
        marker = " -required-" if name in required else ""
        lines.append(f"{'  ' * depth}{name}\t<{schemas.type_name(prop)}>{marker}")
        if recursive:
            if depth < MAX_DEPTH:
                lines.extend(describe_fields(schemas, prop, True, depth + 1))
        else:
            description = prop.get("description") or schemas.resolve(prop).get("description") or ""
            lines.append(wrap(description, 4))
            lines.append("")
    return lines


async def run(ctx: CLIContext) -> int:
    resource, *path = ctx.args.field.split(".")
    info = ctx.resource(resource)
    async with ctx.client() as client:
        cache = SchemaCache(client)
        document = await cache.document(info)
    if not document:
        raise CLIError(f"couldn't find resource for \"{info.group_resource}\"")
    schemas = Schemas((document.get("components") or {}).get("schemas") or {})
    root = next((s for s in schemas.components.values()
                 if any((g.get("group", ""), g.get("version"), g.get("kind")) ==
                        (info.group, info.version, info.kind)
                        for g in s.get("x-kubernetes-group-version-kind") or [])), None)
    if root is None:
        raise CLIError(f"couldn't find resource for \"{info.group_resource}\"")
    schema: Obj = root
    for name in path:
        found = schemas.child(schema, name)
        if found is None:
            raise CLIError(f'field "{name}" does not exist')
        schema = found
    out = []
    if info.group:
        out.append(f"GROUP:      {info.group}")
    out += [f"KIND:       {info.kind}", f"VERSION:    {info.version}", ""]
    if path:
        out += [f"FIELD: {path[-1]} <{schemas.type_name(schema)}>", "", ""]
    description = " ".join(filter(None, [schema.get("description"),
                                         schemas.resolve(schema).get("description")
                                         if schemas.resolve(schema) is not schema else None]))
    out += ["DESCRIPTION:", wrap(description or "<empty>", 4), "    "]
    fields, _ = schemas.fields(schema)
    if fields:
        out.append("FIELDS:")
        out += describe_fields(schemas, schema, ctx.args.recursive)
    ctx.out.write("\n".join(out) + "\n")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("explain", help="get documentation for a resource or field",
                                   description="Show a field's documentation from the server's "
                                   "OpenAPI schema, e.g. `explain deploy.spec.replicas`.")
    parser.add_argument("field", metavar="RESOURCE[.FIELD...]")
    parser.add_argument("--recursive", action="store_true", help="print all fields below, no descriptions")
    parser.set_defaults(func=run)
