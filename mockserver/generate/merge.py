"""Schema merging: every constraint on one instance location, as one :class:`Flat` view.

:class:`SchemaMerger` follows local ``$ref``\\ s (JSON pointers and ``$anchor``\\ s) into the root
document, merges ``allOf``, intersects types, enums and bounds, and records ``oneOf``/``anyOf``
groups (with their OpenAPI ``discriminator``), ``not`` and ``if``/``then``/``else`` for the walker
to choose from and check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from mockserver.generate.checks import freeze, is_number
from mockserver.generate.errors import GenerationError
from mockserver.generate.regex import compile_pattern

__all__ = ["Flat", "Group", "SchemaMerger", "min_opt"]

Group = tuple[list[Any], Mapping[str, Any] | None]  # branches, discriminator


@dataclass(slots=True)
class Flat:
    """Every constraint that applies to one instance location, after `$ref`/`allOf` merging."""

    types: set[str] | None = None
    enum: list[Any] | None = None
    lo: int | float | None = None
    lo_excl: bool = False
    hi: int | float | None = None
    hi_excl: bool = False
    multiple_of: list[int | float] = field(default_factory=list)
    min_length: int = 0
    max_length: int | None = None
    patterns: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    prefix_items: list[list[Any]] = field(default_factory=list)
    items: list[tuple[int, Any]] = field(default_factory=list)  # (first index, schema)
    items_limit: int | None = None
    min_items: int = 0
    max_items: int | None = None
    unique_items: bool = False
    contains: list[Any] = field(default_factory=list)
    min_contains: int | None = None
    max_contains: int | None = None
    properties: dict[str, list[Any]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    closed: list[tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=list)
    additional: list[tuple[frozenset[str], tuple[str, ...], Any]] = field(default_factory=list)
    pattern_properties: list[tuple[str, Any]] = field(default_factory=list)
    property_names: list[Any] = field(default_factory=list)
    no_extras: bool = False
    min_properties: int = 0
    max_properties: int | None = None
    dependent_required: dict[str, list[str]] = field(default_factory=dict)
    dependent_schemas: dict[str, list[Any]] = field(default_factory=dict)
    one_of: list[Group] = field(default_factory=list)
    any_of: list[Group] = field(default_factory=list)
    nots: list[Any] = field(default_factory=list)
    not_types: set[str] = field(default_factory=set)
    excluded: list[Any] = field(default_factory=list)
    conditions: list[tuple[Any, Any, Any]] = field(default_factory=list)
    examples: list[Any] = field(default_factory=list)
    defaults: list[Any] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    unsat: str | None = None

    def copy(self) -> Flat:
        """A copy whose lists, sets and dicts can be changed without touching this one."""
        return replace(
            self,
            types=None if self.types is None else set(self.types),
            enum=None if self.enum is None else list(self.enum),
            multiple_of=list(self.multiple_of),
            patterns=list(self.patterns),
            formats=list(self.formats),
            prefix_items=[list(p) for p in self.prefix_items],
            items=list(self.items),
            contains=list(self.contains),
            properties={k: list(v) for k, v in self.properties.items()},
            required=list(self.required),
            closed=list(self.closed),
            additional=list(self.additional),
            pattern_properties=list(self.pattern_properties),
            property_names=list(self.property_names),
            dependent_required={k: list(v) for k, v in self.dependent_required.items()},
            dependent_schemas={k: list(v) for k, v in self.dependent_schemas.items()},
            one_of=list(self.one_of),
            any_of=list(self.any_of),
            nots=list(self.nots),
            not_types=set(self.not_types),
            excluded=list(self.excluded),
            conditions=list(self.conditions),
            examples=list(self.examples),
            defaults=list(self.defaults),
            refs=list(self.refs),
        )

    def allows_name(self, name: str) -> bool:
        """Whether ``additionalProperties: false`` somewhere still lets property ``name`` in."""
        for names, patterns in self.closed:
            if name in names:
                continue
            if not any(
                (rx := compile_pattern(p)) is not None and rx.search(name) for p in patterns
            ):
                return False
        return True


def _find_anchor(node: Any, anchor: str) -> Any:
    """The subschema carrying ``$anchor``/``$dynamicAnchor`` ``anchor``, searched depth-first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Mapping):
            if anchor in (current.get("$anchor"), current.get("$dynamicAnchor")):
                return current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))
    return None


def _intersect_types(a: set[str], b: set[str]) -> set[str]:
    """The JSON types both sets allow (``integer`` is also a ``number``)."""
    out: set[str] = set()
    for t in a:
        if t in b:
            out.add(t)
        elif (t == "integer" and "number" in b) or (t == "number" and "integer" in b):
            out.add("integer")
    return out


def min_opt(current: int | None, new: int) -> int:
    """The smaller of two upper limits, where None is no limit."""
    return new if current is None else min(current, new)


class SchemaMerger:
    """Merges schemas of one root document into :class:`Flat` views (cached per schema)."""

    def __init__(self) -> None:
        self.root: Any = None
        self._cache: dict[tuple[int, ...], tuple[tuple[Any, ...], Flat]] = {}

    def resolve(self, ref: str) -> Any:
        """The subschema a local ``$ref`` (JSON pointer or anchor) points at in :attr:`root`."""
        if not ref.startswith("#"):
            raise GenerationError(f"only local $refs are supported, got {ref!r}")
        node: Any = self.root
        pointer = unquote(ref[1:])
        if pointer and not pointer.startswith("/"):
            anchored = _find_anchor(node, pointer)
            if anchored is None:
                raise GenerationError(f"unresolvable $ref {ref!r}")
            return anchored
        if pointer:
            for raw in pointer.lstrip("/").split("/"):
                token = raw.replace("~1", "/").replace("~0", "~")
                if isinstance(node, Mapping) and token in node:
                    node = node[token]
                elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                    node = node[int(token)]
                else:
                    raise GenerationError(f"unresolvable $ref {ref!r}")
        return node

    def flatten(self, schemas: Sequence[Any]) -> Flat:
        """Merged view of ``schemas`` (cached per schema identity; never mutate the result)."""
        key = (id(self.root), *map(id, schemas))
        hit = self._cache.get(key)
        if hit is not None:
            return hit[1]
        flat = Flat()
        for schema in schemas:
            self.absorb(flat, schema, ())
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[key] = ((self.root, *schemas), flat)  # keeps the ids alive
        return flat

    def absorb(self, flat: Flat, schema: Any, expanding: tuple[str, ...] = ()) -> None:
        """Add ``schema``'s constraints to ``flat`` (``expanding``: the ``$ref``\\ s followed)."""
        if schema is True:
            return
        if schema is False:
            flat.unsat = "the schema `false` admits no value"
            return
        if not isinstance(schema, Mapping):
            raise GenerationError(f"not a schema: {schema!r}")
        if not schema:
            return
        g = schema.get
        for key in ("$ref", "$dynamicRef"):
            ref = g(key)
            if isinstance(ref, str) and (key == "$ref" or ref.startswith("#/")):
                if ref in expanding:
                    raise GenerationError(f"$ref cycle without any instance in between: {ref}")
                flat.refs.append(ref)
                self.absorb(flat, self.resolve(ref), (*expanding, ref))

        # types, enum, const
        t = g("type")
        if t is not None:
            types = {t} if isinstance(t, str) else set(t)
            if g("nullable") is True:
                types.add("null")
            flat.types = types if flat.types is None else _intersect_types(flat.types, types)
            if not flat.types:
                flat.unsat = "the schema's types do not intersect"
        values: list[Any] | None = None
        if "enum" in schema:
            values = list(schema["enum"])
        if "const" in schema:
            const = [schema["const"]]
            values = const if values is None else self._intersect_values(values, const)
        if values is not None:
            flat.enum = values if flat.enum is None else self._intersect_values(flat.enum, values)
            if not flat.enum:
                flat.unsat = "enum/const values do not intersect"

        # numbers
        if is_number(g("minimum")):
            self._lower(flat, schema["minimum"], g("exclusiveMinimum") is True)
        if is_number(g("exclusiveMinimum")):
            self._lower(flat, schema["exclusiveMinimum"], True)
        if is_number(g("maximum")):
            self._upper(flat, schema["maximum"], g("exclusiveMaximum") is True)
        if is_number(g("exclusiveMaximum")):
            self._upper(flat, schema["exclusiveMaximum"], True)
        if is_number(g("multipleOf")) and schema["multipleOf"] > 0:
            flat.multiple_of.append(schema["multipleOf"])

        # strings
        if isinstance(g("minLength"), int):
            flat.min_length = max(flat.min_length, schema["minLength"])
        if isinstance(g("maxLength"), int):
            flat.max_length = min_opt(flat.max_length, schema["maxLength"])
        if isinstance(g("pattern"), str):
            flat.patterns.append(schema["pattern"])
        if isinstance(g("format"), str):
            flat.formats.append(schema["format"])

        # arrays
        prefix = g("prefixItems")
        items = g("items")
        if isinstance(items, list):  # draft 4-2019 tuple form
            prefix, items = items, g("additionalItems")
        prefix_len = len(prefix) if isinstance(prefix, list) else 0
        if isinstance(prefix, list):
            for i, sub in enumerate(prefix):
                if i == len(flat.prefix_items):
                    flat.prefix_items.append([])
                flat.prefix_items[i].append(sub)
        if items is False:
            flat.items_limit = min_opt(flat.items_limit, prefix_len)
        elif isinstance(items, Mapping):
            flat.items.append((prefix_len, items))
        elif items is None and g("unevaluatedItems") is False:
            flat.items_limit = min_opt(flat.items_limit, prefix_len)
        if isinstance(g("minItems"), int):
            flat.min_items = max(flat.min_items, schema["minItems"])
        if isinstance(g("maxItems"), int):
            flat.max_items = min_opt(flat.max_items, schema["maxItems"])
        if g("uniqueItems") is True:
            flat.unique_items = True
        if "contains" in schema:
            flat.contains.append(schema["contains"])
            if isinstance(g("minContains"), int):
                flat.min_contains = max(flat.min_contains or 0, schema["minContains"])
            if isinstance(g("maxContains"), int):
                flat.max_contains = min_opt(flat.max_contains, schema["maxContains"])

        # objects
        props = g("properties")
        own_names = frozenset(props) if isinstance(props, Mapping) else frozenset()
        if isinstance(props, Mapping):
            for prop, sub in props.items():
                flat.properties.setdefault(prop, []).append(sub)
        pattern_props = g("patternProperties")
        own_patterns = tuple(pattern_props) if isinstance(pattern_props, Mapping) else ()
        if isinstance(pattern_props, Mapping):
            flat.pattern_properties.extend(pattern_props.items())
        required = g("required")
        for req in required if isinstance(required, list) else ():
            if isinstance(req, str) and req not in flat.required:
                flat.required.append(req)
        extra = g("additionalProperties")
        if extra is False:
            flat.closed.append((own_names, own_patterns))
            flat.no_extras = True
        elif isinstance(extra, Mapping) and extra:
            flat.additional.append((own_names, own_patterns, extra))
        unevaluated = g("unevaluatedProperties")
        if unevaluated is False:
            flat.no_extras = True
        elif isinstance(unevaluated, Mapping) and unevaluated:
            flat.additional.append((own_names, own_patterns, unevaluated))
        if "propertyNames" in schema:
            flat.property_names.append(schema["propertyNames"])
        if isinstance(g("minProperties"), int):
            flat.min_properties = max(flat.min_properties, schema["minProperties"])
        if isinstance(g("maxProperties"), int):
            flat.max_properties = min_opt(flat.max_properties, schema["maxProperties"])
        for key in ("dependentRequired", "dependentSchemas", "dependencies"):
            deps = g(key)
            if isinstance(deps, Mapping):
                for prop, needed in deps.items():
                    if isinstance(needed, list):
                        flat.dependent_required.setdefault(prop, []).extend(needed)
                    elif isinstance(needed, Mapping | bool):
                        flat.dependent_schemas.setdefault(prop, []).append(needed)

        # composition
        for sub in g("allOf") or ():
            self.absorb(flat, sub, expanding)
        disc = g("discriminator")
        disc = disc if isinstance(disc, Mapping) and isinstance(disc.get("propertyName"), str) \
            else None
        if isinstance(g("oneOf"), list) and schema["oneOf"]:
            flat.one_of.append((list(schema["oneOf"]), disc))
        if isinstance(g("anyOf"), list) and schema["anyOf"]:
            flat.any_of.append((list(schema["anyOf"]), disc))
        if "not" in schema:
            self._absorb_not(flat, schema["not"])
        if "if" in schema and ("then" in schema or "else" in schema):
            flat.conditions.append((schema["if"], g("then"), g("else")))

        # annotations
        examples = g("examples")
        if isinstance(examples, list):
            flat.examples.extend(examples)
        if "example" in schema:
            flat.examples.append(schema["example"])
        if "default" in schema:
            flat.defaults.append(schema["default"])

    def _absorb_not(self, flat: Flat, negated: Any) -> None:
        """Record ``not``; its simple forms (a type, an enum, a const) also steer generation."""
        flat.nots.append(negated)
        if not isinstance(negated, Mapping):
            return
        if set(negated) == {"type"}:
            t = negated["type"]
            flat.not_types.update([t] if isinstance(t, str) else t)
        elif set(negated) in ({"enum"}, {"const"}):
            flat.excluded.extend(negated.get("enum", [negated.get("const")]))

    @staticmethod
    def _intersect_values(a: list[Any], b: list[Any]) -> list[Any]:
        keys = {freeze(v) for v in b}
        return [v for v in a if freeze(v) in keys]

    @staticmethod
    def _lower(flat: Flat, value: int | float, excl: bool) -> None:
        if flat.lo is None or value > flat.lo or (value == flat.lo and excl):
            flat.lo, flat.lo_excl = value, excl

    @staticmethod
    def _upper(flat: Flat, value: int | float, excl: bool) -> None:
        if flat.hi is None or value < flat.hi or (value == flat.hi and excl):
            flat.hi, flat.hi_excl = value, excl
