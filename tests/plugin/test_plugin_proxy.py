"""The fixture in proxy mode: ``MOCKSERVER_PROXY=... pytest`` runs a suite through a real API
(here a deliberately broken local one), checked against the spec, and records it."""

from __future__ import annotations

import json

import pytest
from proxy.upstream import BrokenUpstream


@pytest.mark.slow
def test_a_suite_runs_through_the_real_api_when_mockserver_proxy_is_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = BrokenUpstream().start()
    recordings = pytester.path / "recordings"
    monkeypatch.setenv("MOCKSERVER_PROXY", f"bunce={upstream.url}")
    monkeypatch.setenv("MOCKSERVER_RECORD_DIR", str(recordings))
    pytester.makepyfile(test_through_the_sandbox="""
        import requests

        def test_fetch(mockserver):
            answer = requests.get(mockserver.base_url("bunce") + "/customers/wrong-type",
                                  headers={"X-Authorization": "sk_test_plugin_0123456789"},
                                  timeout=10)
            assert answer.status_code == 200
            assert answer.json()["data"]["phone_no"] == 23481999999999  # the upstream's body
            report = mockserver.drift()
            assert [(i.operation_id, i.field) for i in report.items] == [
                ("getCustomer", "data.phone_no")]
    """)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    finally:
        upstream.stop()
    result.assert_outcomes(passed=1)
    [path] = recordings.rglob("*.json")
    recorded = json.loads(path.read_text())
    assert recorded["operation_id"] == "getCustomer"
    assert recorded["request"]["headers"]["X-Authorization"] == "sk_test_***"
