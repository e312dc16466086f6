"""Which documented media type a request's ``Content-Type`` (or ``Accept``) means.

A request body's type matches a documented one exactly, or through a documented range
(``image/*``, ``*/*``), or any JSON type (``application/merge-patch+json``) matches a documented
JSON type. ``Accept`` picks among the documented types of a response by the client's q-values;
without ``Accept`` (or with ``*/*``) the first documented type answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from mockserver.bodies import is_json_media


def request_media(declared: str, documented: Sequence[str]) -> str | None:
    """The documented media type a body sent as ``declared`` is read as, or None (415)."""
    if declared in documented:
        return declared
    if is_json_media(declared):
        found = next((m for m in documented if is_json_media(m)), None)
        if found is not None:
            return found
    major = declared.split("/", 1)[0]
    for media in documented:
        if media == "*/*" or (media.endswith("/*") and media[:-2] == major):
            return media
    return None


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """``Accept`` as (media range, q) pairs, best first (stable for equal q); empty if absent."""
    if not header:
        return []
    ranges: list[tuple[str, float, int]] = []
    for index, item in enumerate(header.split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q, index))
    ranges.sort(key=lambda r: (-r[1], _specificity(r[0]), r[2]))
    return [(media, q) for media, q, _ in ranges]


def _specificity(media: str) -> int:
    return 2 if media == "*/*" else 1 if media.endswith("/*") else 0


def _matches(media_range: str, media: str) -> bool:
    if media_range == "*/*" or media_range == media:
        return True
    return media_range.endswith("/*") and media.split("/", 1)[0] == media_range[:-2]


def negotiate(accept: str | None, documented: Sequence[str]) -> str | None:
    """The documented type to answer with: the client's most preferred (q > 0) one; the first
    documented when there is no ``Accept``; None when ``Accept`` excludes every documented type.
    """
    if not documented:
        return None
    ranges = parse_accept(accept)
    if not ranges:
        return documented[0]
    best: tuple[float, int, int] | None = None
    chosen = None
    for position, media in enumerate(documented):
        lowered = media.lower()
        for rank, (media_range, q) in enumerate(ranges):
            if _matches(media_range, lowered) or (
                media_range == "application/json" and is_json_media(lowered)
            ):
                # A more specific range overrides a wildcard, whatever its q.
                specific = [
                    (r, rq) for r, rq in ranges if _matches(r, lowered) and _specificity(r) == 0
                ]
                quality = specific[0][1] if specific else q
                if quality > 0:
                    key = (-quality, rank, position)
                    if best is None or key < best:
                        best, chosen = key, media
                break
    return chosen
