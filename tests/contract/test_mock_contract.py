"""schemathesis proves that the mock and every bundled spec agree.

Every bundled spec, every check schemathesis has (plus ``documented_rejection``), every phase:
documented examples, boundary ("coverage") cases, fuzzing, and stateful sequences where the spec
has links. The mock runs in-process (the Flask app over WSGI) with strict response validation, so
an answer the spec does not document is caught twice: by schemathesis and by the mock itself.

Deterministic: a fixed seed, ``derandomize``, no example database, bounded example counts. The
few check adjustments are the packs' allowances (``ApiPack.allowances``), each with its reason.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings

from mockserver import contract
from mockserver.config import Settings
from mockserver.openapi.loader import bundled_spec_paths
from mockserver.testing import MockServer

MAX_EXAMPLES = 25  # per operation and phase; the whole file runs in about 30 s on 2 cores
STATEFUL_SCENARIOS = 15
STATEFUL_STEPS = 8

MOCK = MockServer.in_process(Settings(
    validate_responses="strict",  # an undocumented answer is a 500 and an error in the mock
    log_requests=False,
    seed=contract.DEFAULT_SEED,
    background=False,  # jobs run when the test flushes them, in the test's thread
    job_delay_s=0.0,
))
DOCUMENTS = {contract.api_name(d) or p.stem: d for p in bundled_spec_paths()
             for d in [contract.read_spec(p)]}


def _schema(name: str, document: dict[str, Any]) -> Any:
    config = contract.config_dict(
        document,
        target="mock",  # the allowances for the mock's own choices apply (see contract.py)
        auth=contract.mock_credentials(document),  # Bearer token / sk_test_ key per scheme
        max_examples=MAX_EXAMPLES,
    )
    mount = MOCK.engine.by_name[name].mount  # /bunce/v1 instead of https://api.bunce.so/v1
    return contract.load_schema(document, config, app=MOCK.app, mount=mount)


SCHEMAS = {name: _schema(name, document) for name, document in DOCUMENTS.items()}


def _settle() -> None:
    """Run what the request scheduled (Tamio imports) and re-raise anything that broke inside."""
    MOCK.flush_jobs()
    MOCK.check()


def _contract_test(schema: Any) -> Any:
    @schema.parametrize()
    def test(case: Any) -> None:
        case.call_and_validate()
        _settle()

    return test


# One test per spec, one item per operation: test_bunce_contract[POST /customers/bulk], ...
for _name, _schema_of_api in SCHEMAS.items():
    globals()[f"test_{_name}_contract"] = _contract_test(_schema_of_api)


def _state_machine(schema: Any) -> Any:
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # Each scenario starts from an empty store, so replaying one (hypothesis shrinks and
            # re-runs) sees the same answers: a created customer is not a duplicate the next time.
            MOCK.reset()

        def after_call(self, response: Any, case: Any) -> None:
            _settle()

    return Machine


STATEFUL_SETTINGS = settings(
    max_examples=STATEFUL_SCENARIOS,
    stateful_step_count=STATEFUL_STEPS,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# Only specs with links (explicit, or inferred by schemathesis) have stateful sequences to run.
MACHINES = {name: _state_machine(schema) for name, schema in SCHEMAS.items()
            if schema.as_state_machine().bundles}


class TestStatefulBunce(MACHINES["bunce"].TestCase):  # type: ignore[misc, name-defined]
    """Create customers (bulk and single), then fetch and list them along the inferred links."""

    settings = STATEFUL_SETTINGS


class TestStatefulTamio(MACHINES["tamio"].TestCase):  # type: ignore[misc, name-defined]
    """Create customers, then retrieve them along the createCustomer -> retrieveCustomer link."""

    settings = STATEFUL_SETTINGS


def test_every_spec_with_links_has_a_stateful_test() -> None:
    # A spec that gains links must get its own TestStateful... class above.
    assert set(MACHINES) == {"bunce", "tamio"}, f"specs with links: {sorted(MACHINES)}"
