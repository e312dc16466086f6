"""The identifiers the mock hands out: ULIDs for Bunce customers, UUIDv7s for their devices."""

from __future__ import annotations

import re
import time

import pytest

from mockserver import ids

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def decode_ulid(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_a_ulid_is_26_crockford_characters_that_start_with_the_time() -> None:
    before = time.time_ns() // 1_000_000
    made = [ids.ulid() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    for text in made:
        assert re.fullmatch(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", text)
        assert before <= decode_ulid(text) >> 80 <= after
    assert len(set(made)) == len(made)


def test_a_ulid_ends_with_the_80_bits_drawn_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = int("F" * 20, 16) ^ (0x1234567890ABCDEF << 8)
    monkeypatch.setattr(ids._random, "getrandbits", lambda bits: drawn)
    text = ids.ulid()
    assert decode_ulid(text) & ((1 << 80) - 1) == drawn
    assert text[10:] == "".join(CROCKFORD[drawn >> s & 31] for s in range(75, -1, -5))


def test_ulids_of_a_later_millisecond_sort_after_earlier_ones() -> None:
    first = ids.ulid()
    time.sleep(0.003)
    assert ids.ulid()[:10] > first[:10]


def test_a_uuid7_carries_its_version_variant_and_time() -> None:
    before = time.time_ns() // 1_000_000
    text = ids.uuid7()
    hexes = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(hexes, text)
    assert before <= int(text.replace("-", "")[:12], 16) <= time.time_ns() // 1_000_000


def test_iso_times_are_distinct_and_increasing() -> None:
    times = ids.iso_times(1500)
    assert times == sorted(times) and len(set(times)) == 1500
    assert all(t.endswith("+00:00") for t in times)
