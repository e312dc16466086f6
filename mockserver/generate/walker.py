"""The walker: :class:`DataGenerator` turns a merged schema into a value, type by type.

It asks :class:`~mockserver.generate.merge.SchemaMerger` for the merged view of each location,
chooses ``oneOf``/``anyOf`` branches and ``if``/``then``/``else`` paths, tries the realistic
candidates of :mod:`~mockserver.generate.hints` before values built from the constraints
(:mod:`~mockserver.generate.regex` for patterns), and checks candidates, the branches a value
must not match, and every finished value with the engine's validators
(:mod:`~mockserver.generate.checks`).
"""

from __future__ import annotations

import copy
import math
import secrets
import string
import uuid
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from functools import cached_property
from random import Random
from typing import Any, Final, NamedTuple

from faker import Generator
from faker.config import AVAILABLE_LOCALES

from mockserver.generate.checks import (
    compile_check,
    freeze,
    is_number,
    is_type,
    multiple_ok,
    string_ok,
    valid,
)
from mockserver.generate.errors import GenerationError
from mockserver.generate.hints import FORMAT_GENERATORS, NUMBER_HINTS, STRING_HINTS
from mockserver.generate.merge import Flat, Group, SchemaMerger, min_opt
from mockserver.generate.names import (
    FORMAT_AS_HINT,
    HINT_FORMATS,
    ascii_slug,
    normalize_name,
    number_kind,
    singular,
    string_kind,
)
from mockserver.generate.persona import Persona
from mockserver.generate.pools import pool
from mockserver.generate.providers import TS_MAX, TS_MIN, Providers, locale_country, register
from mockserver.generate.regex import compile_pattern, sample_regex

__all__ = ["DataGenerator", "generate"]

_HARD_DEPTH: Final = 48
_RETRIES: Final = 8
_CHECKED_TRIES: Final = 8  # whole values generated before giving up on one that validates
_INT_FORMAT_RANGES: Final = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
_TYPE_ORDER: Final = ("object", "array", "string", "integer", "number", "boolean", "null")
_ANY: Final[list[Any]] = [True]


class _Ctx(NamedTuple):
    """Where generation stands: property name, `$ref` path, depth, the current persona."""

    name: str | None
    path: tuple[str, ...]
    depth: int
    persona: Persona
    optional: bool = False
    minimal: bool = False



class DataGenerator:
    """Deterministic generator of realistic, schema-valid JSON values.

    Args:
        seed: seed of the generator's random stream; ``None`` picks a random one (see
            :attr:`seed`).
        locale: faker locale used for names, addresses, companies...
        optional_rate: probability that an optional object property is included.
        null_rate: probability of ``null`` where the schema allows it besides other types.
        max_depth: nesting depth after which only minimal values (required properties only,
            ``minItems`` items, ``null`` where allowed) are produced.
        max_recursion: how often one ``$ref`` may be expanded along a path before values under
            it become minimal; recursion always terminates where the schema lets it.
        mode: ``"response"`` leaves out optional ``writeOnly`` properties, ``"request"`` leaves
            out optional ``readOnly`` ones.
    """

    def __init__(
        self,
        seed: int | None = None,
        locale: str = "en_US",
        *,
        optional_rate: float = 0.9,
        null_rate: float = 0.1,
        max_depth: int = 8,
        max_recursion: int = 2,
        mode: str = "response",
    ) -> None:
        if locale not in AVAILABLE_LOCALES:
            raise ValueError(f"unknown faker locale {locale!r}")
        if mode not in ("response", "request"):
            raise ValueError("mode must be 'response' or 'request'")
        self.locale = locale
        self.optional_rate = optional_rate
        self.null_rate = null_rate
        self.max_depth = max_depth
        self.max_recursion = max_recursion
        self.mode = mode
        self._skip_flag = "writeOnly" if mode == "response" else "readOnly"
        self._home = locale_country(locale)
        self._rng: Random = Random()
        self._merger = SchemaMerger()
        self.seed: int = 0
        self.reseed(seed)

    # -- public API --------------------------------------------------------------------------

    def reseed(self, seed: int | None) -> None:
        """Restart the random stream from ``seed`` (``None``: a fresh random seed)."""
        self.seed = secrets.randbits(63) if seed is None else seed
        self._rng.seed(self.seed)

    def generate(
        self, schema: Any, root: Mapping[str, Any] | None = None, name: str | None = None
    ) -> Any:
        """Return a value valid against ``schema``, as the engine checks it: every value is
        validated by the engine's kind of validator (:mod:`.checks`) before it is returned, and
        generated again (up to 8 times) when it fails.

        Args:
            schema: a JSON Schema (dict or bool); local ``$ref``\\ s are resolved against
                ``root``.
            root: the document ``$ref``\\ s point into (the whole OpenAPI document); defaults
                to ``schema`` itself.
            name: the property name the schema sits under, used to pick realistic values.

        Raises:
            GenerationError: the schema admits no value this generator can find (or none that
                passes the check, or the check cannot compile the schema).
        """
        previous = self._merger.root
        self._merger.root = root if root is not None else (
            schema if isinstance(schema, Mapping) else {}
        )
        try:
            for _ in range(_CHECKED_TRIES):
                ctx = _Ctx(name=name, path=(), depth=0, persona=Persona(self))
                value = self._gen([schema], ctx)
                if self._valid(value, schema):
                    return value
            problems = [] if isinstance(schema, bool) else compile_check(
                schema, self._merger.root).violations(value)
            shown = "; ".join(v.message for v in problems[:3]) or "invalid"
            raise GenerationError(f"no generated value passed the schema's validation: {shown}")
        except RecursionError as exc:
            raise GenerationError("schema nesting too deep for generation") from exc
        finally:
            self._merger.root = previous

    # -- schema plumbing ---------------------------------------------------------------------

    def _valid(self, value: Any, schema: Any) -> bool:
        """Full validation against ``schema`` (with the root document for `$ref`s)."""
        return valid(value, schema, self._merger.root)

    @staticmethod
    def _as_schema(schemas: Sequence[Any]) -> Any:
        return schemas[0] if len(schemas) == 1 else {"allOf": list(schemas)}

    # -- randomness helpers ------------------------------------------------------------------

    @cached_property
    def _fake(self) -> Providers:
        """The providers of the values property names ask for, registered on an instance of
        faker's own generator class (what ``Faker(locale)`` delegates to) that draws from this
        generator's random stream; made on first use (most answers need none)."""
        fake = Generator()
        fake.random = self._rng
        return register(fake)

    def _pick(self, method: str) -> str:
        return self._rng.choice(pool(self.locale, method))

    def _timestamp(self) -> int:
        return self._rng.randint(TS_MIN, TS_MAX)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # -- core dispatch -----------------------------------------------------------------------

    def _gen(self, schemas: Sequence[Any], ctx: _Ctx) -> Any:
        if ctx.depth > _HARD_DEPTH:
            raise GenerationError("schema nesting too deep: a required recursion never ends")
        flat = self._merger.flatten(schemas)
        ctx = self._enter(ctx, flat.refs)
        if ctx.depth >= self.max_depth and not ctx.minimal:
            ctx = ctx._replace(minimal=True)
        try:
            return self._gen_flat(flat, ctx)
        except GenerationError:
            for example in self._shuffled(flat.examples):
                if self._valid(example, self._as_schema(schemas)):
                    return copy.deepcopy(example)
            raise

    def _enter(self, ctx: _Ctx, refs: Sequence[str]) -> _Ctx:
        if not refs:
            return ctx
        path = ctx.path + tuple(refs)
        minimal = ctx.minimal or any(path.count(r) > self.max_recursion for r in refs)
        return ctx._replace(path=path, minimal=minimal)

    def _shuffled(self, values: Sequence[Any]) -> list[Any]:
        out = list(values)
        self._rng.shuffle(out)
        return out

    def _gen_flat(self, flat: Flat, ctx: _Ctx) -> Any:
        if flat.unsat is not None:
            raise GenerationError(flat.unsat)
        if flat.one_of:
            rest = flat.copy()
            group = rest.one_of.pop(0)
            return self._gen_branch(rest, group, ctx, exclusive=True)
        if flat.any_of:
            rest = flat.copy()
            group = rest.any_of.pop(0)
            return self._gen_branch(rest, group, ctx, exclusive=False)
        if flat.conditions:
            return self._gen_conditional(flat, ctx)
        if not flat.nots:
            return self._gen_plain(flat, ctx)
        for attempt in range(4 * _RETRIES):
            value = self._gen_plain(flat, ctx._replace(minimal=ctx.minimal or attempt % 2 == 1))
            if not self._matches_any(value, flat.nots):
                return value
        raise GenerationError("could not generate a value outside every `not` schema")

    def _matches_any(self, value: Any, schemas: Sequence[Any]) -> bool:
        """Whether ``value`` is valid against any of ``schemas``."""
        return any(self._valid(value, s) for s in schemas)

    def _discriminator_value(self, disc: Mapping[str, Any], branch: Any) -> str | None:
        ref = branch.get("$ref") if isinstance(branch, Mapping) else None
        if not isinstance(ref, str):
            return None
        simple = ref.rsplit("/", 1)[-1]
        mapping = disc.get("mapping")
        if isinstance(mapping, Mapping):
            for key, target in mapping.items():
                if target in (ref, simple):
                    return str(key)
        return simple

    def _gen_branch(self, rest: Flat, group: Group, ctx: _Ctx, *, exclusive: bool) -> Any:
        branches, disc = group
        order = self._shuffled(range(len(branches)))
        if ctx.minimal or ctx.depth >= self.max_depth:
            # prefer branches that do not recurse back into the path
            def recursive(i: int) -> bool:
                b = branches[i]
                return isinstance(b, Mapping) and b.get("$ref") in ctx.path

            order.sort(key=recursive)
        for index in order:
            branch = branches[index]
            others = [b for j, b in enumerate(branches) if j != index]
            tag = self._discriminator_value(disc, branch) if disc is not None else None
            variants: list[Any] = []
            if tag is not None and disc is not None:
                prop = disc["propertyName"]
                variants.append({"properties": {prop: {"const": tag}}, "required": [prop]})
            variants.append(None)
            for variant in variants:
                merged = rest.copy()
                before = len(merged.refs)
                self._merger.absorb(merged, branch)
                if variant is not None:
                    self._merger.absorb(merged, variant)
                if merged.unsat is not None:
                    continue
                sub_ctx = self._enter(ctx._replace(depth=ctx.depth + 1), merged.refs[before:])
                for attempt in range(3 if exclusive else 1):
                    try:
                        value = self._gen_flat(
                            merged, sub_ctx._replace(minimal=sub_ctx.minimal or attempt == 2)
                        )
                    except GenerationError:
                        break
                    if not exclusive:
                        return value
                    if not self._matches_any(value, others):
                        return value
        kind = "oneOf" if exclusive else "anyOf"
        raise GenerationError(f"no {kind} branch could be generated" +
                              (" matching exactly one branch" if exclusive else ""))

    def _gen_conditional(self, flat: Flat, ctx: _Ctx) -> Any:
        rest = flat.copy()
        condition, then, otherwise = rest.conditions.pop(0)
        paths = [True, False]
        self._rng.shuffle(paths)
        for take_then in paths:
            merged = rest.copy()
            if take_then:
                self._merger.absorb(merged, condition)
                if then is not None:
                    self._merger.absorb(merged, then)
            elif otherwise is not None:
                self._merger.absorb(merged, otherwise)
            if merged.unsat is not None:
                continue
            for _ in range(4):
                try:
                    value = self._gen_flat(merged, ctx)
                except GenerationError:
                    break
                if self._valid(value, condition) == take_then:
                    return value
        raise GenerationError("could not satisfy if/then/else")

    def _choose_types(self, flat: Flat, ctx: _Ctx) -> list[str]:
        types = self._candidate_types(flat, ctx)
        if flat.not_types:
            if flat.types is None and set(types) <= flat.not_types:
                types = list(_TYPE_ORDER)
            types = [t for t in types if t not in flat.not_types
                     and not (t == "integer" and "number" in flat.not_types)]
        return types

    def _candidate_types(self, flat: Flat, ctx: _Ctx) -> list[str]:
        if flat.types is not None:
            return [t for t in _TYPE_ORDER if t in flat.types]
        if flat.properties or flat.required or flat.additional or flat.pattern_properties \
                or flat.min_properties or flat.max_properties is not None \
                or flat.property_names or flat.closed:
            return ["object"]
        if flat.items or flat.prefix_items or flat.min_items or flat.max_items is not None \
                or flat.contains or flat.unique_items:
            return ["array"]
        if flat.min_length or flat.max_length is not None or flat.patterns:
            return ["string"]
        if any(f in _INT_FORMAT_RANGES for f in flat.formats):
            return ["integer"]
        if flat.lo is not None or flat.hi is not None or flat.multiple_of \
                or any(f in ("float", "double") for f in flat.formats):
            return ["number"]
        if flat.formats or ctx.name is None or string_kind(ctx.name) is not None:
            return ["string"]
        if number_kind(ctx.name) is not None:
            return ["integer"]
        return ["string"]

    def _gen_plain(self, flat: Flat, ctx: _Ctx) -> Any:
        if flat.enum is not None:
            banned = {freeze(v) for v in flat.excluded}
            choices = [v for v in flat.enum if self._value_ok(v, flat, check_enum=False)
                       and freeze(v) not in banned]
            if not choices:
                raise GenerationError("no enum/const value satisfies the other constraints")
            if ctx.minimal and any(v is None for v in choices):
                return None
            return copy.deepcopy(self._rng.choice(choices))
        types = self._choose_types(flat, ctx)
        if not types:
            raise GenerationError("no type is allowed")
        concrete = [t for t in types if t != "null"]
        if "null" in types and (
            not concrete or ctx.minimal or self._rng.random() < self.null_rate
        ):
            return None
        first = self._rng.choice(concrete)
        order = [first, *(t for t in concrete if t != first)]
        for kind in order:
            try:
                return self._gen_type(kind, flat, ctx)
            except GenerationError:
                if kind == order[-1] and "null" not in types:
                    raise
        return None

    def _gen_type(self, kind: str, flat: Flat, ctx: _Ctx) -> Any:
        if kind in ("string", "integer", "number", "boolean") and ctx.optional and flat.defaults \
                and self._rng.random() < 0.15:
            default = flat.defaults[0]
            if self._value_ok(default, flat):
                return copy.deepcopy(default)
        if kind == "object":
            return self._gen_object(flat, ctx)
        if kind == "array":
            return self._gen_array(flat, ctx)
        if kind == "string":
            return self._gen_string(flat, ctx)
        if kind in ("integer", "number"):
            return self._gen_number(flat, ctx, integer=kind == "integer")
        if kind == "boolean":
            return self._rng.random() < 0.5
        raise GenerationError(f"unknown type {kind!r}")

    # -- scalar checks -----------------------------------------------------------------------

    def _value_ok(self, value: Any, flat: Flat, *, check_enum: bool = True) -> bool:
        if flat.types is not None and not any(is_type(value, t) for t in flat.types):
            return False
        if check_enum and flat.enum is not None and \
                freeze(value) not in {freeze(v) for v in flat.enum}:
            return False
        if is_number(value):
            return self._number_ok(value, flat)
        if isinstance(value, str):
            return self._string_ok(value, flat)
        if isinstance(value, list):
            return len(value) >= flat.min_items and (
                flat.max_items is None or len(value) <= flat.max_items)
        if isinstance(value, dict):
            return all(r in value for r in flat.required)
        return True

    @staticmethod
    def _number_ok(value: int | float, flat: Flat) -> bool:
        if flat.lo is not None and (value < flat.lo or (flat.lo_excl and value == flat.lo)):
            return False
        if flat.hi is not None and (value > flat.hi or (flat.hi_excl and value == flat.hi)):
            return False
        return multiple_ok(value, flat.multiple_of)

    @staticmethod
    def _string_ok(value: str, flat: Flat) -> bool:
        return string_ok(value, flat.min_length, flat.max_length, flat.patterns, flat.formats)

    # -- strings -----------------------------------------------------------------------------

    def _gen_string(self, flat: Flat, ctx: _Ctx) -> str:
        known = [f for f in flat.formats if f in FORMAT_GENERATORS]
        norm = normalize_name(ctx.name) if ctx.name else ""
        kind = string_kind(ctx.name) if ctx.name else None
        if kind is None:
            for f in flat.formats:
                kind = FORMAT_AS_HINT.get(f, kind)
        candidates: list[str] = []
        if kind is not None and all(f in HINT_FORMATS.get(kind, ()) for f in known):
            candidates.extend(STRING_HINTS[kind](self, ctx.persona, norm))
        for f in known:
            candidates.extend(FORMAT_GENERATORS[f](self, ctx.persona, norm))
        if kind is None and not known:
            candidates.extend(e for e in self._shuffled(flat.examples) if isinstance(e, str))
        for candidate in candidates:
            if self._string_ok(candidate, flat):
                return candidate
        if flat.patterns:
            value = self._string_from_patterns(flat)
            if value is not None:
                return value
        elif not known:
            value = self._text(flat)
            if self._string_ok(value, flat):
                return value
        for example in flat.examples:
            if isinstance(example, str) and self._string_ok(example, flat):
                return example
        raise GenerationError(
            f"cannot generate a string for {ctx.name or 'value'!r} satisfying length "
            f"[{flat.min_length}, {flat.max_length}], patterns {flat.patterns}, "
            f"formats {flat.formats}"
        )

    def _string_from_patterns(self, flat: Flat) -> str | None:
        usable = [p for p in flat.patterns if compile_pattern(p) is not None]
        if not usable:  # nothing we can check: ignore the patterns
            value = self._text(flat)
            return value if self._string_ok(value, flat) else None
        caps = (3, 6, 12, 24, 48, 96)
        filler = string.ascii_lowercase
        for attempt in range(48):
            pattern = usable[attempt % len(usable)]
            cap = caps[min(attempt // 8, len(caps) - 1)]
            if flat.min_length:
                cap = max(cap, flat.min_length)
            sample = sample_regex(pattern, self._rng, cap)
            if sample is None:
                continue
            value = sample
            if self._string_ok(value, flat):
                return value
            if len(value) < flat.min_length:
                pad = "".join(self._rng.choice(filler) for _ in range(flat.min_length - len(value)))
                for padded in (value + pad, pad + value):
                    if self._string_ok(padded, flat):
                        return padded
        return None

    def _text(self, flat: Flat) -> str:
        low, high = flat.min_length, flat.max_length
        if high is not None and high < low:
            raise GenerationError("minLength is above maxLength")
        word = self._pick("word")
        if low <= len(word) and (high is None or len(word) <= high):
            return word
        if high is not None and len(word) > high:
            return word[:high] if high >= low else word
        target = low if high is None else self._rng.randint(low, min(high, low + 16))
        text = word
        while len(text) < target:
            text += " " + self._pick("sentence")
        text = text[:target]
        if text.endswith(" "):
            text = text[:-1] + self._rng.choice(string.ascii_lowercase)
        return text

    # -- numbers -----------------------------------------------------------------------------

    def _gen_number(self, flat: Flat, ctx: _Ctx, *, integer: bool) -> int | float:
        kind = number_kind(ctx.name) if ctx.name else None
        if kind is not None:
            norm = normalize_name(ctx.name or "")
            for candidate in NUMBER_HINTS[kind](self, ctx.persona, norm, integer):
                if self._number_ok(candidate, flat):
                    return candidate
        return self._random_number(flat, integer=integer)

    def _window(self, flat: Flat, integer: bool) -> tuple[Fraction, Fraction, bool]:
        """Inclusive [low, high] (defaults around 0..1000) and whether both were defaulted."""
        lo = None if flat.lo is None else Fraction(flat.lo)
        hi = None if flat.hi is None else Fraction(flat.hi)
        if integer:
            if lo is not None:
                lo = Fraction(math.floor(lo) + 1 if flat.lo_excl else math.ceil(lo))
            if hi is not None:
                hi = Fraction(math.ceil(hi) - 1 if flat.hi_excl else math.floor(hi))
        defaulted = lo is None and hi is None
        if lo is None and hi is None:
            lo, hi = Fraction(1), Fraction(1000)
        elif lo is None:
            assert hi is not None
            lo = Fraction(0) if hi >= 1 else hi - 1000
        elif hi is None:
            hi = lo + 1000
        if integer:
            for f in flat.formats:
                if f in _INT_FORMAT_RANGES:
                    a, b = _INT_FORMAT_RANGES[f]
                    lo, hi = max(lo, Fraction(a)), min(hi, Fraction(b))
        return lo, hi, defaulted

    def _random_number(self, flat: Flat, *, integer: bool) -> int | float:
        lo, hi, defaulted = self._window(flat, integer)
        if flat.multiple_of:
            return self._random_multiple(flat, lo, hi, defaulted, integer)
        if integer:
            if lo > hi:
                raise GenerationError("no integer lies within minimum/maximum")
            value = self._rng.randint(int(lo), int(hi))
            if flat.excluded:
                banned = {freeze(v) for v in flat.excluded}
                for offset in range(min(int(hi - lo) + 1, 10_000)):
                    candidate = int(lo) + (value - int(lo) + offset) % (int(hi - lo) + 1)
                    if freeze(candidate) not in banned:
                        return candidate
            return value
        if lo > hi:
            raise GenerationError("minimum is above maximum")
        for _ in range(_RETRIES):
            x = self._rng.uniform(float(lo), float(hi))
            for rounded in (round(x, 2), round(x, 6), x):
                if self._number_ok(rounded, flat):
                    return rounded
        for edge in (float(lo), float((lo + hi) / 2), float(hi)):
            if self._number_ok(edge, flat):
                return edge
        raise GenerationError("no number lies within the exclusive bounds")

    def _random_multiple(
        self, flat: Flat, lo: Fraction, hi: Fraction, defaulted: bool, integer: bool
    ) -> int | float:
        step = Fraction(1) if integer else Fraction(0)
        for m in flat.multiple_of:
            f = Fraction(str(m)) if isinstance(m, float) else Fraction(m)
            if step == 0:
                step = f
            else:  # lcm of two fractions
                step = Fraction(math.lcm(step.numerator, f.numerator),
                                math.gcd(step.denominator, f.denominator))
        if integer:
            step = Fraction(step.numerator)
        k_lo, k_hi = math.ceil(lo / step), math.floor(hi / step)
        if defaulted and k_lo > k_hi:
            k_lo, k_hi = 1, 10
        if flat.lo is None and not defaulted:
            k_lo = min(k_lo, k_hi - 10)
        if flat.hi is None and not defaulted:
            k_hi = max(k_hi, k_lo + 10)
        if k_lo > k_hi:
            raise GenerationError("no multipleOf value lies within minimum/maximum")

        def value(k: int) -> int | float:
            exact = k * step
            return int(exact) if exact.denominator == 1 and (integer or step >= 1) \
                else float(exact)

        for _ in range(32):
            candidate = value(self._rng.randint(k_lo, k_hi))
            if self._number_ok(candidate, flat):
                return candidate
        for k in range(k_lo, min(k_hi, k_lo + 2000) + 1):
            candidate = value(k)
            if self._number_ok(candidate, flat):
                return candidate
        raise GenerationError("no multipleOf value passes the floating point check")

    # -- arrays ------------------------------------------------------------------------------

    def _item_schemas(self, flat: Flat, index: int) -> list[Any]:
        schemas = list(flat.prefix_items[index]) if index < len(flat.prefix_items) else []
        schemas.extend(s for start, s in flat.items if index >= start)
        return schemas

    def _gen_array(self, flat: Flat, ctx: _Ctx) -> list[Any]:
        low, high = flat.min_items, flat.max_items
        if flat.items_limit is not None:
            high = min_opt(high, flat.items_limit)
        need = 0
        if flat.contains:
            need = 1 if flat.min_contains is None else flat.min_contains
            if flat.max_contains is not None and need > flat.max_contains:
                raise GenerationError("minContains is above maxContains")
        low = max(low, need)
        if high is not None and low > high:
            raise GenerationError("minItems/contains is above maxItems")
        if ctx.minimal:
            count = low
        else:
            base = max(low, 1)
            count = self._rng.randint(base, base + 2)
            if high is not None:
                count = min(count, high)
        item_name = singular(normalize_name(ctx.name)) if ctx.name else None
        contains_schema = self._as_schema(flat.contains) if flat.contains else None
        for _ in range(4):
            prefix = len(flat.prefix_items)
            pool = list(range(prefix, count)) if count - prefix >= need else list(range(count))
            contains_at = set(self._rng.sample(pool, need)) if need else set()
            out = self._fill_array(flat, ctx, count, low, contains_at, item_name)
            if flat.max_contains is None or contains_schema is None or sum(
                self._valid(v, contains_schema) for v in out
            ) <= flat.max_contains:
                return out
        raise GenerationError("could not respect maxContains")

    def _fill_array(
        self,
        flat: Flat,
        ctx: _Ctx,
        count: int,
        low: int,
        contains_at: set[int],
        item_name: str | None,
    ) -> list[Any]:
        out: list[Any] = []
        seen: set[Hashable] = set()
        parent = ctx._replace(name=item_name, depth=ctx.depth + 1, optional=False)
        for index in range(count):
            schemas = self._item_schemas(flat, index)
            if index in contains_at:
                schemas.extend(flat.contains)
            tries = (64 if index < low else 12) if flat.unique_items else 1
            for _ in range(tries):
                # the first item of an array inside a "person" (billing addresses of a customer)
                # belongs to that person; other items, and the items of a list, are new people
                shared = index == 0 and ctx.persona.touched
                item_ctx = parent._replace(persona=ctx.persona if shared else Persona(self))
                try:
                    value = self._gen(schemas or _ANY, item_ctx)
                except GenerationError:
                    if index >= low:
                        return out
                    raise
                key = freeze(value) if flat.unique_items else None
                if key not in seen:
                    break
            else:
                if index >= low:
                    return out
                raise GenerationError("could not generate enough distinct items for uniqueItems")
            if key is not None:
                seen.add(key)
            out.append(value)
        return out

    # -- objects -----------------------------------------------------------------------------

    def _flagged(self, schemas: Sequence[Any], flag: str) -> bool:
        for schema in schemas:
            if not isinstance(schema, Mapping):
                continue
            if schema.get(flag) is True:
                return True
            ref = schema.get("$ref")
            if isinstance(ref, str):
                try:
                    target = self._merger.resolve(ref)
                except GenerationError:
                    continue
                if isinstance(target, Mapping) and target.get(flag) is True:
                    return True
        return False

    def _schemas_for(self, flat: Flat, name: str) -> list[Any]:
        schemas = list(flat.properties.get(name, ()))
        for pattern, sub in flat.pattern_properties:
            rx = compile_pattern(pattern)
            if rx is not None and rx.search(name):
                schemas.append(sub)
        for own_names, own_patterns, sub in flat.additional:
            if name in own_names:
                continue
            if any(
                (rx := compile_pattern(p)) is not None and rx.search(name) for p in own_patterns
            ):
                continue
            schemas.append(sub)
        return schemas

    def _name_ok(self, flat: Flat, name: str) -> bool:
        if not flat.allows_name(name):
            return False
        return all(self._valid(name, s) for s in flat.property_names)

    def _gen_object(self, flat: Flat, ctx: _Ctx) -> Any:
        required = list(flat.required)
        for name in required:
            if not flat.allows_name(name):
                raise GenerationError(f"required property {name!r} is forbidden by "
                                      "additionalProperties: false")
        chosen: list[str] = []
        optional: list[str] = []
        for name in [*flat.properties, *(r for r in required if r not in flat.properties)]:
            if name in required:
                chosen.append(name)
            elif not ctx.minimal and self._name_ok(flat, name):
                optional.append(name)
        for name in optional:
            skip = self._flagged(flat.properties[name], self._skip_flag)
            if not skip and self._rng.random() < self.optional_rate:
                chosen.append(name)
        # dependentRequired closure (optional properties whose dependency cannot be met go)
        changed = True
        while changed:
            changed = False
            for name in list(chosen):
                for dep in flat.dependent_required.get(name, ()):
                    if dep not in chosen:
                        if not self._name_ok(flat, dep):
                            if name in required:
                                raise GenerationError(f"{name!r} needs forbidden {dep!r}")
                            chosen.remove(name)
                        else:
                            chosen.append(dep)
                            if dep not in required:
                                required.append(dep)
                        changed = True
                        break
        triggered = [n for n in chosen if n in flat.dependent_schemas]
        if triggered:
            return self._gen_dependent(flat, ctx, triggered, required)
        if flat.max_properties is not None and len(chosen) > flat.max_properties:
            keep = [n for n in chosen if n in required]
            if len(keep) > flat.max_properties:
                raise GenerationError("more required properties than maxProperties")
            extra = [n for n in chosen if n not in required][: flat.max_properties - len(keep)]
            chosen = [n for n in chosen if n in keep or n in extra]
        order: dict[str, int] = {}
        for n in [*flat.properties, *required]:
            order.setdefault(n, len(order))
        chosen.sort(key=lambda n: order.get(n, len(order)))

        result: dict[str, Any] = {}
        child = ctx._replace(depth=ctx.depth + 1)
        for name in chosen:
            is_required = name in required
            try:
                result[name] = self._gen(
                    self._schemas_for(flat, name) or _ANY,
                    child._replace(name=name, optional=not is_required),
                )
            except GenerationError:
                if is_required:
                    raise
        self._add_extras(flat, ctx, result, optional)
        return result

    def _gen_dependent(
        self, flat: Flat, ctx: _Ctx, triggered: list[str], required: list[str]
    ) -> Any:
        """Apply the ``dependentSchemas`` of the chosen properties, then generate again.

        The dependent schemas are applied whether or not the property ends up present (that is
        stricter, hence still valid); if that is impossible the optional triggers are left out."""
        merged = flat.copy()
        merged.dependent_schemas = {}
        for name in triggered:
            for sub in flat.dependent_schemas[name]:
                self._merger.absorb(merged, sub)
        merged.required = [*merged.required, *(n for n in triggered if n not in merged.required)]
        try:
            return self._gen_flat(merged, ctx)
        except GenerationError:
            if any(n in required for n in triggered):
                raise
        without = flat.copy()
        without.dependent_schemas = {}
        names = frozenset(n for n in [*flat.properties, *flat.required] if n not in triggered)
        without.closed.append((names, ()))
        without.no_extras = True
        return self._gen_flat(without, ctx)

    def _add_extras(
        self, flat: Flat, ctx: _Ctx, result: dict[str, Any], optional: list[str]
    ) -> None:
        child = ctx._replace(depth=ctx.depth + 1, optional=True)
        # minProperties: first add the optional properties that were left out
        for name in optional:
            if len(result) >= flat.min_properties:
                break
            if name not in result:
                try:
                    result[name] = self._gen(self._schemas_for(flat, name) or _ANY,
                                             child._replace(name=name))
                except GenerationError:
                    continue
        room = None if flat.max_properties is None else flat.max_properties - len(result)
        want = max(0, flat.min_properties - len(result))
        is_map = not flat.properties and (flat.additional or flat.pattern_properties)
        free_form = not flat.properties and not flat.no_extras and flat.types == {"object"} \
            and not flat.required
        if not ctx.minimal and (is_map or free_form):
            want = max(want, self._rng.randint(1, 3) if is_map else self._rng.randint(0, 2))
        if room is not None:
            want = min(want, room)
        attempts = 0
        while want > 0 and attempts < want * 10 + 10:
            attempts += 1
            key = self._extra_key(flat, ctx)
            if key is None or key in result or key in flat.properties or \
                    not self._name_ok(flat, key):
                continue
            if flat.no_extras and not any(
                (rx := compile_pattern(p)) is not None and rx.search(key)
                for p, _ in flat.pattern_properties
            ):
                continue
            try:
                result[key] = self._gen(self._schemas_for(flat, key) or _ANY,
                                        child._replace(name=None))
            except GenerationError:
                continue
            want -= 1
        if len(result) < flat.min_properties:
            raise GenerationError("could not reach minProperties")

    def _extra_key(self, flat: Flat, ctx: _Ctx) -> str | None:
        rng = self._rng
        use_pattern = flat.no_extras or not flat.additional or rng.random() < 0.5
        if flat.pattern_properties and use_pattern:
            pattern, _ = rng.choice(flat.pattern_properties)
            rx = compile_pattern(pattern)
            for _ in range(8):
                key = sample_regex(pattern, rng, 6)
                if key is not None and rx is not None and rx.search(key):
                    return key
            return None
        if flat.property_names:
            try:
                key = self._gen(flat.property_names, ctx._replace(name=None, optional=False))
            except GenerationError:
                return None
            return key if isinstance(key, str) else None
        word = ascii_slug(self._pick("word")) or "key"
        return word if rng.random() < 0.8 else f"{word}_{rng.randint(2, 99)}"


def generate(
    schema: Any,
    *,
    root: Mapping[str, Any] | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> Any:
    """Generate one value for ``schema`` with a fresh :class:`DataGenerator` (see its docs)."""
    return DataGenerator(seed=seed).generate(schema, root=root, name=name)
