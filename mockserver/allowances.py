"""Contract allowances: where a spec's API departs, on purpose, from what schemathesis expects.

An API pack lists them (``ApiPack.allowances``); ``mockserver contract`` and the contract tests
apply those of the spec they check (:mod:`mockserver.contract`). Each says why it is right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Allowance"]


@dataclass(frozen=True, slots=True)
class Allowance:
    """One adjustment of one schemathesis check for some operations of the pack's API.

    ``accept`` adds statuses ``positive_data_acceptance`` takes for schema-valid requests (the
    ``documented_rejection`` check then makes sure such an answer is the documented business
    outcome, via ``proof``); without ``accept`` the ``check`` is switched off for the operations.
    ``mock_only`` ones apply only when the target is the mock itself.
    """

    operations: tuple[str, ...]
    check: str
    reason: str
    accept: tuple[int, ...] = ()
    proof: Callable[[Any], bool] | None = None
    proof_text: str = ""
    mock_only: bool = False
