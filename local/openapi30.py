"""OpenAPI 3.1 as Powertools writes it → OpenAPI 3.0.3, the version Swagger Editor 4, API Gateway's
import and most client generators read.

Each 3.1 construct gets its exact 3.0 spelling; a construct with none raises instead of being
dropped, so the 3.0 document never says less than the models do. The maintained converters
do not do the whole job (`@apiture/openapi-down-convert` leaves `type: 'null'` branches
and numeric `exclusiveMinimum`; `openapi-downgrade` keeps only the first example and rewrites
every "true"/"false" string in the document, examples included), hence this module.

Mappings:
- ``anyOf``/``oneOf`` with a ``{type: 'null'}`` branch → the other branch merged into its parent
  with ``nullable: true`` (several branches: the first typed one carries ``nullable: true``); a
  nullable ``enum`` lists ``null`` too, as OpenAPI 3.0.3 requires. In a parameter's or header's
  schema the null branch is dropped: a query string, header or path segment cannot carry JSON
  null, and leaving the parameter out already says "none";
- ``const: v`` → ``enum: [v]``; numeric ``exclusiveMinimum: n`` → ``minimum: n`` +
  ``exclusiveMinimum: true`` (and the same for the maximum);
- ``examples: [a, …]`` in a schema → ``example: a``, and ``x-examples`` with the whole list when
  there are several;
- ``propertyNames`` with only an ``enum`` → one property per allowed key (the exact equivalent);
  any other ``propertyNames`` → ``x-propertyNames``, unchanged, and a sentence in ``description``
  (3.0 has no way to constrain keys, so tools show the rule but do not enforce it);
- ``$ref`` with sibling keywords → ``allOf: [{$ref}]`` beside them (3.0 ignores ``$ref``'s siblings);
  a nullable ``$ref`` (``anyOf [{$ref}, null]``) → ``allOf: [{$ref}]`` with ``nullable: true`` and the
  referenced schema's ``type``.
"""

from collections.abc import Callable
from typing import Any

VERSION = "3.0.3"
#: The keywords a 3.0.3 Schema Object has (besides ``x-`` extensions).
SCHEMA_KEYWORDS_30 = frozenset(
    {
        "$ref", "title", "description", "type", "format", "default", "nullable", "enum", "example",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems",
        "maxProperties", "minProperties", "required", "properties", "additionalProperties", "items",
        "allOf", "oneOf", "anyOf", "not", "discriminator", "readOnly", "writeOnly", "xml",
        "externalDocs", "deprecated",
    }
)  # fmt: skip
#: Document-level 3.1 additions that 3.0 has nowhere to put.
ONLY_IN_31 = ("webhooks", "jsonSchemaDialect")
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
NULL = {"type": "null"}


class NoOpenAPI30Form(ValueError):
    """A 3.1 construct that 3.0.3 cannot say: fix the model rather than lose the constraint."""

    def __init__(self, pointer: str, what: str) -> None:
        super().__init__(f"{pointer or '/'}: {what} has no OpenAPI 3.0 form")


def to_openapi_30(spec: dict[str, Any]) -> dict[str, Any]:
    """A new 3.0.3 document saying what the 3.1 ``spec`` says; ``spec`` is left as it is."""
    for key in ONLY_IN_31:
        if key in spec:
            raise NoOpenAPI30Form(f"/{key}", key)
    if "summary" in spec.get("info", {}) or "identifier" in spec.get("info", {}).get("license", {}):
        raise NoOpenAPI30Form("/info", "info.summary or license.identifier")
    converted = {key: _copy(value) for key, value in spec.items()}
    converted["openapi"] = VERSION
    converted["paths"] = _each(spec.get("paths", {}), _path_item, "/paths")
    if "components" in spec:
        converted["components"] = _components(spec["components"])
    _type_nullable_references(converted, converted.get("components", {}).get("schemas", {}), "")
    return converted


def _type_nullable_references(node: Any, schemas: dict[str, Any], pointer: str) -> None:
    """A nullable ``allOf: [{$ref}]`` takes its referenced schema's ``type``: 3.0.3 lets ``nullable``
    stand only beside a ``type`` (Redocly checks it)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _type_nullable_references(item, schemas, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    if node.get("nullable") is True and "type" not in node and len(node.get("allOf", [])) == 1:
        reference = node["allOf"][0].get("$ref", "")
        target = schemas.get(reference.removeprefix("#/components/schemas/"), {})
        if "type" not in target:
            raise NoOpenAPI30Form(pointer, f"a nullable reference to {reference}, which has no type")
        node["type"] = target["type"]
    for key, value in node.items():
        _type_nullable_references(value, schemas, f"{pointer}/{_escape(key)}")


def _components(components: dict[str, Any]) -> dict[str, Any]:
    if "pathItems" in components:
        raise NoOpenAPI30Form("/components/pathItems", "components.pathItems")
    by_kind: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
        "schemas": convert_schema,
        "parameters": _parameter,
        "headers": _parameter,
        "requestBodies": _with_content,
        "responses": _response,
    }
    converted = {key: _copy(value) for key, value in components.items()}
    for kind, convert in by_kind.items():
        if kind in components:
            converted[kind] = _each(components[kind], convert, f"/components/{kind}")
    return converted


def _path_item(item: dict[str, Any], pointer: str) -> dict[str, Any]:
    converted = _reference_or_copy(item, pointer)
    if "parameters" in item:
        converted["parameters"] = _parameters(item["parameters"], f"{pointer}/parameters")
    for method in HTTP_METHODS & item.keys():
        converted[method] = _operation(item[method], f"{pointer}/{method}")
    return converted


def _operation(operation: dict[str, Any], pointer: str) -> dict[str, Any]:
    if "callbacks" in operation:
        raise NoOpenAPI30Form(f"{pointer}/callbacks", "a callback (not converted here)")
    converted = {key: _copy(value) for key, value in operation.items()}
    if "parameters" in operation:
        converted["parameters"] = _parameters(operation["parameters"], f"{pointer}/parameters")
    if "requestBody" in operation:
        converted["requestBody"] = _with_content(operation["requestBody"], f"{pointer}/requestBody")
    converted["responses"] = _each(operation.get("responses", {}), _response, f"{pointer}/responses")
    return converted


def _parameters(parameters: list[dict[str, Any]], pointer: str) -> list[dict[str, Any]]:
    return [_parameter(parameter, f"{pointer}/{index}") for index, parameter in enumerate(parameters)]


def _parameter(parameter: dict[str, Any], pointer: str) -> dict[str, Any]:
    """A Parameter or a Header Object: a ``schema`` or a ``content`` map."""
    converted = _with_content(parameter, pointer)
    if "schema" in parameter:
        # A query string, header or path segment cannot carry JSON null: leaving the parameter out
        # (`required: false`) is how a client says "none", so the null branch says nothing here.
        converted["schema"] = convert_schema(parameter["schema"], f"{pointer}/schema", null_allowed=False)
    return converted


def _response(response: dict[str, Any], pointer: str) -> dict[str, Any]:
    converted = _with_content(response, pointer)
    if "headers" in response:
        converted["headers"] = _each(response["headers"], _parameter, f"{pointer}/headers")
    return converted


def _with_content(holder: dict[str, Any], pointer: str) -> dict[str, Any]:
    converted = _reference_or_copy(holder, pointer)
    if "content" in holder:
        converted["content"] = _each(holder["content"], _media_type, f"{pointer}/content")
    return converted


def _media_type(media: dict[str, Any], pointer: str) -> dict[str, Any]:
    converted = {key: _copy(value) for key, value in media.items()}
    if "schema" in media:
        converted["schema"] = convert_schema(media["schema"], f"{pointer}/schema")
    return converted


def _reference_or_copy(value: dict[str, Any], pointer: str) -> dict[str, Any]:
    """3.1 lets a Reference Object carry ``summary``/``description``; 3.0 would ignore them."""
    if "$ref" in value and len(value) > 1:
        raise NoOpenAPI30Form(pointer, "a $ref with siblings outside a schema")
    return {key: _copy(item) for key, item in value.items()}


def convert_schema(schema: dict[str, Any], pointer: str, null_allowed: bool = True) -> dict[str, Any]:
    """One Schema Object and everything under it, 3.1 → 3.0.3; ``null_allowed=False`` drops a null
    branch at the top instead of making the schema nullable."""
    converted = {key: _copy(value) for key, value in schema.items()}
    if "properties" in schema:
        converted["properties"] = _each(schema["properties"], convert_schema, f"{pointer}/properties")
    for key in ("additionalProperties", "items", "not", "propertyNames"):
        if isinstance(schema.get(key), dict):
            converted[key] = convert_schema(schema[key], f"{pointer}/{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            converted[key] = [
                sub if sub == NULL else convert_schema(sub, f"{pointer}/{key}/{index}")
                for index, sub in enumerate(schema[key])
            ]
    _constant_as_enum(converted, pointer)
    _exclusive_bounds_as_flags(converted, pointer)
    _examples_as_example(converted)
    _null_branch_as_nullable(converted, pointer, null_allowed)
    _property_names(converted, pointer)
    _ref_siblings_under_all_of(converted)
    unknown = sorted(key for key in converted if key not in SCHEMA_KEYWORDS_30 and not key.startswith("x-"))
    if unknown:
        raise NoOpenAPI30Form(pointer, ", ".join(unknown))
    if isinstance(converted.get("type"), list) or converted.get("type") == "null":
        raise NoOpenAPI30Form(f"{pointer}/type", f"type {converted['type']!r} outside an anyOf/oneOf")
    if NULL in converted.get("allOf", []):
        raise NoOpenAPI30Form(f"{pointer}/allOf", "a null branch in allOf")
    return converted


def _constant_as_enum(schema: dict[str, Any], pointer: str) -> None:
    if "const" in schema:
        if "enum" in schema:
            raise NoOpenAPI30Form(pointer, "const beside enum")
        schema["enum"] = [schema.pop("const")]


def _exclusive_bounds_as_flags(schema: dict[str, Any], pointer: str) -> None:
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        bound = schema.get(exclusive)
        if isinstance(bound, bool) or bound is None:
            continue
        if inclusive in schema:
            raise NoOpenAPI30Form(pointer, f"{exclusive} beside {inclusive}")
        _replace_key(schema, exclusive, {inclusive: bound, exclusive: True})


def _examples_as_example(schema: dict[str, Any]) -> None:
    examples = schema.pop("examples", None)
    if examples:
        schema["example"] = _copy(examples[0])
    if examples and len(examples) > 1:
        schema["x-examples"] = examples


def _null_branch_as_nullable(schema: dict[str, Any], pointer: str, null_allowed: bool) -> None:
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator, [])
        if NULL not in branches:
            continue
        others = [branch for branch in branches if branch != NULL]
        if len(others) == 1 and "$ref" in others[0] and null_allowed:
            # 3.0.3 ignores what stands beside a $ref, nullable included: the usual form wraps the
            # reference in an allOf of one, which can be nullable.
            _replace_key(schema, combinator, {"allOf": [others[0]]})
            _make_nullable(schema)
            return
        if len(others) == 1:
            branch = dict(others[0])
            descriptions = (schema.pop("description", None), branch.pop("description", None))
            clashing = sorted(schema.keys() & branch.keys())
            if clashing:
                raise NoOpenAPI30Form(pointer, f"a nullable {combinator} whose branch repeats {clashing}")
            _replace_key(schema, combinator, branch)
            if any(descriptions):
                schema["description"] = _sentences(*descriptions)
            if null_allowed:
                _make_nullable(schema)
            return
        schema[combinator] = others
        if not null_allowed:
            return
        typed = next((branch for branch in others if "type" in branch), None)
        if typed is None:
            raise NoOpenAPI30Form(pointer, f"{combinator} of only $refs and null")
        _make_nullable(typed)


def _make_nullable(schema: dict[str, Any]) -> None:
    """3.0.3: ``nullable`` adds null to ``type``, but an ``enum`` still has to list it."""
    schema["nullable"] = True
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def _property_names(schema: dict[str, Any], pointer: str) -> None:
    names = schema.pop("propertyNames", None)
    if names is None:
        return
    if names.keys() == {"enum"} and not schema.keys() & {"properties", "patternProperties"}:
        values = schema.get("additionalProperties", {})
        schema["properties"] = {str(key): _copy(values) for key in names["enum"]}
        schema["additionalProperties"] = False
        return
    schema["x-propertyNames"] = names
    rule = _describe_key_rule(names, f"{pointer}/propertyNames")
    schema["description"] = _sentences(schema.get("description"), rule)


def _describe_key_rule(names: dict[str, Any], pointer: str) -> str:
    """``propertyNames`` in words, for the readers of a 3.0 document that cannot carry it."""
    unsaid = names.keys() - {"type", "minLength", "maxLength", "pattern", "format"}
    if unsaid:
        raise NoOpenAPI30Form(pointer, f"propertyNames with {sorted(unsaid)}")
    parts = []
    if "minLength" in names or "maxLength" in names:
        low, high = names.get("minLength", 0), names.get("maxLength")
        parts.append(f"{low} to {high} characters long" if high is not None else f"at least {low} characters long")
    if "pattern" in names:
        parts.append(f"matching `{names['pattern']}`")
    if "format" in names:
        parts.append(f"in the format {names['format']}")
    return f"Each key is {' and '.join(parts)} (x-propertyNames)." if parts else "Keys: see x-propertyNames."


def _sentences(*texts: str | None) -> str:
    """Descriptions joined into one, each but the last ending as a sentence does."""
    present = [text for text in texts if text]
    return " ".join([*(text if text.endswith((".", "!", "?")) else f"{text}." for text in present[:-1]), present[-1]])


def _ref_siblings_under_all_of(schema: dict[str, Any]) -> None:
    if "$ref" in schema and len(schema) > 1:
        schema["allOf"] = [{"$ref": schema.pop("$ref")}, *schema.get("allOf", [])]


def _replace_key(schema: dict[str, Any], key: str, replacement: dict[str, Any]) -> None:
    """Put ``replacement``'s keys where ``key`` was, so the output reads in the input's order."""
    items = list(schema.items())
    at = [name for name, _ in items].index(key)
    schema.clear()
    schema.update([*items[:at], *replacement.items(), *items[at + 1 :]])


def _each(
    objects: dict[str, dict[str, Any]], convert: Callable[[dict[str, Any], str], dict[str, Any]], pointer: str
) -> dict[str, dict[str, Any]]:
    """``convert`` applied to each value of a map of objects, each told its own JSON pointer."""
    return {name: convert(value, f"{pointer}/{_escape(name)}") for name, value in objects.items()}


def _copy(value: Any) -> Any:
    """A deep copy of plain JSON, so no two places of the output share an object."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _escape(name: str) -> str:
    """A JSON-pointer reference token (RFC 6901)."""
    return name.replace("~", "~0").replace("/", "~1")
