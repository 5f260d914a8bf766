"""The 3.0.3 document says everything Powertools' 3.1 document says: every operation, parameter,
schema constraint and example has its 3.0 counterpart, and the two accept the same instances."""

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, OAS31Validator

from local.openapi import generate, powertools_document
from local.openapi30 import NoOpenAPI30Form, convert_schema, to_openapi_30

NULL = {"type": "null"}
NESTED = ("additionalProperties", "items", "not")


@pytest.fixture(scope="module")
def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """(Powertools' 3.1 document, the published 3.0.3 one), built once for the module."""
    return powertools_document(), generate()


def outside_schemas(node: Any) -> Any:
    """The document with every Schema Object left out: what must not change at all."""
    if isinstance(node, dict):
        return {key: outside_schemas(value) for key, value in node.items() if key not in {"schema", "schemas"}}
    if isinstance(node, list):
        return [outside_schemas(item) for item in node]
    return node


def schema_pairs(
    old: Any, new: Any, where: str = "", in_parameter: bool = False
) -> Iterator[tuple[str, Any, Any, bool]]:
    """The top-level Schema Objects of both documents side by side: (pointer, 3.1, 3.0, in a parameter)."""
    if isinstance(old, dict):
        for key, value in old.items():
            if key == "schema":
                yield f"{where}/schema", value, new["schema"], in_parameter
            elif key == "schemas":
                for name, schema in value.items():
                    yield f"{where}/schemas/{name}", schema, new["schemas"][name], False
            else:
                parameter = in_parameter or key in {"parameters", "headers"}
                yield from schema_pairs(value, new[key], f"{where}/{key}", parameter)
    elif isinstance(old, list):
        for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
            yield from schema_pairs(old_item, new_item, f"{where}/{index}", in_parameter)


def assert_says_all_of(old: dict[str, Any], new: dict[str, Any], where: str, null_allowed: bool = True) -> None:
    """Each keyword of the 3.1 schema ``old`` has its documented counterpart in the 3.0 schema ``new``."""
    old = without_null_branches(old, new, where, null_allowed)
    keys_by_name = set(old.get("propertyNames", {})) == {"enum"}
    for key, value in old.items():
        at = f"{where}/{key}"
        if key == "properties":
            for name, sub in value.items():
                assert_says_all_of(sub, new["properties"][name], f"{at}/{name}")
        elif key == "additionalProperties" and keys_by_name:
            continue  # said by each of the properties, under propertyNames
        elif key in NESTED and isinstance(value, dict):
            assert_says_all_of(value, new[key], at)
        elif key in {"allOf", "anyOf", "oneOf"}:
            for index, (sub, converted) in enumerate(zip(value, new[key], strict=True)):
                assert_says_all_of(sub, converted, f"{at}/{index}")
        elif key == "propertyNames" and keys_by_name:
            assert set(new["properties"]) == set(value["enum"]) and new["additionalProperties"] is False, at
            for name in value["enum"]:
                assert_says_all_of(old.get("additionalProperties", {}), new["properties"][name], f"{at}/{name}")
        else:
            assert_says_keyword(key, value, new, at)


def without_null_branches(old: dict[str, Any], new: dict[str, Any], where: str, null_allowed: bool) -> dict[str, Any]:
    """Check that a ``{type: 'null'}`` branch became ``nullable`` (or, in a parameter, nothing);
    what is left of ``old`` is checked keyword by keyword."""
    old = dict(old)
    for combinator in ("anyOf", "oneOf"):
        if NULL not in old.get(combinator, []):
            continue
        others = [branch for branch in old.pop(combinator) if branch != NULL]
        if combinator in new:
            for index, (branch, converted) in enumerate(zip(others, new[combinator], strict=True)):
                assert_says_all_of(branch, converted, f"{where}/{combinator}/{index}")
            nullable = [branch for branch in new[combinator] if branch.get("nullable")]
            assert len(nullable) == (1 if null_allowed else 0), f"{where}: null is allowed by exactly one branch"
        else:
            (branch,) = others
            assert_says_all_of(branch, new, where)
            assert new.get("nullable", False) is null_allowed, f"{where}: nullable"
    return old


def assert_says_keyword(key: str, value: Any, new: dict[str, Any], at: str) -> None:
    """One keyword with a plain value, as the module docstring of local/openapi30.py maps it."""
    if key == "const":
        assert new["enum"] in ([value], [value, None]), at
    elif key == "enum":
        assert new["enum"] in (value, [*value, None]), at
    elif key == "examples":
        assert new["example"] == value[0], at
        assert len(value) == 1 or new["x-examples"] == value, at
    elif key in {"exclusiveMinimum", "exclusiveMaximum"} and not isinstance(value, bool):
        assert new[key.replace("exclusiveM", "m")] == value and new[key] is True, at
    elif key == "propertyNames":
        assert new["x-propertyNames"] == value and "(x-propertyNames)" in new["description"], at
    elif key == "description":
        assert value in new["description"], at
    elif key == "$ref":
        assert value in (new.get("$ref"), new.get("allOf", [{}])[0].get("$ref")), at
    else:
        assert new[key] == value, at


def examples_in(node: Any) -> Iterator[Any]:
    """Every example value anywhere in a 3.1 document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "examples" and isinstance(value, list):
                yield from value
            elif key == "example":
                yield value
            elif key == "examples" and isinstance(value, dict):
                yield from (example["value"] for example in value.values() if "value" in example)
            else:
                yield from examples_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from examples_in(item)


def test_nothing_outside_the_schemas_changes_but_the_version(documents: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    old, new = documents
    assert (old["openapi"], new["openapi"]) == ("3.1.0", "3.0.3")
    assert outside_schemas({**old, "openapi": None}) == outside_schemas({**new, "openapi": None})


def test_every_schema_keyword_has_its_counterpart(documents: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    pairs = list(schema_pairs(*documents))
    assert len(pairs) > 50
    for where, old, new, in_parameter in pairs:
        assert_says_all_of(old, new, where, null_allowed=not in_parameter)


def test_both_documents_accept_and_refuse_the_same_examples(documents: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
    """Semantics, not spelling: every example of the document, and null, against every schema."""
    old_doc, new_doc = documents
    corpus = [*examples_in(old_doc), None, {}, "", 0]
    checked = 0
    for where, old, new, in_parameter in schema_pairs(old_doc, new_doc):
        old_validator = OAS31Validator({**old, "components": old_doc["components"]})
        new_validator = OAS30Validator({**new, "components": new_doc["components"]})
        for instance in corpus if not in_parameter else [value for value in corpus if value is not None]:
            assert old_validator.is_valid(instance) == new_validator.is_valid(instance), (where, instance)
            checked += old_validator.is_valid(instance)
    assert checked > 100, "too few instances were valid for the comparison to say anything"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"anyOf": [{"type": "string", "maxLength": 3}, NULL], "title": "Name"},
            {"type": "string", "maxLength": 3, "title": "Name", "nullable": True},
        ),
        (
            {"anyOf": [{"type": "string", "enum": ["a", "b"]}, NULL]},
            {"type": "string", "enum": ["a", "b", None], "nullable": True},
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "number"}, NULL]},
            {"anyOf": [{"type": "string", "nullable": True}, {"type": "number"}]},
        ),
        ({"type": "string", "const": "api"}, {"type": "string", "enum": ["api"]}),
        ({"type": "integer", "exclusiveMinimum": 0}, {"type": "integer", "minimum": 0, "exclusiveMinimum": True}),
        ({"type": "integer", "exclusiveMaximum": 9}, {"type": "integer", "maximum": 9, "exclusiveMaximum": True}),
        ({"type": "string", "examples": ["x"]}, {"type": "string", "example": "x"}),
        ({"type": "string", "examples": ["x", "y"]}, {"type": "string", "example": "x", "x-examples": ["x", "y"]}),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}, "propertyNames": {"enum": ["a", "b"]}},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            },
        ),
        (
            {"type": "object", "description": "Flat.", "propertyNames": {"minLength": 1, "maxLength": 128}},
            {
                "type": "object",
                "description": "Flat. Each key is 1 to 128 characters long (x-propertyNames).",
                "x-propertyNames": {"minLength": 1, "maxLength": 128},
            },
        ),
        (
            {"$ref": "#/components/schemas/X", "description": "Why"},
            {"description": "Why", "allOf": [{"$ref": "#/components/schemas/X"}]},
        ),
    ],
)
def test_each_31_construct_gets_its_30_spelling(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert_schema(schema, "") == expected


def test_a_parameter_drops_its_null_branch_since_a_query_string_cannot_carry_null() -> None:
    parameter = {"name": "state", "in": "query", "schema": {"anyOf": [{"type": "string", "enum": ["a"]}, NULL]}}
    spec = {"openapi": "3.1.0", "info": {}, "paths": {"/x": {"get": {"parameters": [parameter], "responses": {}}}}}
    converted = to_openapi_30(spec)["paths"]["/x"]["get"]["parameters"][0]["schema"]
    assert converted == {"type": "string", "enum": ["a"]}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "object", "patternProperties": {"^a": {"type": "string"}}},
        {"anyOf": [{"$ref": "#/components/schemas/X"}, {"$ref": "#/components/schemas/Y"}, NULL]},
        {"type": ["string", "integer"]},
        {"type": "null"},
        {"type": "object", "propertyNames": {"enum": ["a"], "minLength": 1}},
        {"type": "string", "const": "a", "enum": ["a", "b"]},
        {"properties": {"inner": {"type": "integer", "minimum": 1, "exclusiveMinimum": 0}}},
    ],
)
def test_a_construct_without_a_30_form_is_refused_not_dropped(schema: dict[str, Any]) -> None:
    with pytest.raises(NoOpenAPI30Form):
        convert_schema(schema, "/components/schemas/Example")


def test_a_nullable_reference_is_an_all_of_of_one_with_the_referenced_type() -> None:
    target = {"type": "object", "properties": {"url": {"type": "string"}}}
    field = {"anyOf": [{"$ref": "#/components/schemas/Target"}, NULL], "description": "Where fires go"}
    owner = {"type": "object", "properties": {"target": field}}
    spec = {"openapi": "3.1.0", "info": {}, "paths": {}, "components": {"schemas": {"Target": target, "Owner": owner}}}
    converted = to_openapi_30(spec)["components"]["schemas"]["Owner"]["properties"]["target"]
    assert converted == {
        "description": "Where fires go",
        "allOf": [{"$ref": "#/components/schemas/Target"}],
        "nullable": True,
        "type": "object",
    }


def test_the_input_document_is_left_as_it_is() -> None:
    old = powertools_document()
    before = copy.deepcopy(old)
    to_openapi_30(old)
    assert old == before
