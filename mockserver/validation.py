"""Compiled request and response validators, and violations with JSON paths.

The hot path uses ``jsonschema-rs`` (a compiled Rust validator): on a 500-customer body it takes
about 0.5 ms where the pure-Python ``jsonschema`` takes about 70 ms (docs/benchmarks.md). A valid
instance costs one ``is_valid`` call; only an invalid one pays for collecting every error.
Schemas keep their local ``$ref``s: each compiled schema carries the document's ``components`` so
``#/components/...`` resolves exactly as in the spec.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import orjson

from mockserver import paramstyles
from mockserver.errors import SpecError
from mockserver.formats import DESCRIPTIONS, FORMATS
from mockserver.openapi.spec import Parameter

JSON = dict[str, Any]
MAX_VIOLATIONS = 1000


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong with a request (or a response).

    ``location`` is body, query, path, header or cookie; ``path`` is the JSON path
    inside it (``("customers", 3, "email")``); ``problem`` says what is wrong with the value.
    A violation of a schema keeps the rule it broke: ``keyword`` (``required``, ``maxLength``)
    and ``schema_path``, where that keyword sits: in the schema validated (the operation's
    request body or parameter schema), or from ``components`` on for a referenced schema
    (``("components", "schemas", "Customer", "required")``). A parameter that is missing has
    keyword ``required`` and no schema path.
    """

    location: str
    path: tuple[str | int, ...]
    problem: str
    keyword: str = ""
    schema_path: tuple[str | int, ...] = ()

    @property
    def field(self) -> str:
        """The path as people write it: ``customers[3].email`` (``body`` for the whole body)."""
        text = ""
        for part in self.path:
            if isinstance(part, int):
                text += f"[{part}]"
            else:
                text += f".{part}" if text else str(part)
        return text or self.location

    @property
    def message(self) -> str:
        return f"{self.field}: {self.problem}"

    @property
    def schema_pointer(self) -> str:
        """``schema_path`` as a JSON pointer (``/properties/customers/items/required``)."""
        return "".join(
            "/" + str(part).replace("~", "~0").replace("/", "~1") for part in self.schema_path
        )

    def as_dict(self) -> JSON:
        """As error lists and the journal show it: location, field, problem."""
        return {"location": self.location, "field": self.field, "problem": self.problem}

    def as_record(self) -> JSON:
        """Everything, for storage (see :meth:`from_record`)."""
        return {
            "location": self.location,
            "field": self.field,
            "problem": self.problem,
            "path": list(self.path),
            "keyword": self.keyword,
            "schema_path": list(self.schema_path),
        }

    @classmethod
    def from_record(cls, data: JSON) -> Violation:
        """A violation from :meth:`as_record` (or :meth:`as_dict`: the path is then the field)."""
        path = data.get("path")
        if path is None:
            path = [] if data["field"] == data["location"] else [data["field"]]
        return cls(
            data["location"],
            tuple(path),
            data["problem"],
            data.get("keyword", ""),
            tuple(data.get("schema_path", ())),
        )


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _problem(error: Any, instance: Any) -> tuple[tuple[str | int, ...], str]:
    """Turn a jsonschema-rs error into (path, readable problem)."""
    path = tuple(error.instance_path)
    kind = error.kind
    name = type(kind).__name__
    value = _value_at(instance, path)
    if name == "Required":
        return (*path, kind.property), "is required"
    if name == "Type":
        types = kind.types if isinstance(kind.types, list) else [kind.types]
        expected = " or ".join(str(t) for t in types)
        return path, f"{_short(value)} is not of type {expected}"
    if name == "Format":
        described = DESCRIPTIONS.get(kind.format)
        if described is not None:
            return path, f"{_short(value)} is not {described}"
        return path, f"{_short(value)} is not a valid {kind.format}"
    if name == "MaxItems":
        return path, f"has {len(value)} items, at most {kind.limit} allowed"
    if name == "MinItems":
        return path, f"has {len(value)} items, at least {kind.limit} required"
    if name == "MaxLength":
        return path, f"is longer than {kind.limit} characters"
    if name == "MinLength":
        return path, f"{_short(value)} is shorter than {kind.limit} characters"
    if name == "Pattern":
        return path, f"{_short(value)} does not match {kind.pattern!r}"
    if name == "Enum":
        options = ", ".join(repr(o) for o in kind.options)
        return path, f"{_short(value)} is not one of {options}"
    if name == "Constant":
        return path, f"{_short(value)} must be {kind.expected_value!r}"
    if name in ("AnyOf", "OneOfNotValid"):
        missing = _missing_in_every_branch(kind.context)
        if missing:
            return path, f"needs {' or '.join(missing)}"
        types = _types_of_every_branch(kind.context, path)
        if types:
            return path, f"{_short(value)} is not of type {' or '.join(types)}"
    if name == "AdditionalProperties":
        extra = ", ".join(repr(u) for u in kind.unexpected)
        return path, f"unexpected property {extra}"
    if name in ("Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum"):
        words = {
            "Minimum": "less than the minimum of",
            "Maximum": "greater than the maximum of",
            "ExclusiveMinimum": "less than or equal to the exclusive minimum of",
            "ExclusiveMaximum": "greater than or equal to the exclusive maximum of",
        }
        return path, f"{_short(value)} is {words[name]} {kind.limit}"
    message = str(error.message)
    if len(message) > 200:
        message = message[:197] + "..."
    return path, message


def _keyword(error: Any, schema_path: tuple[str | int, ...]) -> str:
    """The JSON Schema keyword an error broke: the last name of its schema path."""
    if type(error.kind).__name__ == "FalseSchema":
        return "false"
    for part in reversed(schema_path):
        if isinstance(part, str):
            return part
    name = type(error.kind).__name__
    return name[:1].lower() + name[1:]


def _missing_in_every_branch(branches: Any) -> list[str]:
    """The missing properties when each ``anyOf`` branch failed only for one of them (an
    "at least one of these" rule), else an empty list."""
    missing: list[str] = []
    for errors in branches or ():
        if len(errors) != 1 or type(errors[0].kind).__name__ != "Required":
            return []
        missing.append(str(errors[0].kind.property))
    return missing


def _types_of_every_branch(branches: Any, path: tuple[str | int, ...]) -> list[str]:
    """The expected types when every branch failed on the type of the value itself, else []."""
    types: list[str] = []
    for errors in branches or ():
        kinds = [e.kind for e in errors if tuple(e.instance_path) == path]
        found = [k for k in kinds if type(k).__name__ == "Type"]
        if not found:
            return []
        expected = found[0].types if isinstance(found[0].types, list) else [found[0].types]
        types.extend(str(t) for t in expected if str(t) not in types)
    return types


def _json_type(instance: Any) -> str:
    if isinstance(instance, dict):
        return "object"
    if isinstance(instance, list):
        return "array"
    if isinstance(instance, str):
        return "string"
    if isinstance(instance, bool):
        return "boolean"
    if isinstance(instance, int | float):
        return "number"
    return "null"


def _value_at(instance: Any, path: Sequence[str | int]) -> Any:
    node = instance
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _formats_in(schema: JSON) -> dict[str, Any] | None:
    """The custom formats (:data:`~mockserver.formats.FORMATS`) ``schema`` names, or None.

    Only those are handed to jsonschema-rs: given any custom format it validates a third slower
    and fills a buffer in proportion to the instance, which each thread keeps at the size of the
    largest instance it validated (16 MiB after a 9 MiB body).
    """
    try:
        text = orjson.dumps(schema, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a value orjson cannot write: hand them all
        return FORMATS
    used = {name: check for name, check in FORMATS.items() if b'"%s"' % name.encode() in text}
    return used or None


class SchemaCompileError(ValueError):
    """A schema that cannot be compiled; :func:`compile_schema` turns it into a SpecError."""


class SchemaValidator:
    """A compiled JSON Schema (2020-12) that reports :class:`Violation` objects."""

    __slots__ = ("_branches", "_components", "_splits", "_validator", "schema")

    def __init__(self, schema: JSON, components: JSON | None = None) -> None:
        self.schema = schema
        self._components = components
        self._splits: dict[str, tuple[SchemaValidator, SchemaValidator] | None] = {}
        # By JSON type: the branch's validator and where it sits (("oneOf", 1)); on first need.
        self._branches: dict[str, tuple[SchemaValidator, tuple[str | int, ...]]] | None = None
        compiled = dict(schema)
        if components:
            compiled.setdefault("components", components)
        try:
            self._validator = jsonschema_rs.Draft202012Validator(
                compiled, validate_formats=True, formats=_formats_in(compiled)
            )
        except Exception as exc:  # jsonschema-rs: a dangling $ref, a bad regex, a wrong keyword
            raise SchemaCompileError(str(exc).strip().splitlines()[0]) from None

    def is_valid(self, instance: Any) -> bool:
        return bool(self._validator.is_valid(instance))

    def violations(
        self,
        instance: Any,
        location: str = "body",
        prefix: tuple[str | int, ...] = (),
        schema_prefix: tuple[str | int, ...] = (),
    ) -> list[Violation]:
        """Every violation, in document order; empty when the instance is valid.

        ``prefix`` goes before each violation's JSON path, ``schema_prefix`` before its schema
        path (where this schema sits in the one validated first).
        """
        if self._validator.is_valid(instance):
            return []
        at = self._resolved_at() or schema_prefix  # where the schema's own keywords sit
        branch = self._branch_for(instance)
        if branch is not None:
            validator, where = branch
            return validator.violations(instance, location, prefix, (*at, *where))
        split = self._split_for(instance)
        if split is not None:
            name, (outer, item) = split
            found = outer.violations(instance, location, prefix, at)
            elements = instance if name == "" else instance[name]
            data_at = prefix if name == "" else (*prefix, name)
            item_at = (*at, "items") if name == "" else (*at, "properties", name, "items")
            for index, element in enumerate(elements):
                if len(found) >= MAX_VIOLATIONS:
                    break
                if not item.is_valid(element):
                    found.extend(item.violations(element, location, (*data_at, index), item_at))
            return found[:MAX_VIOLATIONS]
        found = []
        for error in self._validator.iter_errors(instance):
            path, problem = _problem(error, instance)
            schema_path = tuple(error.schema_path)
            if not schema_path or schema_path[0] != "components":  # not in a referenced schema
                schema_path = (*schema_prefix, *schema_path)
            keyword = _keyword(error, schema_path)
            found.append(Violation(location, (*prefix, *path), problem, keyword, schema_path))
            if len(found) >= MAX_VIOLATIONS:
                break
        return found

    def _resolved_at(self) -> tuple[str | int, ...]:
        """Where a schema that is a ``$ref`` points (``("components", "schemas", "X")``), else
        ``()``: the split and branch validators are compiled from the node it resolves to."""
        ref = self.schema.get("$ref") if isinstance(self.schema, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return ()
        root = {"components": self._components or {}}
        node: Any = self.schema
        parts: tuple[str | int, ...] = ()
        for _ in range(32):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
            node = _follow_refs({"$ref": ref}, root)
        return parts

    def _branch_for(
        self, instance: Any
    ) -> tuple[SchemaValidator, tuple[str | int, ...]] | None:
        """The branch of a root ``oneOf``/``anyOf`` whose branches each take one JSON type (an
        object or an array of the same items, say) that takes ``instance``'s type, or None.

        The instance fails the whole schema, so it fails that branch too; reporting the branch's
        own violations names the field that is wrong, where the combined error could only say
        that no branch matched.
        """
        if self._branches is None:
            self._branches = self._compile_branches()
        return self._branches.get(_json_type(instance)) if self._branches else None

    def _compile_branches(self) -> dict[str, tuple[SchemaValidator, tuple[str | int, ...]]]:
        root = {"components": self._components or {}}
        node = _follow_refs(self.schema, root)
        if not isinstance(node, dict):
            return {}
        combined = [k for k in ("oneOf", "anyOf") if k in node]
        if len(combined) != 1 or set(node) & (_COMBINING | {"type"}) - {combined[0]}:
            return {}
        branches: dict[str, tuple[SchemaValidator, tuple[str | int, ...]]] = {}
        for index, branch in enumerate(node[combined[0]]):
            kind = (_follow_refs(branch, root) or {}).get("type")
            if not isinstance(kind, str) or kind in branches or kind in ("integer", "null"):
                return {}
            validator = SchemaValidator(branch, self._components)
            branches[kind] = (validator, (combined[0], index))
        return branches

    def _split_for(
        self, instance: Any
    ) -> tuple[str, tuple[SchemaValidator, SchemaValidator]] | None:
        """For a long array, or an object with a long array property: validators for the whole
        without that array's items, and for one item (name ``""`` stands for the instance).

        jsonschema-rs builds every error as a Python object before ``iter_errors`` yields the
        first (about 25 µs each): 100,000 invalid bulk items took 25 s. Item by item, the work
        stops at :data:`MAX_VIOLATIONS`.
        """
        if isinstance(instance, list) and len(instance) > SPLIT_ITEMS:
            if "" not in self._splits:
                self._splits[""] = self._compile_split("")
            split = self._splits[""]
            return None if split is None else ("", split)
        if not isinstance(instance, dict):
            return None
        for name, value in instance.items():
            if isinstance(value, list) and len(value) > SPLIT_ITEMS:
                if name not in self._splits:
                    self._splits[name] = self._compile_split(name)
                split = self._splits[name]
                if split is not None:
                    return name, split
        return None

    def _compile_split(self, name: str) -> tuple[SchemaValidator, SchemaValidator] | None:
        root = {"components": self._components or {}}
        node = _follow_refs(self.schema, root)
        if not isinstance(node, dict) or _COMBINING & set(node):
            return None
        if name == "":  # the instance itself is the array
            if "items" not in node or _ITEM_COUPLING & set(node):
                return None
            outer_validator = SchemaValidator({**node, "items": True}, self._components)
            outer_validator._splits[""] = None
            return outer_validator, SchemaValidator(node["items"], self._components)
        array = _follow_refs((node.get("properties") or {}).get(name), root)
        if not isinstance(array, dict) or "items" not in array or _ITEM_COUPLING & set(array):
            return None
        item = array["items"]
        if not isinstance(item, dict):
            return None
        outer = {**node, "properties": {**node["properties"], name: {**array, "items": True}}}
        outer_validator = SchemaValidator(outer, self._components)
        outer_validator._splits[name] = None  # its items are unconstrained: nothing to split
        return outer_validator, SchemaValidator(item, self._components)


SPLIT_ITEMS = 1000
# Keywords that make an object's validity depend on more than its properties one by one, or an
# array's on more than its items one by one: with them, no splitting.
_COMBINING = {"$ref", "allOf", "anyOf", "oneOf", "not", "if", "dependentSchemas", "$dynamicRef"}
_ITEM_COUPLING = {
    "$ref",
    "prefixItems",
    "unevaluatedItems",
    "contains",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "$dynamicRef",
}


def _follow_refs(node: Any, root: JSON) -> Any:
    """``node`` with local ``#/components/...`` references followed (None when one dangles)."""
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        if len(node) > 1 or not node["$ref"].startswith("#/"):
            return None  # siblings of $ref, or a reference this module cannot follow
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return None
            target = target[part]
        node = target
    return None


def compile_schema(
    schema: JSON | None,
    document: JSON,
    where: tuple[str, str] | None = None,
    cache: dict[bytes, SchemaValidator] | None = None,
) -> SchemaValidator | None:
    """Compile ``schema`` against ``document``'s components, or None when there is no schema.

    Only the components the schema reaches are compiled in; with ``cache`` (by schema text),
    every use of one schema shares one validator (a big spec uses a component in many places).

    A schema that cannot be compiled raises :class:`SpecError` naming ``where`` (file, JSON
    pointer of the schema), or :class:`SchemaCompileError` when ``where`` is not given.
    """
    if schema is None:
        return None
    components = document.get("components")
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS) if cache is not None else b""
    if cache is not None and key in cache:
        return cache[key]  # one compiled validator for every use of the same schema
    try:
        validator = SchemaValidator(schema, reachable_components(schema, components))
    except SchemaCompileError as exc:
        if where is None:
            raise
        raise SpecError(where[0], where[1], f"the schema cannot be used: {exc}") from None
    if cache is not None:
        cache[key] = validator
    return validator


def reachable_components(schema: Any, components: JSON | None) -> JSON | None:
    """The part of ``components`` that ``schema`` reaches through ``#/components/...`` refs.

    A validator carries its components; on a big spec (hundreds of schemas) each one compiled
    with all of them took seconds and hundreds of MB for every operation.
    """
    if not components:
        return components
    kept: JSON = {}
    seen: set[tuple[str, str]] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[13:].split("/")]
            if len(parts) >= 2 and (parts[0], parts[1]) not in seen:
                seen.add((parts[0], parts[1]))
                section = components.get(parts[0])
                if isinstance(section, dict) and parts[1] in section:
                    kept.setdefault(parts[0], {})[parts[1]] = section[parts[1]]
                    stack.append(section[parts[1]])
        stack.extend(node.values())
    return kept


# -- parameters ----------------------------------------------------------------------------


def _schema_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """Convert a parameter's text to the type its schema declares (left as text when it can't)."""
    kind = _schema_type(schema)
    try:
        if kind == "integer":
            number = int(raw, 10)
            return number
        if kind == "number":
            value = float(raw)
            return value if math.isfinite(value) else raw
        if kind == "boolean":
            lowered = raw.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
    except ValueError:
        return raw
    return raw


@dataclass(slots=True)
class CompiledParameter:
    """A parameter with its compiled schema."""

    parameter: Parameter
    validator: SchemaValidator | None
    item_schema: Mapping[str, Any]
    is_array: bool
    # Objects and the styles the fast path does not read (deepObject, matrix, label, delimited,
    # path and header arrays) are read by :mod:`mockserver.paramstyles`, with the document.
    styled: bool = False
    kinds: tuple[str, ...] = ()
    document: JSON | None = None


def compile_parameters(
    parameters: Iterable[Parameter],
    document: JSON,
    where: tuple[str, str] | None = None,
    cache: dict[bytes, SchemaValidator] | None = None,
) -> list[CompiledParameter]:
    """Compile each parameter's schema; ``where`` (file, operation pointer) names a broken one."""
    compiled = []
    for p in parameters:
        is_array = _schema_type(p.schema) == "array"
        items = p.schema.get("items", {}) if is_array else p.schema
        at = None if where is None else (where[0], f"{where[1]}/parameters")
        try:
            validator = compile_schema(p.schema, document, at, cache)
        except SpecError as exc:
            raise SpecError(exc.file, exc.pointer, f"parameter {p.name!r}: {exc.problem}") from None
        kinds = paramstyles.kinds_of(p, document)
        styled = not paramstyles.is_plain(p, kinds)
        compiled.append(
            CompiledParameter(
                p, validator, items, is_array, styled, tuple(kinds), document if styled else None
            )
        )
    return compiled


def read_parameters(
    compiled: Sequence[CompiledParameter],
    path_params: Mapping[str, str],
    query: Any,
    headers: Any,
    cookies: Mapping[str, str],
) -> tuple[JSON, list[Violation]]:
    """Collect, coerce and validate parameters. ``query`` must offer ``getlist(name)``.

    Returns the typed values by name and the violations, named ``page`` (``location`` query).
    """
    values: JSON = {}
    violations: list[Violation] = []
    for cp in compiled:
        p = cp.parameter
        if cp.styled:
            _read_styled(cp, path_params, query, headers, cookies, values, violations)
            continue
        raw_values: list[str]
        if p.location == "path":
            raw_values = [path_params[p.name]] if p.name in path_params else []
        elif p.location == "query":
            raw_values = list(query.getlist(p.name))
            if not raw_values and p.name.endswith("[]"):
                raw_values = list(query.getlist(p.name[:-2]))
            elif not raw_values and cp.is_array:
                raw_values = list(query.getlist(p.name + "[]"))
        elif p.location == "header":
            header = headers.get(p.name)
            raw_values = [header] if header is not None else []
        else:
            cookie = cookies.get(p.name)
            raw_values = [cookie] if cookie is not None else []
        if not raw_values:
            if p.required:
                violations.append(_missing(p))
            continue
        if cp.is_array:
            parts = raw_values if p.explode else [x for v in raw_values for x in v.split(",")]
            value: Any = [coerce(v, cp.item_schema) for v in parts]
        else:
            value = coerce(raw_values[0], p.schema)
            validator = cp.validator
            if validator is not None and isinstance(value, str) and not validator.is_valid(value):
                # A schema without one plain `type` (anyOf, $ref: e.g. integer-or-date) or an
                # integral number written "5.0": take the first typed reading the schema accepts.
                value = next((v for v in _readings(value) if validator.is_valid(v)), value)
        values[p.name] = value
        if cp.validator is not None:
            violations.extend(cp.validator.violations(value, p.location, (p.name,)))
    return values, violations


def _read_styled(
    cp: CompiledParameter,
    path_params: Mapping[str, str],
    query: Any,
    headers: Any,
    cookies: Mapping[str, str],
    values: JSON,
    violations: list[Violation],
) -> None:
    """Read one parameter by its style and explode (see :mod:`mockserver.paramstyles`)."""
    p = cp.parameter
    document = cp.document or {}
    raw = paramstyles.read(
        p,
        list(cp.kinds),
        document,
        path_params.get(p.name),
        query,
        headers.get(p.name) if p.location == "header" else None,
        cookies.get(p.name) if p.location == "cookie" else None,
    )
    if raw is paramstyles.MISSING:
        if p.required:
            violations.append(_missing(p))
        return
    value = paramstyles.coerce_value(raw, p.schema, document)
    values[p.name] = value
    if cp.validator is not None:
        violations.extend(cp.validator.violations(value, p.location, (p.name,)))


def _missing(p: Parameter) -> Violation:
    return Violation(
        p.location, (p.name,), f"required {p.location} parameter is missing", "required"
    )


def _readings(raw: str) -> list[Any]:
    """Typed readings of a parameter's text: an integer (also "5.0"), a number, a boolean."""
    readings: list[Any] = []
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number) and raw.strip() == raw and "_" not in raw:
        if number.is_integer():
            readings.append(int(number))
        readings.append(number)
    if raw.lower() in ("true", "false"):
        readings.append(raw.lower() == "true")
    return readings
