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
# Every pair of Crockford characters, by the 10 bits they encode: a ULID is 13 lookups.
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
# The 10 characters of the last millisecond seen, and that millisecond (one tuple, so that a
# thread never reads the characters of one millisecond with the number of another).
_last_millis: tuple[int, str] = (-1, "")


def ulid() -> str:
    """A ULID: 48-bit Unix milliseconds and 80 random bits in 26 Crockford base32 characters.

    Bunce's documented customer ids look like this ("01JMKK8N0CJ0TTCX292P3JJCWT"); the mock
    assigns one to a customer created without a ``customer_id``. The time's characters are
    worked out once per millisecond; a 500-customer create makes 500 of these.
    """
    global _last_millis
    p = _PAIRS
    millis, head = _last_millis
    now = time.time_ns() // 1_000_000
    if now != millis:
        t = now & ((1 << 48) - 1)
        head = p[t >> 40] + p[t >> 30 & 1023] + p[t >> 20 & 1023] + p[t >> 10 & 1023] + p[t & 1023]
        _last_millis = (now, head)
    r = _random.getrandbits(80)
    return (
        head
        + p[r >> 70]
        + p[r >> 60 & 1023]
        + p[r >> 50 & 1023]
        + p[r >> 40 & 1023]
        + p[r >> 30 & 1023]
        + p[r >> 20 & 1023]
        + p[r >> 10 & 1023]
        + p[r & 1023]
    )


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
