"""Strings that match a regex: ECMA-262 patterns read by Python's regex parser, then sampled.

JSON Schema patterns are ECMA-262 regexes; :func:`python_pattern` rewrites the syntax Python lacks
(``\\p{L}``, ``(?<name>``, ``\\k<name>``) and :func:`sample_regex` walks the parse tree of Python's
own regex parser to build one matching string, with unbounded repeats capped.
"""

from __future__ import annotations

import importlib
import re
import string
import warnings
from collections.abc import Sequence
from functools import lru_cache
from random import Random
from typing import Any, Final

__all__ = ["ALNUM", "compile_pattern", "python_pattern", "sample_regex"]

ALNUM: Final = string.ascii_letters + string.digits
_PRINTABLE: Final = "".join(chr(c) for c in range(0x20, 0x7F))

_ECMA_PROPERTIES: Final = {
    "L": "a-zA-Z", "Letter": "a-zA-Z", "Alphabetic": "a-zA-Z", "Alpha": "a-zA-Z",
    "Lu": "A-Z", "Uppercase_Letter": "A-Z", "Uppercase": "A-Z",
    "Ll": "a-z", "Lowercase_Letter": "a-z", "Lowercase": "a-z",
    "N": "0-9", "Nd": "0-9", "Number": "0-9", "Decimal_Number": "0-9",
}


def _from_ecma(pattern: str) -> str:
    """Rewrite the ECMA-262 regex syntax Python lacks into an (ASCII) Python equivalent.

    ``\\p{L}``-style property classes become ASCII ranges (a subset, so strings matching the
    rewrite match the original), ``(?<name>`` becomes ``(?P<name>``, ``\\k<name>`` becomes
    ``(?P=name)``."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            prop = re.match(r"\{(?:[A-Za-z_]+=)?([A-Za-z_]+)\}", pattern[i + 2:])
            if nxt in "pP" and prop and prop.group(1) in _ECMA_PROPERTIES:
                ranges = _ECMA_PROPERTIES[prop.group(1)]
                if nxt == "p":
                    out.append(ranges if in_class else f"[{ranges}]")
                else:
                    out.append(f"[^{ranges}]" if not in_class else pattern[i:i + 2 + prop.end()])
                i += 2 + prop.end()
                continue
            name = re.match(r"<([A-Za-z_]\w*)>", pattern[i + 2:])
            if nxt == "k" and name and not in_class:
                out.append(f"(?P={name.group(1)})")
                i += 2 + name.end()
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif not in_class and pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def python_pattern(pattern: str) -> str | None:
    """``pattern`` as Python ``re`` syntax (after :func:`_from_ecma` if needed), else None."""
    for candidate in (pattern, _from_ecma(pattern)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. FutureWarning: possible nested set
                re.compile(candidate)
        except (re.error, TypeError, RecursionError):
            continue
        return candidate
    return None


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """``pattern`` compiled as a Python regex (after :func:`python_pattern`), else None."""
    python = python_pattern(pattern)
    if python is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(python)


# --------------------------------------------------------------------------------------------
# regex -> string (walks the parse tree of Python's own regex parser)
# --------------------------------------------------------------------------------------------

_sre: Any = importlib.import_module("re._parser")
_C: Any = importlib.import_module("re._constants")

_CATEGORY_POOLS: Final[dict[Any, str]] = {
    _C.CATEGORY_DIGIT: string.digits,
    _C.CATEGORY_NOT_DIGIT: string.ascii_lowercase + string.ascii_uppercase,
    _C.CATEGORY_SPACE: " ",
    _C.CATEGORY_NOT_SPACE: ALNUM,
    _C.CATEGORY_WORD: ALNUM + "_",
    _C.CATEGORY_NOT_WORD: " -.,:",
    _C.CATEGORY_LINEBREAK: "\n",
    _C.CATEGORY_NOT_LINEBREAK: ALNUM,
}
_CATEGORY_RX: Final[dict[Any, re.Pattern[str]]] = {
    _C.CATEGORY_DIGIT: re.compile(r"\d"),
    _C.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    _C.CATEGORY_SPACE: re.compile(r"\s"),
    _C.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    _C.CATEGORY_WORD: re.compile(r"\w"),
    _C.CATEGORY_NOT_WORD: re.compile(r"\W"),
    _C.CATEGORY_LINEBREAK: re.compile(r"\n"),
    _C.CATEGORY_NOT_LINEBREAK: re.compile(r"[^\n]"),
}


class _RegexUnsupported(Exception):
    pass


@lru_cache(maxsize=512)
def _parse_regex(pattern: str) -> Any:
    python = python_pattern(pattern)
    if python is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _sre.parse(python)
    except (re.error, RecursionError, TypeError):
        return None


class _RegexSampler:
    """Produce one string matching a parsed regex; unbounded repeats get at most ``cap`` extra."""

    def __init__(self, rng: Random, cap: int) -> None:
        self.rng = rng
        self.cap = cap
        self.groups: dict[int, str] = {}

    def run(self, items: Any) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def node(self, op: Any, av: Any) -> str:
        rng = self.rng
        if op is _C.LITERAL:
            return chr(av)
        if op is _C.NOT_LITERAL:
            return self._choose([c for c in _PRINTABLE if ord(c) != av])
        if op is _C.ANY:
            return rng.choice(ALNUM)
        if op is _C.IN:
            return self._in(av)
        if op is _C.BRANCH:
            return self.run(rng.choice(av[1]))
        if op is _C.SUBPATTERN:
            group, sub = av[0], av[-1]
            text = self.run(sub)
            if group:
                self.groups[group] = text
            return text
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            low, high, sub = av
            top = low + self.cap if high is _C.MAXREPEAT else min(high, low + self.cap)
            return "".join(self.run(sub) for _ in range(rng.randint(low, top)))
        if op is _C.AT or op is _C.ASSERT or op is _C.ASSERT_NOT:
            return ""  # anchors and lookarounds: the final re.search decides
        if op is _C.GROUPREF:
            return self.groups.get(av, "")
        if op is _C.GROUPREF_EXISTS:
            group, yes, no = av
            branch = yes if group in self.groups else no
            return self.run(branch) if branch else ""
        if op is _C.ATOMIC_GROUP:
            return self.run(av)
        if op is _C.CATEGORY:
            return rng.choice(_CATEGORY_POOLS[av])
        raise _RegexUnsupported(str(op))

    def _choose(self, pool: Sequence[str]) -> str:
        if not pool:
            raise _RegexUnsupported("empty character class")
        return self.rng.choice(pool)

    def _in(self, items: Any) -> str:
        if items and items[0][0] is _C.NEGATE:
            rest = items[1:]
            return self._choose([c for c in _PRINTABLE if not self._member(c, rest)])
        weights: list[int] = []
        for op, av in items:
            if op is _C.RANGE:
                weights.append(av[1] - av[0] + 1)
            elif op is _C.CATEGORY:
                weights.append(len(_CATEGORY_POOLS[av]))
            else:
                weights.append(1)
        op, av = self.rng.choices(items, weights=weights)[0]
        if op is _C.LITERAL:
            return chr(av)
        if op is _C.RANGE:
            return chr(self.rng.randint(av[0], av[1]))
        if op is _C.CATEGORY:
            return self.rng.choice(_CATEGORY_POOLS[av])
        raise _RegexUnsupported(str(op))

    @staticmethod
    def _member(char: str, items: Any) -> bool:
        code = ord(char)
        for op, av in items:
            if op is _C.LITERAL and code == av:
                return True
            if op is _C.RANGE and av[0] <= code <= av[1]:
                return True
            if op is _C.CATEGORY and _CATEGORY_RX[av].match(char):
                return True
        return False


def sample_regex(pattern: str, rng: Random, cap: int) -> str | None:
    """One string intended to match ``pattern`` (callers re-check with ``re.search``)."""
    parsed = _parse_regex(pattern)
    if parsed is None:
        return None
    try:
        return _RegexSampler(rng, cap).run(parsed)
    except (_RegexUnsupported, KeyError, ValueError, RecursionError):
        return None
