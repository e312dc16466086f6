"""The state contract: every rule of the concerns in ``mockserver/store/``, on every backend."""

from __future__ import annotations

import gc
import itertools
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mockserver.store import (
    Attempt,
    Delivery,
    Endpoint,
    Fault,
    InsertOutcome,
    Job,
    JobGone,
    MemoryState,
    NewRecord,
    Notification,
    RecordChange,
    Revision,
    Scope,
    SQLiteState,
    State,
)
from mockserver.store.postgres import PostgresState

from . import customer

BUNCE = Scope("bunce", "sk_test_alpha")
OTHER_ACCOUNT = Scope("bunce", "sk_test_beta")
TAMIO = Scope("tamio", "sk_test_alpha")
T0 = 1_700_000_000.0


@pytest.fixture
def state(make_state: Callable[..., State]) -> State:
    """The shared ``state`` fixture (each backend), with a journal of 5 entries."""
    return make_state(journal_limit=5)


def created(outcomes: list[InsertOutcome]) -> list[bool]:
    return [o.created for o in outcomes]


def emails(state: State, scope: Scope) -> list[str]:
    return [r.data["email"] for r in state.records.all(scope)]


def test_both_backends_implement_the_protocol(state: State) -> None:
    assert isinstance(state, State)


def test_open_state_opens_the_backend_its_target_names(backend: str, state: State) -> None:
    expected = {"memory": MemoryState, "sqlite": SQLiteState, "postgresql": PostgresState}
    assert type(state) is expected[backend]


# -- insert_batch ------------------------------------------------------------------------------


def test_a_batch_of_new_records_is_created_in_order(state: State) -> None:
    batch = [customer(1), customer(2), customer(3)]

    outcomes = state.records.insert_batch(BUNCE, batch)

    assert outcomes == [InsertOutcome(record=r.data) for r in batch]
    assert state.records.count(BUNCE) == 3
    assert emails(state, BUNCE) == ["user1@example.com", "user2@example.com", "user3@example.com"]
    assert state.records.get(BUNCE, "cus_00000002") == batch[1].data
    assert state.records.find(BUNCE, "email", "user3@example.com") == batch[2].data
    assert state.records.get(BUNCE, "cus_00000009") is None
    assert state.records.find(BUNCE, "email", "nobody@example.com") is None
    assert state.records.find(BUNCE, "phone_no", "+2348012345678") is None  # not a unique key


def test_an_email_repeated_in_the_batch_fails_and_the_others_are_created(state: State) -> None:
    batch = [
        customer(1, "dup@example.com"),
        customer(2),
        customer(3, "dup@example.com"),
        customer(4),
    ]

    outcomes = state.records.insert_batch(BUNCE, batch)

    assert created(outcomes) == [True, True, False, True]
    assert outcomes[2] == InsertOutcome(conflict="email")
    assert state.records.count(BUNCE) == 3
    assert state.records.get(BUNCE, "cus_00000003") is None
    assert state.records.find(BUNCE, "email", "dup@example.com") == batch[0].data


def test_an_email_already_stored_fails(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1, "taken@example.com")])

    outcomes = state.records.insert_batch(BUNCE, [customer(2), customer(3, "taken@example.com")])

    assert outcomes[0].created
    assert outcomes[1] == InsertOutcome(conflict="email")
    assert state.records.count(BUNCE) == 2
    first = customer(1, "taken@example.com")
    assert state.records.find(BUNCE, "email", "taken@example.com") == first.data


def test_a_repeated_id_fails_with_conflict_id(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1)])

    outcomes = state.records.insert_batch(
        BUNCE,
        [
            customer(2, "fresh@example.com", customer_id="cus_00000001"),  # stored id
            customer(3),
            customer(4, "other@example.com", customer_id="cus_00000003"),  # id earlier in batch
        ],
    )

    assert outcomes[0] == InsertOutcome(conflict="id")
    assert outcomes[1].created
    assert outcomes[2] == InsertOutcome(conflict="id")
    assert state.records.find(BUNCE, "email", "fresh@example.com") is None
    assert state.records.find(BUNCE, "email", "other@example.com") is None


def test_unique_keys_are_checked_in_mapping_order_before_the_id(state: State) -> None:
    state.records.insert_batch(
        BUNCE, [NewRecord("a", {"n": 1}, {"email": "a@example.com", "phone": "+1"})]
    )

    outcomes = state.records.insert_batch(
        BUNCE,
        [
            NewRecord("a", {"n": 2}, {"email": "a@example.com", "phone": "+1"}),
            NewRecord("a", {"n": 3}, {"phone": "+1", "email": "a@example.com"}),
            NewRecord("a", {"n": 4}, {"email": "b@example.com", "phone": "+1"}),
            NewRecord("a", {"n": 5}, {"email": "c@example.com", "phone": "+2"}),
        ],
    )

    assert [o.conflict for o in outcomes] == ["email", "phone", "phone", "id"]
    assert state.records.find(BUNCE, "phone", "+1") == {"n": 1}


def test_a_skipped_item_reserves_nothing_for_later_items(state: State) -> None:
    outcomes = state.records.insert_batch(
        BUNCE,
        [
            NewRecord("1", {"n": 1}, {"email": "x@example.com"}),
            NewRecord("2", {"n": 2}, {"email": "x@example.com", "phone": "+1"}),  # skipped
            NewRecord("3", {"n": 3}, {"email": "y@example.com", "phone": "+1"}),
        ],
    )

    assert created(outcomes) == [True, False, True]
    assert state.records.find(BUNCE, "phone", "+1") == {"n": 3}


def test_values_are_compared_exactly_the_caller_normalises_case(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1, "ada@example.com")])

    assert state.records.find(BUNCE, "email", "ada@example.com") is not None
    assert state.records.find(BUNCE, "email", "ADA@example.com") is None
    [again] = state.records.insert_batch(BUNCE, [customer(2, "ada@example.com")])
    assert again.conflict == "email"


@pytest.mark.parametrize("odd", ["a\x00b", "\x00", "a\u2028b", "ü\U0001f44d", "x" * 300])
def test_ids_and_keys_with_any_characters_collide_like_any_other(state: State, odd: str) -> None:
    # A stored id or key holding a NUL was once missed by the SQLite lookup of taken values,
    # and the insert then broke the unique index (a 500 for a client sending such an id).
    state.records.insert_batch(BUNCE, [NewRecord(odd, {"n": 1}, {"email": odd})])

    outcomes = state.records.insert_batch(
        BUNCE,
        [
            NewRecord(odd, {"n": 2}, {"email": "fresh@example.com"}),
            NewRecord("other", {"n": 3}, {"email": odd}),
        ],
    )

    assert [o.conflict for o in outcomes] == ["id", "email"]
    assert state.records.get(BUNCE, odd) == {"n": 1}
    assert state.records.find(BUNCE, "email", odd) == {"n": 1}


def test_a_batch_larger_than_one_lookup_chunk_finds_every_taken_value(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(n) for n in range(0, 700, 7)])

    outcomes = state.records.insert_batch(BUNCE, [customer(n) for n in range(700)])

    assert [o.created for o in outcomes] == [n % 7 != 0 for n in range(700)]


def test_scopes_are_isolated_by_account_and_by_api(state: State) -> None:
    for scope in (BUNCE, OTHER_ACCOUNT, TAMIO):
        assert created(state.records.insert_batch(scope, [customer(1, "same@example.com")])) == [
            True
        ]

    for scope in (BUNCE, OTHER_ACCOUNT, TAMIO):
        assert state.records.count(scope) == 1
        assert state.records.find(scope, "email", "same@example.com") is not None
    state.records.delete(BUNCE, "cus_00000001")
    assert state.records.find(OTHER_ACCOUNT, "email", "same@example.com") is not None
    assert state.records.accounts("bunce") == ["sk_test_beta"]
    assert state.records.accounts("tamio") == ["sk_test_alpha"]


def test_an_empty_batch_does_nothing(state: State) -> None:
    assert state.records.insert_batch(BUNCE, []) == []
    assert state.records.count(BUNCE) == 0
    assert state.records.accounts("bunce") == []


@pytest.mark.parametrize("bad", [{"a", "set"}, object()], ids=["set", "object"])
def test_a_batch_with_unserialisable_data_raises_and_writes_nothing(
    state: State, bad: object
) -> None:
    batch = [customer(1), customer(2), NewRecord("x", {"bad": bad}, {"email": "x@example.com"})]

    with pytest.raises(TypeError):
        state.records.insert_batch(BUNCE, batch)

    assert state.records.count(BUNCE) == 0
    assert state.records.find(BUNCE, "email", "user1@example.com") is None
    assert state.records.accounts("bunce") == []
    assert created(state.records.insert_batch(BUNCE, batch[:2])) == [True, True]


def test_an_error_inside_the_critical_section_rolls_the_whole_batch_back(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1)])
    seq_before = state.records.all(BUNCE)[-1].seq
    unhashable: Any = ["not", "a", "string"]
    batch = [customer(2), customer(3), NewRecord("x", {"n": 1}, {"email": unhashable})]

    with pytest.raises(TypeError):
        state.records.insert_batch(BUNCE, batch)

    assert state.records.count(BUNCE) == 1
    assert state.records.get(BUNCE, "cus_00000002") is None
    assert state.records.find(BUNCE, "email", "user3@example.com") is None
    [again, _] = state.records.insert_batch(BUNCE, batch[:2])
    assert again.created
    assert state.records.all(BUNCE)[1].seq > seq_before


@pytest.mark.parametrize("position", [0, 1], ids=["first-item", "second-item"])
def test_a_scope_whose_first_batch_failed_works_normally(state: State, position: int) -> None:
    unhashable: Any = {"not": "a string"}
    batch = [customer(1)]
    batch.insert(position, NewRecord("x", {}, {"email": unhashable, "phone": "+1"}))
    with pytest.raises(TypeError):
        state.records.insert_batch(BUNCE, batch)

    assert state.records.count(BUNCE) == 0
    assert created(state.records.insert_batch(BUNCE, [customer(1), customer(2)])) == [True, True]
    assert state.records.count(BUNCE) == 2
    assert state.records.accounts("bunce") == ["sk_test_alpha"]
    assert [r.id for r in state.records.page(BUNCE, limit=5).records] == [
        "cus_00000001",
        "cus_00000002",
    ]


def test_an_account_opened_for_an_insert_is_new_once_and_gone_again_on_rollback(
    state: State,
) -> None:
    with pytest.raises(RuntimeError), state.backend.write() as tx:
        assert tx.open_scope(BUNCE) is True  # new: nothing of it can be taken
        assert tx.open_scope(BUNCE) is False
        raise RuntimeError("the batch failed")

    with state.backend.write() as tx:
        assert tx.open_scope(BUNCE) is True  # the rolled-back one is gone
    with state.backend.write() as tx:
        assert tx.open_scope(BUNCE) is False
    assert created(state.records.insert_batch(BUNCE, [customer(1), customer(1)])) == [True, False]
    assert created(state.records.insert_batch(BUNCE, [customer(1), customer(2)])) == [False, True]


def test_a_bad_value_for_a_key_the_scope_never_used_leaves_it_intact(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1)])
    unhashable: Any = ["+1"]

    with pytest.raises(TypeError):
        state.records.insert_batch(BUNCE, [customer(2), NewRecord("x", {}, {"phone": unhashable})])

    assert state.records.count(BUNCE) == 1
    assert [r.id for r in state.records.page(BUNCE, limit=5).records] == ["cus_00000001"]
    assert state.records.get(BUNCE, "x") is None


def test_returned_records_are_copies(state: State) -> None:
    record = customer(1)
    [outcome] = state.records.insert_batch(BUNCE, [record])
    assert outcome.record is not None

    outcome.record["email"] = "changed-outcome@example.com"
    record.data["first_name"] = "changed-input"
    got = state.records.get(BUNCE, record.id)
    assert got is not None
    got["devices"].append({"device_type": "ios"})
    found = state.records.find(BUNCE, "email", "user1@example.com")
    assert found is not None
    found["last_name"] = "changed-find"
    state.records.page(BUNCE, limit=1).records[0].data["phone_no"] = "changed-page"
    state.records.all(BUNCE)[0].data["customer_id"] = "changed-all"

    assert state.records.get(BUNCE, record.id) == customer(1).data


def test_seq_grows_across_scopes_and_is_never_reused(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1), customer(2)])
    state.records.insert_batch(TAMIO, [customer(3)])
    state.records.insert_batch(BUNCE, [customer(4)])
    bunce_seqs = [r.seq for r in state.records.all(BUNCE)]
    tamio_seq = state.records.all(TAMIO)[0].seq
    assert bunce_seqs == sorted(bunce_seqs)
    assert bunce_seqs[1] < tamio_seq < bunce_seqs[2]

    state.records.delete(BUNCE, "cus_00000004")
    state.records.insert_batch(BUNCE, [customer(5)])
    assert state.records.all(BUNCE)[-1].seq > bunce_seqs[-1]

    state.reset()
    state.records.insert_batch(BUNCE, [customer(6)])
    assert state.records.all(BUNCE)[0].seq > bunce_seqs[-1]


def test_delete_and_clear_scope(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1), customer(2), customer(3)])
    state.records.insert_batch(OTHER_ACCOUNT, [customer(1)])

    assert state.records.delete(BUNCE, "cus_00000002") is True
    assert state.records.delete(BUNCE, "cus_00000002") is False
    assert state.records.delete(Scope("bunce", "nobody"), "cus_00000001") is False
    assert state.records.count(BUNCE) == 2
    assert state.records.find(BUNCE, "email", "user2@example.com") is None
    assert created(state.records.insert_batch(BUNCE, [customer(2)])) == [
        True
    ]  # email and id free again

    assert state.records.clear_scope(BUNCE) == 3
    assert state.records.clear_scope(BUNCE) == 0
    assert state.records.count(BUNCE) == 0
    assert state.records.all(BUNCE) == []
    assert state.records.accounts("bunce") == ["sk_test_beta"]
    assert created(state.records.insert_batch(BUNCE, [customer(1)])) == [True]
    assert state.records.count(OTHER_ACCOUNT) == 1


# -- page --------------------------------------------------------------------------------------


def expected_page(
    seqs: list[int], limit: int, offset: int, after: int | None, before: int | None
) -> tuple[list[int], bool, bool]:
    """The page rules restated over a plain list of the scope's seqs."""
    lo = sum(1 for s in seqs if after is not None and s <= after)
    window = [s for s in seqs[lo:] if before is None or s < before]
    if before is None:
        start = lo + min(offset, len(window))
        end = min(lo + len(window), start + limit)
    else:
        end = lo + max(0, len(window) - offset)
        start = max(lo, end - limit)
    return seqs[start:end], start > 0, end < len(seqs)


def test_page_walks_forward_with_after_seq(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(n) for n in range(7)])
    seqs = [r.seq for r in state.records.all(BUNCE)]

    first = state.records.page(BUNCE, limit=3)
    second = state.records.page(BUNCE, limit=3, after_seq=first.records[-1].seq)
    last = state.records.page(BUNCE, limit=3, after_seq=second.records[-1].seq)

    assert [r.seq for r in first.records] == seqs[:3]
    assert (first.total, first.has_before, first.has_after) == (7, False, True)
    assert [r.seq for r in second.records] == seqs[3:6]
    assert (second.has_before, second.has_after) == (True, True)
    assert [r.id for r in last.records] == ["cus_00000006"]
    assert (last.has_before, last.has_after) == (True, False)
    assert last.records[0].data == customer(6).data


def test_page_walks_backward_with_before_seq(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(n) for n in range(7)])
    seqs = [r.seq for r in state.records.all(BUNCE)]

    page = state.records.page(BUNCE, limit=3, before_seq=seqs[5])
    earlier = state.records.page(BUNCE, limit=3, before_seq=page.records[0].seq)

    assert [r.seq for r in page.records] == seqs[2:5]  # just before the cursor, ascending
    assert (page.has_before, page.has_after) == (True, True)
    assert [r.seq for r in earlier.records] == seqs[:2]
    assert (earlier.has_before, earlier.has_after) == (False, True)


def test_page_by_offset_like_page_and_per_page(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(n) for n in range(5)])

    pages = [state.records.page(BUNCE, limit=2, offset=o) for o in (0, 2, 4, 6)]

    assert [[r.id[-1] for r in p.records] for p in pages] == [["0", "1"], ["2", "3"], ["4"], []]
    assert [(p.has_before, p.has_after) for p in pages] == [
        (False, True),
        (True, True),
        (True, False),
        (True, False),
    ]
    assert {p.total for p in pages} == {5}


def test_page_of_an_empty_or_unknown_scope(state: State) -> None:
    page = state.records.page(Scope("bunce", "nobody"), limit=10)
    assert (page.records, page.total, page.has_before, page.has_after) == ([], 0, False, False)


def test_page_refuses_negative_limit_or_offset(state: State) -> None:
    with pytest.raises(ValueError, match="limit"):
        state.records.page(BUNCE, limit=-1)
    with pytest.raises(ValueError, match="offset"):
        state.records.page(BUNCE, limit=1, offset=-1)


def test_page_matches_the_rules_for_every_combination(state: State) -> None:
    # Interleave another scope and delete one record so the scope's seqs have gaps.
    for n in range(12):
        state.records.insert_batch(BUNCE, [customer(n)])
        if n % 3 == 0:
            state.records.insert_batch(OTHER_ACCOUNT, [customer(n)])
    state.records.delete(BUNCE, "cus_00000005")
    seqs = [r.seq for r in state.records.all(BUNCE)]
    gap = seqs[1] + 1  # a seq of the other scope
    cursors = [None, 0, seqs[0], gap, seqs[4], seqs[5] - 1, seqs[-1], seqs[-1] + 10]

    for limit, offset, after, before in itertools.product(
        [0, 1, 2, 5, 20], [0, 1, 3, 30], cursors, cursors
    ):
        page = state.records.page(
            BUNCE, limit=limit, offset=offset, after_seq=after, before_seq=before
        )
        want, has_before, has_after = expected_page(seqs, limit, offset, after, before)
        got = ([r.seq for r in page.records], page.has_before, page.has_after)
        assert got == (want, has_before, has_after), (limit, offset, after, before)
        assert page.total == len(seqs)


# -- update_batch ------------------------------------------------------------------------------


def set_email(email: str) -> Any:
    """A change that gives a customer another email (its unique key too)."""

    def apply(data: dict[str, Any]) -> Revision:
        data["email"] = email
        return Revision(data, {"email": email})

    return apply


def test_an_update_rewrites_data_and_moves_the_unique_key(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1), customer(2)])

    [outcome] = state.records.update_batch(
        BUNCE, [RecordChange("cus_00000001", set_email("new@example.com"))]
    )

    assert outcome.updated and outcome.found and outcome.conflict is None
    assert outcome.record == state.records.get(BUNCE, "cus_00000001")
    assert state.records.get(BUNCE, "cus_00000001")["email"] == "new@example.com"  # type: ignore[index]
    assert state.records.find(BUNCE, "email", "new@example.com") == outcome.record
    assert state.records.find(BUNCE, "email", "user1@example.com") is None  # released: free to take
    assert created(state.records.insert_batch(BUNCE, [customer(3, "user1@example.com")])) == [True]
    assert [r.id for r in state.records.all(BUNCE)] == [
        "cus_00000001",
        "cus_00000002",
        "cus_00000003",
    ]


def test_an_update_to_a_value_another_record_holds_is_a_conflict(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1), customer(2)])
    before = state.records.all(BUNCE)

    outcomes = state.records.update_batch(
        BUNCE,
        [
            RecordChange("cus_00000001", set_email("user2@example.com")),
            RecordChange("cus_00000002", set_email("user2@example.com")),  # its own: no conflict
        ],
    )

    assert [(o.updated, o.conflict) for o in outcomes] == [(False, "email"), (True, None)]
    assert state.records.all(BUNCE) == before


def test_a_later_change_sees_the_earlier_ones_and_unknown_ids_are_not_found(
    state: State,
) -> None:
    state.records.insert_batch(BUNCE, [customer(1), customer(2)])
    seen: list[str] = []

    def record_email(data: dict[str, Any]) -> None:
        seen.append(data["email"])
        return None

    outcomes = state.records.update_batch(
        BUNCE,
        [
            RecordChange("cus_00000001", set_email("a@example.com")),
            RecordChange("cus_00000002", set_email("user1@example.com")),  # released just now
            RecordChange("cus_00000001", record_email),
            RecordChange("nobody", set_email("b@example.com")),
        ],
    )

    assert [o.updated for o in outcomes] == [True, True, True, False]
    assert seen == ["a@example.com"]
    assert outcomes[2].record == state.records.get(BUNCE, "cus_00000001")  # unchanged, as stored
    assert (outcomes[3].found, outcomes[3].record) == (False, None)
    assert state.records.update_batch(
        OTHER_ACCOUNT, [RecordChange("cus_00000001", record_email)]
    ) == [outcomes[3]]
    assert state.records.find(BUNCE, "email", "user1@example.com")["customer_id"] == "cus_00000002"  # type: ignore[index]


def test_an_update_can_release_a_key_and_returned_data_are_copies(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1)])

    def drop_email(data: dict[str, Any]) -> Revision:
        data["email"] = None
        return Revision(data)

    [outcome] = state.records.update_batch(BUNCE, [RecordChange("cus_00000001", drop_email)])
    assert outcome.record is not None
    outcome.record["first_name"] = "changed"

    assert state.records.find(BUNCE, "email", "user1@example.com") is None
    assert state.records.get(BUNCE, "cus_00000001")["first_name"] == "Ada"  # type: ignore[index]


def unserialisable(data: dict[str, Any]) -> Revision:
    return Revision({**data, "bad": object()}, {"email": data["email"]})


def refuse(data: dict[str, Any]) -> Revision:
    raise RuntimeError("the behaviour refused the change")


@pytest.mark.parametrize(
    ("failing", "error"), [(unserialisable, TypeError), (refuse, RuntimeError)]
)
def test_a_failing_change_rolls_the_whole_update_back(
    state: State, failing: Callable[[dict[str, Any]], Revision], error: type[Exception]
) -> None:
    # An unserialisable revision, or a change that raises: the changes before it are undone.
    state.records.insert_batch(BUNCE, [customer(1), customer(2)])
    before = state.records.all(BUNCE)

    with pytest.raises(error):
        state.records.update_batch(
            BUNCE,
            [
                RecordChange("cus_00000001", set_email("moved@example.com")),
                RecordChange("cus_00000002", failing),
            ],
        )

    assert state.records.all(BUNCE) == before
    assert state.records.find(BUNCE, "email", "moved@example.com") is None
    assert state.records.find(BUNCE, "email", "user1@example.com") == before[0].data
    assert created(state.records.insert_batch(BUNCE, [customer(3, "moved@example.com")])) == [True]


def test_threads_racing_to_take_one_email_by_update_take_it_once(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(n) for n in range(8)])
    barrier = threading.Barrier(8)

    def work(n: int) -> bool:
        barrier.wait()
        change = RecordChange(f"cus_{n:08d}", set_email("wanted@example.com"))
        return state.records.update_batch(BUNCE, [change])[0].updated

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so an unguarded check-then-write shows
    try:
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(work, range(8)))
    finally:
        sys.setswitchinterval(interval)

    assert won.count(True) == 1
    assert [r.data["email"] for r in state.records.all(BUNCE)].count("wanted@example.com") == 1


# -- jobs --------------------------------------------------------------------------------------


def job(n: int, due_at: float, api: str = "tamio", created_at: float = T0) -> Job:
    return Job(
        id=f"job_{n}",
        kind="import",
        api=api,
        account="acct",
        payload={"customers": [{"n": n}]},
        due_at=due_at,
        created_at=created_at + n,
    )


def test_jobs_are_claimed_when_due_once_and_in_due_order(state: State) -> None:
    state.jobs.add(job(1, due_at=T0 + 5))
    state.jobs.add(job(2, due_at=T0 + 1))
    state.jobs.add(job(3, due_at=T0 + 3))
    state.jobs.add(job(4, due_at=T0 + 100))

    assert state.jobs.next_due() == T0 + 1
    assert state.jobs.claim_due(T0) == []
    claimed = state.jobs.claim_due(T0 + 10, limit=2, lease_s=60)
    assert [j.id for j in claimed] == ["job_2", "job_3"]
    assert {j.status for j in claimed} == {"running"}
    assert {j.lease_until for j in claimed} == {T0 + 70}
    assert claimed[0].payload == {"customers": [{"n": 2}]}
    assert [j.id for j in state.jobs.claim_due(T0 + 10, lease_s=60)] == ["job_1"]
    assert state.jobs.claim_due(T0 + 10) == []
    assert state.jobs.next_due() == T0 + 70  # the running jobs' leases end before job_4 is due
    for n in (1, 2, 3):
        state.jobs.finish(f"job_{n}", "done", {})
    assert state.jobs.next_due() == T0 + 100


def test_lapsed_and_pending_jobs_are_claimed_together_earliest_due_first(state: State) -> None:
    state.jobs.add(job(1, due_at=T0 + 4))
    state.jobs.add(job(2, due_at=T0 + 2))
    [first] = state.jobs.claim_due(T0 + 2, limit=1, lease_s=1)  # job_2, its lease ends at T0 + 3
    state.jobs.add(job(3, due_at=T0 + 1))
    state.jobs.add(job(4, due_at=T0 + 1.5))

    claimed = state.jobs.claim_due(T0 + 10, limit=2, lease_s=60)
    again = state.jobs.claim_due(T0 + 10, limit=2, lease_s=60)

    assert first.id == "job_2"
    assert [j.id for j in claimed] == ["job_3", "job_4"]  # by due time, lapsed or pending
    assert [j.id for j in again] == ["job_2", "job_1"]
    assert again[0].claim != first.claim


def test_a_jobs_insert_is_written_only_while_the_job_runs(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    with pytest.raises(JobGone):  # still pending: no runner has it
        state.records.insert_batch(TAMIO, [customer(1)], job_id="job_1")
    state.jobs.claim_due(T0)

    [outcome] = state.records.insert_batch(TAMIO, [customer(1)], job_id="job_1")

    assert outcome.created
    state.jobs.finish("job_1", "done", {})
    with pytest.raises(JobGone):  # finished: nothing more of it is written
        state.records.insert_batch(TAMIO, [customer(2)], job_id="job_1")
    assert emails(state, TAMIO) == ["user1@example.com"]


def test_a_reset_between_a_jobs_claim_and_its_insert_keeps_the_old_records_out(
    state: State,
) -> None:
    # Another worker process's reset can land while this one runs an import it claimed.
    state.jobs.add(job(1, due_at=T0))
    state.jobs.claim_due(T0)
    state.reset()

    with pytest.raises(JobGone, match="job_1 is no longer running"):
        state.records.insert_batch(TAMIO, [customer(1), customer(2)], job_id="job_1")

    assert state.records.all(TAMIO) == []
    assert state.records.insert_batch(TAMIO, [customer(1)])[0].created  # the account itself is fine


def test_finish_job_records_status_and_result(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.jobs.add(job(2, due_at=T0))
    state.jobs.claim_due(T0)

    state.jobs.finish("job_1", "done", {"created": 1, "failed": []})
    state.jobs.finish("job_2", "failed", {"error": "boom"})

    done = state.jobs.list(status="done")
    assert [(j.id, j.result) for j in done] == [("job_1", {"created": 1, "failed": []})]
    assert done[0].finished_at is not None and done[0].finished_at > 0
    assert [j.id for j in state.jobs.list(status="failed")] == ["job_2"]
    assert state.jobs.next_due() is None
    # A job removed by a reset while it ran is finished quietly (the worker must not fail).
    assert state.jobs.finish("job_404", "done", {}) is False


def test_finish_job_with_an_unstorable_result_raises_and_changes_nothing(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.jobs.claim_due(T0)

    with pytest.raises(TypeError):
        state.jobs.finish("job_1", "done", {"bad": object()})

    [stored] = state.jobs.list()
    assert (stored.status, stored.result) == ("running", None)


def test_jobs_lists_oldest_first_with_filters(state: State) -> None:
    state.jobs.add(job(2, due_at=T0, api="bunce"))
    state.jobs.add(job(1, due_at=T0))
    state.jobs.add(job(3, due_at=T0))
    state.jobs.claim_due(T0, limit=1)  # job_2 (added first, same due time)

    assert [j.id for j in state.jobs.list()] == ["job_1", "job_2", "job_3"]  # by created_at
    assert [j.id for j in state.jobs.list(api="tamio")] == ["job_1", "job_3"]
    assert [j.id for j in state.jobs.list(status="running")] == ["job_2"]
    assert [j.id for j in state.jobs.list(api="tamio", status="pending")] == ["job_1", "job_3"]


def test_a_job_id_is_unique_and_jobs_are_copies(state: State) -> None:
    original = job(1, due_at=T0)
    state.jobs.add(original)
    with pytest.raises(ValueError, match="job_1"):
        state.jobs.add(job(1, due_at=T0))

    original.payload["customers"].append({"n": 99})
    state.jobs.list()[0].payload["customers"].clear()
    state.jobs.claim_due(T0)[0].payload["customers"].clear()

    assert state.jobs.list()[0].payload == {"customers": [{"n": 1}]}


# -- webhooks ----------------------------------------------------------------------------------


def endpoint(n: int, api: str = "tamio", account: str | None = None) -> Endpoint:
    return Endpoint(
        id=f"we_{n}",
        api=api,
        url=f"http://127.0.0.1:9/hook{n}",
        secret=f"whsec_{n}",
        events=["customer.created"],
        account=account,
        created_at=T0 + n,
    )


def delivery(n: int, endpoint_id: str = "we_1", due_at: float = T0) -> Delivery:
    return Delivery(
        id=f"whdel_{n}",
        endpoint_id=endpoint_id,
        event={"event_id": f"whev_{n}", "data": {"customer": {"n": n}}},
        due_at=due_at,
        created_at=T0 + n,
    )


def test_endpoints_are_added_listed_and_deleted(state: State) -> None:
    state.endpoints.add(endpoint(2, account="acct"))
    state.endpoints.add(endpoint(1))
    state.endpoints.add(endpoint(3, api="bunce"))

    assert state.endpoints.list() == [
        endpoint(1),
        endpoint(2, account="acct"),
        endpoint(3, "bunce"),
    ]
    assert [e.id for e in state.endpoints.list("tamio")] == ["we_1", "we_2"]
    with pytest.raises(ValueError, match="we_1"):
        state.endpoints.add(endpoint(1))
    state.endpoints.list()[0].events.append("*")
    assert state.endpoints.list()[0].events == ["customer.created"]

    assert state.endpoints.delete("we_1") is True
    assert state.endpoints.delete("we_1") is False
    assert [e.id for e in state.endpoints.list()] == ["we_2", "we_3"]


def test_deliveries_are_claimed_retried_and_keep_every_attempt(state: State) -> None:
    state.deliveries.add(delivery(1))
    state.deliveries.add(delivery(2, endpoint_id="we_2", due_at=T0 + 1))
    assert state.deliveries.next_due() == T0

    [first] = state.deliveries.claim_due(T0)
    assert (first.id, first.status, first.attempts) == ("whdel_1", "delivering", [])
    assert first.claim is not None and first.lease_until is not None
    assert state.deliveries.claim_due(T0) == []
    failed = Attempt(at=T0, status=500, duration_ms=12.5, error="HTTP 500")
    state.deliveries.record_attempt("whdel_1", failed, "pending", T0 + 30)
    assert state.deliveries.next_due() == T0 + 1
    assert [d.id for d in state.deliveries.claim_due(T0 + 29)] == ["whdel_2"]

    [retry] = state.deliveries.claim_due(T0 + 30)
    assert retry.attempts == [failed]
    ok = Attempt(at=T0 + 30, status=204, duration_ms=3.0)
    state.deliveries.record_attempt("whdel_1", ok, "delivered", None)

    [stored] = state.deliveries.list("we_1")
    assert (stored.status, stored.attempts, stored.due_at) == ("delivered", [failed, ok], T0 + 30)
    assert stored.event == delivery(1).event
    assert [d.id for d in state.deliveries.list()] == ["whdel_1", "whdel_2"]
    assert (stored.claim, stored.lease_until) == (None, None)
    state.deliveries.record_attempt("whdel_2", ok, "delivered", None)
    assert state.deliveries.next_due() is None
    assert state.deliveries.record_attempt("whdel_404", ok, "delivered", None) is False


def test_a_delivery_without_answer_records_a_none_status(state: State) -> None:
    state.deliveries.add(delivery(1))
    state.deliveries.claim_due(T0)
    attempt = Attempt(at=T0, status=None, duration_ms=1000.0, error="connection refused")

    state.deliveries.record_attempt("whdel_1", attempt, "failed", None)

    [stored] = state.deliveries.list()
    assert (stored.status, stored.attempts) == ("failed", [attempt])
    with pytest.raises(ValueError, match="whdel_1"):
        state.deliveries.add(delivery(1))


def test_deliveries_are_claimed_in_due_order_up_to_the_limit(state: State) -> None:
    for n, due in enumerate([T0 + 3, T0 + 1, T0 + 2, T0 + 1]):
        state.deliveries.add(delivery(n, due_at=due))

    assert [d.id for d in state.deliveries.claim_due(T0 + 5, limit=3)] == [
        "whdel_1",
        "whdel_3",
        "whdel_2",
    ]
    assert [d.id for d in state.deliveries.claim_due(T0 + 5, limit=3)] == ["whdel_0"]


# -- journal -----------------------------------------------------------------------------------


def entry(n: int, api: str = "bunce", operation_id: str = "createCustomersBulk") -> dict[str, Any]:
    return {"api": api, "operation_id": operation_id, "status": 200 if n % 2 else 409, "n": n}


def test_journal_keeps_the_newest_entries_up_to_its_limit(state: State) -> None:
    seqs = [state.journal.append(entry(n)) for n in range(12)]  # the fixture's limit is 5

    assert seqs == sorted(seqs) and len(set(seqs)) == 12
    entries = state.journal.read()
    assert [e["n"] for e in entries] == [7, 8, 9, 10, 11]
    assert [e["seq"] for e in entries] == seqs[7:]
    assert entries[0] == {**entry(7), "seq": seqs[7]}


def test_journal_filters_combine(state: State) -> None:
    s1 = state.journal.append(entry(1))
    state.journal.append(entry(2, api="tamio", operation_id="bulkCreateCustomers"))
    s3 = state.journal.append(entry(3))
    state.journal.append(entry(4))

    assert [e["n"] for e in state.journal.read(api="bunce")] == [1, 3, 4]
    assert [e["n"] for e in state.journal.read(operation_id="bulkCreateCustomers")] == [2]
    assert [e["n"] for e in state.journal.read(status=200)] == [1, 3]
    assert [e["n"] for e in state.journal.read(api="bunce", status=409)] == [4]
    assert [e["n"] for e in state.journal.read(since=s1)] == [2, 3, 4]
    assert [e["n"] for e in state.journal.read(since=s3)] == [4]
    assert [e["n"] for e in state.journal.read(limit=2)] == [3, 4]  # newest two, oldest first
    assert [e["n"] for e in state.journal.read(api="bunce", limit=2, since=s1)] == [3, 4]
    assert state.journal.read(api="nobody") == []


def test_journal_filters_and_cursors_see_only_the_entries_within_the_bound(state: State) -> None:
    seqs = [state.journal.append(entry(n)) for n in range(250)]  # past two trims; the limit is 5

    assert [e["n"] for e in state.journal.read()] == [245, 246, 247, 248, 249]
    assert [e["n"] for e in state.journal.read(status=409)] == [246, 248]
    assert [e["n"] for e in state.journal.read(since=seqs[100])] == [245, 246, 247, 248, 249]
    assert [e["n"] for e in state.journal.read(since=seqs[247], limit=5)] == [248, 249]
    assert [e["n"] for e in state.journal.read(status=200, limit=1)] == [249]


def test_a_journal_entry_answered_before_a_reset_is_not_stored(state: State) -> None:
    # The reset barrier: an entry carries the reset epoch it was answered in; one that reaches
    # the store after a reset (another process's journal writer was late) is dropped.
    answered = state.backend.epoch()
    state.reset()
    row = ("bunce", "listCustomers", 200, b'{"n": 1}')

    assert state.journal.store([(row, answered, 0)]) == [0]
    assert state.journal.read() == []
    assert state.journal.store([(row, state.backend.epoch(), 0)]) != [0]
    assert [e["n"] for e in state.journal.read()] == [1]


def test_journal_entries_are_copies(state: State) -> None:
    original = entry(1)
    state.journal.append(original)
    original["n"] = 99
    state.journal.read()[0]["n"] = 100
    assert state.journal.read()[0]["n"] == 1


# -- faults ------------------------------------------------------------------------------------


def test_take_fault_consumes_the_oldest_match_and_removes_it_at_zero(state: State) -> None:
    state.faults.add(Fault(id="f1", api="bunce", status=503, remaining=2))
    state.faults.add(Fault(id="f2", api="bunce", status=500))

    first = state.faults.take("bunce", "listCustomers", "GET", "/v1/customers")
    second = state.faults.take("bunce", "listCustomers", "GET", "/v1/customers")
    third = state.faults.take("bunce", "listCustomers", "GET", "/v1/customers")

    assert first == Fault(id="f1", api="bunce", status=503, remaining=1)
    assert second == Fault(id="f1", api="bunce", status=503, remaining=0)
    assert third == Fault(id="f2", api="bunce", status=500, remaining=0)
    assert state.faults.take("bunce", "listCustomers", "GET", "/v1/customers") is None
    assert state.faults.list() == []


def test_fault_fields_left_none_match_anything_and_method_ignores_case(state: State) -> None:
    state.faults.add(Fault(id="op", operation_id="createCustomer", latency_ms=50, remaining=5))
    state.faults.add(Fault(id="path", method="post", path="/v1/customers/bulk", drop=True))

    assert state.faults.take("tamio", "listCustomers", "GET", "/v2/customers/list") is None
    assert state.faults.take("bunce", None, "GET", "/v1/unknown") is None
    by_path = state.faults.take("bunce", "createCustomersBulk", "POST", "/v1/customers/bulk")
    assert by_path is not None and (by_path.id, by_path.drop) == ("path", True)
    by_op = state.faults.take("tamio", "createCustomer", "POST", "/v2/customers/create")
    assert by_op is not None and (by_op.id, by_op.latency_ms, by_op.remaining) == ("op", 50, 4)
    assert state.faults.list() == [
        Fault(id="op", operation_id="createCustomer", latency_ms=50, remaining=4)
    ]


def test_add_fault_refuses_a_duplicate_id_or_no_remaining_uses(state: State) -> None:
    state.faults.add(Fault(id="f1"))
    with pytest.raises(ValueError, match="f1"):
        state.faults.add(Fault(id="f1"))
    with pytest.raises(ValueError, match="remaining"):
        state.faults.add(Fault(id="f2", remaining=0))
    assert [f.id for f in state.faults.list()] == ["f1"]


# -- flags and hits ----------------------------------------------------------------------------


def test_flags_hold_json_values(state: State) -> None:
    value = {"rate_limit": True, "per_second": 10, "exempt": ["a", "b"]}
    state.flags.set("tamio.rate_limit", value)
    state.flags.set("switch", False)

    got = state.flags.get("tamio.rate_limit")
    got["exempt"].append("c")
    assert state.flags.get("tamio.rate_limit") == value
    assert state.flags.get("switch", default=True) is False
    assert state.flags.get("missing") is None
    assert state.flags.get("missing", default=7) == 7
    state.flags.set("switch", [1, 2])
    assert state.flags.get("switch") == [1, 2]


def test_hit_counts_per_key_in_fixed_windows(state: State) -> None:
    assert [state.rate_limits.hit("client-a", 60, 120.0 + i) for i in range(3)] == [1, 2, 3]
    assert state.rate_limits.hit("client-b", 60, 121.0) == 1
    assert state.rate_limits.hit("client-a", 60, 179.999) == 4
    assert state.rate_limits.hit("client-a", 60, 180.0) == 1  # a new window starts at 180
    assert state.rate_limits.hit("client-a", 1, 180.5) == 2  # same window start for a 1 s window
    assert (
        state.rate_limits.hit("client-a", 60, 100.0) == 3
    )  # a late clock counts in the current window
    with pytest.raises(ValueError, match="window_s"):
        state.rate_limits.hit("client-a", 0, 180.0)


# -- lifecycle ---------------------------------------------------------------------------------


def test_reset_forgets_everything(state: State) -> None:
    state.records.insert_batch(BUNCE, [customer(1)])
    state.jobs.add(job(1, due_at=T0))
    state.endpoints.add(endpoint(1))
    state.deliveries.add(delivery(1))
    state.journal.append(entry(1))
    state.faults.add(Fault(id="f1"))
    state.flags.set("switch", True)
    state.rate_limits.hit("client", 60, T0)

    state.reset()

    assert (
        state.records.count(BUNCE) == 0
        and state.records.find(BUNCE, "email", "user1@example.com") is None
    )
    assert state.records.accounts("bunce") == []
    assert state.jobs.list() == [] and state.jobs.next_due() is None
    assert state.endpoints.list() == [] and state.deliveries.list() == []
    assert state.deliveries.next_due() is None
    assert state.journal.read() == []
    assert state.faults.list() == [] and state.faults.take("bunce", None, "GET", "/") is None
    assert state.flags.get("switch") is None
    assert state.rate_limits.hit("client", 60, T0) == 1
    assert created(state.records.insert_batch(BUNCE, [customer(1)])) == [True]
    state.jobs.add(job(1, due_at=T0))  # ids are free again


def test_insert_batch_of_500_is_fast(state: State) -> None:
    """Generous bounds (targets: memory < 2 ms, SQLite < 10 ms) that only catch a regression.

    Memory and SQLite do the work in this thread: the median of its CPU time, which other busy
    processes do not inflate (their wall time under load was several times the bound).
    PostgreSQL does it in its server process: the wall time of the fastest batch, which is the
    work's cost whenever one of the ten ran without waiting for a core; a regression slows
    them all.
    """
    in_process = not isinstance(state, PostgresState)
    clock = time.thread_time if in_process else time.perf_counter
    state.records.insert_batch(BUNCE, [customer(n) for n in range(2000)])
    timings = []
    for start in range(2000, 7000, 500):
        batch = [customer(n) for n in range(start, start + 500)]
        began = clock()
        state.records.insert_batch(BUNCE, batch)
        timings.append(clock() - began)
    assert state.records.count(BUNCE) == 7000
    bound = 0.02 if isinstance(state, MemoryState) else 0.1
    measured = sorted(timings)[len(timings) // 2] if in_process else min(timings)
    assert measured < bound, f"{measured * 1000:.1f} ms for 500 records ({clock.__name__})"


@pytest.mark.slow
def test_memory_budget_of_a_million_records() -> None:
    """1,000,000 Bunce-sized records must stay well under 1.5 GB in MemoryState.

    Measured with tracemalloc on 100,000 records (which sees the real size of every allocation,
    including buffers larger than the bytes they hold) and extrapolated per record.
    """
    n = 100_000
    batches = [[customer(i) for i in range(s, s + 500)] for s in range(0, n, 500)]
    state = MemoryState()
    gc.collect()
    tracemalloc.start()
    try:
        for batch in batches:
            state.records.insert_batch(BUNCE, batch)
        del batch
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_record = held / n
    assert state.records.count(BUNCE) == n
    assert per_record < 800, f"{per_record:.0f} bytes per record"  # 1M records: < 0.8 GB


def test_clear_faults_disarms_every_fault(state: State) -> None:
    state.faults.add(Fault(id="f1", api="bunce", status=500, remaining=3))
    state.faults.add(Fault(id="f2", status=503))

    assert state.faults.clear() == 2

    assert state.faults.list() == []
    assert state.faults.take("bunce", "createCustomer", "POST", "/bunce/v1/customers") is None


def test_a_jobs_event_is_stored_only_while_the_job_runs(state: State) -> None:
    state.endpoints.add(endpoint(1))
    state.jobs.add(job(1, due_at=T0))
    state.jobs.claim_due(T0)
    state.deliveries.add(delivery(1), job_id="job_1")
    state.reset()
    state.endpoints.add(endpoint(1))  # the next test's endpoint, registered after the reset

    with pytest.raises(JobGone):
        state.deliveries.add(delivery(2), job_id="job_1")

    assert state.deliveries.list() == []


def notification(
    n: int, api: str = "tamio", account: str = "acct", job_id: str | None = None
) -> Notification:
    return Notification(
        id=f"ntf_{n}",
        api=api,
        account=account,
        job_id=job_id,
        time=T0 + n,
        data={"created": n, "skipped": 0, "skipped_items": []},
    )


def test_notifications_are_listed_oldest_first_filtered_and_copied(state: State) -> None:
    state.notifications.add(notification(1))
    state.notifications.add(notification(2, account="other"))
    state.notifications.add(notification(3, api="bunce"))

    assert [n.id for n in state.notifications.list()] == ["ntf_1", "ntf_2", "ntf_3"]
    assert state.notifications.list(api="tamio", account="acct") == [notification(1)]
    assert [n.id for n in state.notifications.list(account="other")] == ["ntf_2"]
    assert [n.id for n in state.notifications.list(api="bunce")] == ["ntf_3"]
    state.notifications.list()[0].data["created"] = 99
    assert state.notifications.list()[0].data["created"] == 1
    with pytest.raises(ValueError, match="ntf_1"):
        state.notifications.add(notification(1))


def test_a_jobs_notification_is_stored_only_while_the_job_runs(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    with pytest.raises(JobGone):  # still pending: no runner has it
        state.notifications.add(notification(1, job_id="job_1"), job_id="job_1")
    state.jobs.claim_due(T0)

    state.notifications.add(notification(1, job_id="job_1"), job_id="job_1")

    assert [n.job_id for n in state.notifications.list()] == ["job_1"]
    state.reset()
    assert state.notifications.list() == []
    with pytest.raises(JobGone):  # a reset removed the job
        state.notifications.add(notification(2, job_id="job_1"), job_id="job_1")
    assert state.notifications.list() == []


# -- leases ------------------------------------------------------------------------------------


def test_a_job_whose_lease_ended_is_claimed_again_under_a_new_claim(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    [first] = state.jobs.claim_due(T0, lease_s=10)
    assert (first.status, first.lease_until) == ("running", T0 + 10)
    assert state.jobs.next_due() == T0 + 10

    assert state.jobs.claim_due(T0 + 9.9) == []  # its holder may still be working
    [again] = state.jobs.claim_due(T0 + 10, lease_s=10)  # its holder is gone

    assert (again.id, again.status, again.lease_until) == ("job_1", "running", T0 + 20)
    assert again.claim is not None and again.claim != first.claim
    assert [j.claim for j in state.jobs.list()] == [again.claim]


def test_a_renewed_claim_holds_and_a_released_one_is_pending_again(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.deliveries.add(delivery(1))
    [held_job] = state.jobs.claim_due(T0, lease_s=10)
    [held_delivery] = state.deliveries.claim_due(T0, lease_s=10)
    claims = [held_job.claim, held_delivery.claim]
    assert None not in claims

    assert state.leases.renew([c for c in claims if c], T0 + 50) == 2
    assert state.jobs.claim_due(T0 + 20) == []
    assert state.deliveries.claim_due(T0 + 20) == []
    assert state.jobs.next_due() == T0 + 50

    assert state.leases.release([c for c in claims if c]) == 2
    assert [(j.status, j.lease_until) for j in state.jobs.list()] == [("pending", None)]
    assert state.jobs.next_due() == T0  # due at its own due time: now
    assert state.leases.renew([c for c in claims if c], T0 + 90) == 0  # no longer held
    assert [j.id for j in state.jobs.claim_due(T0 + 20)] == ["job_1"]
    assert [d.id for d in state.deliveries.claim_due(T0 + 20)] == ["whdel_1"]


def test_due_by_claims_pending_work_early_but_never_a_live_claim(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.jobs.add(job(2, due_at=T0 + 1000))
    state.jobs.claim_due(T0, limit=1, lease_s=10)  # job_1, held by a live worker

    claimed = state.jobs.claim_due(T0 + 1, due_by=float("inf"))  # a flush

    assert [j.id for j in claimed] == ["job_2"]


def test_a_rerun_job_gets_its_recorded_insert_back_and_writes_nothing(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.records.insert_batch(TAMIO, [customer(9, "taken@example.com")])
    state.jobs.claim_due(T0, lease_s=10)
    first = state.records.insert_batch(
        TAMIO, [customer(1), customer(2, "taken@example.com")], job_id="job_1"
    )
    # Its worker dies before finishing; another claims the job and runs it again (a re-run
    # builds new records: new ids, new timestamps).
    state.jobs.claim_due(T0 + 10, lease_s=10)

    second = state.records.insert_batch(
        TAMIO, [customer(5, "user1@example.com"), customer(6, "taken@example.com")], job_id="job_1"
    )

    assert second == first
    assert created(second) == [True, False] and second[1].conflict == "email"
    assert emails(state, TAMIO) == ["taken@example.com", "user1@example.com"]
    assert [r.id for r in state.records.all(TAMIO)] == ["cus_00000009", "cus_00000001"]


def test_a_jobs_delivery_is_stored_once_however_often_the_job_runs(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.jobs.claim_due(T0, lease_s=10)
    assert state.deliveries.add(delivery(1), job_id="job_1") is True
    state.jobs.claim_due(T0 + 10, lease_s=10)  # the re-run

    assert state.deliveries.add(delivery(1), job_id="job_1") is False

    assert [d.id for d in state.deliveries.list()] == ["whdel_1"]
    with pytest.raises(ValueError, match="whdel_1"):  # outside a job a repeated id is a bug
        state.deliveries.add(delivery(1))


def test_an_attempt_is_recorded_only_by_the_claim_that_holds_the_delivery(state: State) -> None:
    state.deliveries.add(delivery(1))
    [stale] = state.deliveries.claim_due(T0, lease_s=10)
    [current] = state.deliveries.claim_due(T0 + 10, lease_s=10)  # the stale holder's lease ended
    ok = Attempt(at=T0 + 10, status=204, duration_ms=3.0)

    assert (
        state.deliveries.record_attempt("whdel_1", ok, "delivered", None, claim=stale.claim)
        is False
    )
    assert (
        state.deliveries.record_attempt("whdel_1", ok, "delivered", None, claim=current.claim)
        is True
    )

    [stored] = state.deliveries.list()
    assert (stored.status, stored.attempts, stored.claim) == ("delivered", [ok], None)


def test_an_attempt_that_outlives_its_hand_back_is_still_recorded(state: State) -> None:
    state.deliveries.add(delivery(1))
    state.deliveries.add(delivery(2))
    [first, second] = state.deliveries.claim_due(T0, lease_s=10)
    assert first.claim and second.claim
    state.leases.release([first.claim, second.claim])  # a stop hands both back mid-attempt
    state.deliveries.claim_due(T0 + 1, limit=1)  # whdel_1 is claimed again meanwhile
    ok = Attempt(at=T0, status=200, duration_ms=1.0)

    assert (
        state.deliveries.record_attempt("whdel_2", ok, "delivered", None, claim=second.claim)
        is True
    )
    assert (
        state.deliveries.record_attempt("whdel_1", ok, "delivered", None, claim=first.claim)
        is False
    )

    assert [(d.id, d.status) for d in state.deliveries.list()] == [
        ("whdel_1", "delivering"),
        ("whdel_2", "delivered"),
    ]


def test_a_jobs_notification_is_stored_once_however_often_the_job_runs(state: State) -> None:
    state.jobs.add(job(1, due_at=T0))
    state.jobs.claim_due(T0, lease_s=10)
    state.notifications.add(notification(1, job_id="job_1"), job_id="job_1")
    state.jobs.claim_due(T0 + 10, lease_s=10)  # the re-run

    state.notifications.add(notification(1, job_id="job_1"), job_id="job_1")

    assert [n.id for n in state.notifications.list()] == ["ntf_1"]
    with pytest.raises(ValueError, match="ntf_1"):  # outside a job a repeated id is a bug
        state.notifications.add(notification(1))
