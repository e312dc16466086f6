"""Identifiers the vendors' APIs hand out."""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

# Identifiers need to be unique, not secret: a generator seeded from the OS costs a fraction of an
# os.urandom call per id (a 500-customer bulk with devices makes 100 of them). Re-seeded in every
# forked worker, so two gunicorn workers never hand out the same sequence.
_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, random bits.

    Bunce's documented ``device_id`` "018c7737-0ab2-78f7-..." is a UUIDv7.
    """
    millis = time.time_ns() // 1_000_000
    rand = _random.getrandbits(80)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    text = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, at a third of the cost
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    """A ULID: 48-bit Unix milliseconds and 80 random bits in 26 Crockford base32 characters.

    Bunce's documented customer ids look like this ("01JMKK8N0CJ0TTCX292P3JJCWT"); the mock
    assigns one to a customer created without a ``customer_id``.
    """
    value = (time.time_ns() // 1_000_000 & ((1 << 48) - 1)) << 80 | _random.getrandbits(80)
    return "".join(_CROCKFORD[value >> shift & 31] for shift in range(125, -1, -5))


def uuid4() -> str:
    return str(uuid.uuid4())


def iso_now() -> str:
    """Now as ISO 8601 with microseconds and a UTC offset (``2023-12-17T10:59:04.685126+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def iso_times(count: int) -> list[str]:
    """``count`` distinct, increasing creation times from now, one microsecond apart, formatted as
    :func:`iso_now` does: one clock read and one ``isoformat`` for a whole batch (per item they
    cost about 1 ms per 500 customers)."""
    start = datetime.now(UTC)
    if start.microsecond + count <= 1_000_000:
        head = start.isoformat(timespec="seconds")[:-6]  # without "+00:00"
        first = start.microsecond
        return [f"{head}.{micro:06d}+00:00" for micro in range(first, first + count)]
    step = timedelta(microseconds=1)
    return [(start + i * step).isoformat(timespec="microseconds") for i in range(count)]
