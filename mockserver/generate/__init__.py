"""Deterministic, realistic JSON-Schema data generation.

:class:`DataGenerator` turns a JSON Schema (OpenAPI 3.1 / JSON Schema 2020-12, plus OpenAPI 3.0's
``nullable``, boolean ``exclusiveMinimum``/``exclusiveMaximum`` and ``example``) into a value that
is valid against it and looks like real data::

    gen = DataGenerator(seed=42)
    gen.generate({"$ref": "#/components/schemas/Customer"}, root=spec_document)

How values are chosen, in order:

1. ``const``/``enum`` (filtered by the schema's other constraints);
2. for strings, a realistic value from the property *name* (``email``, ``first_name``,
   ``phone_no``, ``country``, ``created_at``...) or the ``format`` (``date-time``, ``uuid``,
   ``email``, ``uri``, ``ipv4``...), kept only when it satisfies length, ``pattern`` and format;
3. otherwise a value built to satisfy the constraints: a string sampled from the ``pattern``
   regex, a number inside the bounds that is a ``multipleOf``, an object with every required and
   most optional properties, an array of 1-3 items (respecting ``minItems``/``maxItems``,
   ``uniqueItems``, ``prefixItems``, ``contains``);
4. a documented ``example``/``examples`` entry when nothing else could be generated.

Every check of a value (a realistic candidate, the ``oneOf`` branches it must not match, the
finished value) is made by the validator the engine checks responses with: jsonschema-rs,
compiled by :mod:`mockserver.validation`. A value that would not validate is never returned; the
value is generated again, and :class:`GenerationError` is raised when none passes.

``allOf`` is merged; one ``oneOf``/``anyOf`` branch is chosen (honouring an OpenAPI
``discriminator``) and, for ``oneOf``, the value is re-checked so it matches exactly one branch;
``not`` and ``if``/``then``/``else`` are honoured by checking and retrying. Recursive ``$ref``\\ s
stop after :attr:`DataGenerator.max_recursion` expansions along a path, after which only
required properties, ``minItems`` items and ``null`` (where allowed) are produced.

Determinism: everything random comes from one :class:`random.Random` per generator, seeded from
``seed``; faker data comes from per-locale pools built once per process by a faker instance
with a fixed seed, and from the providers of :mod:`.providers` registered on a faker instance
that draws from that stream, so the same seed and the same sequence of calls give identical
output.
A generator is not thread-safe; use one per thread (they are cheap to create).

The modules, one job each: :mod:`.walker` (the generator itself), :mod:`.merge` (``$ref``,
``allOf``, ``oneOf``/``anyOf`` into one view per location), :mod:`.regex` (strings from
patterns), :mod:`.names` (what a property name says), :mod:`.hints` (realistic values per kind
and format), :mod:`.providers` (the faker providers those values come from, shared with
``mockserver fixtures generate``), :mod:`.persona` (one coherent person), :mod:`.pools` (faker's
values, built once) and :mod:`.checks` (validation with the engine's validators).
"""

from mockserver.generate.errors import GenerationError
from mockserver.generate.walker import DataGenerator, generate

__all__ = ["DataGenerator", "GenerationError", "generate"]
