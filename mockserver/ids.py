"""Identifiers the vendors' APIs hand out."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, random bits.

    Bunce's documented ``device_id`` "018c7737-0ab2-78f7-..." is a UUIDv7.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def uuid4() -> str:
    return str(uuid.uuid4())


def iso_now() -> str:
    """Now as ISO 8601 with microseconds and a UTC offset (``2023-12-17T10:59:04.685126+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")
