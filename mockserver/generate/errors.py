"""The generator's one exception."""

from __future__ import annotations

__all__ = ["GenerationError"]


class GenerationError(ValueError):
    """No valid value could be generated: the schema is contradictory or outside what is supported
    (a ``false`` schema, an empty ``enum`` intersection, ``minimum`` above ``maximum``, a required
    property cycle with no finite instance, a non-local ``$ref``...)."""
