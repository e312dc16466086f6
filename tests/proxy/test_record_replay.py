"""Recording (``--record DIR``) and replay (``--replay DIR``): each proxied exchange becomes a
readable file without credentials or volatile headers; a replaying mock answers the same requests
the same way with the upstream gone, says which recording answered, and flags recorded answers
that break the spec."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mockserver.config import Settings
from mockserver.errors import ConfigError
from mockserver.recording import mask_secret

from .conftest import AUTH, KEY, proxy_settings
from .support import MOCKSERVER

CUSTOMERS = [
    {"customer_id": "0000", "first_name": "John", "last_name": "Doe",
     "email": "johndoe21@example.com", "phone_no": "+23481999999999",
     "devices": [{"device_type": "ios", "device_token": "123456"}]},
    {"customer_id": "1111", "first_name": "Jane", "last_name": "Doe",
     "email": "janedoe22@example.com", "phone_no": "+23481999999998"},
]


def client_session(base: str) -> list[tuple[int, object]]:
    """What a client's integration tests would do; returns each (status, JSON body)."""
    calls = [
        ("POST", "/customers/bulk", {"customers": CUSTOMERS}),
        ("POST", "/customers/bulk", {"customers": CUSTOMERS}),  # now duplicates
        ("GET", "/customers/0000", None),
        ("GET", "/customers?per_page=1&emails=janedoe22@example.com", None),
        ("POST", "/customers/bulk", {"customers": [{"first_name": "Ada"}]}),  # invalid
        ("GET", "/customers/nobody", None),
    ]
    answers = []
    for method, path, body in calls:
        answer = requests.request(method, base + path, headers=AUTH, json=body, timeout=10)
        answers.append((answer.status_code, answer.json()))
    return answers


@pytest.mark.slow
def test_record_then_replay_answers_the_same_with_the_upstream_stopped(tmp_path, launch) -> None:
    recordings = tmp_path / "recordings"
    upstream = launch("--api", "bunce")  # the real API, as far as this test knows
    recorder = launch(
        "--api", "bunce", "--proxy", f"bunce={upstream.base_url('bunce')}",
        "--record", str(recordings),
    )
    live = client_session(recorder.base_url("bunce"))
    recorder.stop()
    upstream.stop()
    assert [status for status, _ in live] == [200, 409, 200, 200, 422, 404]

    files = sorted(p.relative_to(recordings).as_posix() for p in recordings.rglob("*.json"))
    assert files == [
        "bunce/createCustomersBulk-0001.json",
        "bunce/createCustomersBulk-0002.json",
        "bunce/createCustomersBulk-0003.json",
        "bunce/getCustomer-0001.json",
        "bunce/getCustomer-0002.json",
        "bunce/listCustomers-0001.json",
    ]
    texts = [p.read_text() for p in recordings.rglob("*.json")]
    assert not any(KEY in text for text in texts)  # the credential is masked everywhere
    second = json.loads((recordings / "bunce/createCustomersBulk-0002.json").read_text())
    assert second["request"]["headers"]["X-Authorization"] == "sk_test_***"
    assert second["request"]["body"] == {"customers": CUSTOMERS}
    assert second["response"]["status"] == 409
    assert second["response"]["body"] == live[1][1]
    assert {name.lower() for name in second["response"]["headers"]} == {"content-type"}

    replay = launch("--api", "bunce", "--replay", str(recordings))
    assert client_session(replay.base_url("bunce")) == live
    # By the time each request came in: with several workers (serve's default) each one
    # writes its own journal entries, so the journal's order is not the answers' order.
    journal = sorted(replay.requests(), key=lambda entry: entry["time"])
    assert [e["replayed"] for e in journal] == [
        "bunce/createCustomersBulk-0001.json",
        "bunce/createCustomersBulk-0002.json",
        "bunce/getCustomer-0001.json",
        "bunce/listCustomers-0001.json",
        "bunce/createCustomersBulk-0003.json",
        "bunce/getCustomer-0002.json",
    ]
    # the same request recorded twice answered in turn; after a reset, from the first again
    replay.reset()
    again = requests.post(replay.base_url("bunce") + "/customers/bulk", headers=AUTH,
                          json={"customers": CUSTOMERS}, timeout=10)
    assert again.status_code == 200
    assert again.headers["X-Mock-Recording"] == "bunce/createCustomersBulk-0001.json"


@pytest.mark.slow
def test_several_workers_record_without_name_clashes(tmp_path, broken, launch) -> None:
    recordings = tmp_path / "recordings"
    served = launch("--api", "bunce", "--workers", "2", "--proxy", f"bunce={broken.url}",
                    "--record", str(recordings))
    url = served.base_url("bunce") + "/customers/fine"
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda _: requests.get(url, headers=AUTH, timeout=10).status_code, range(24)))
    pids = {requests.get(served.url + "/__mock/health", timeout=5).json()["pid"]
            for _ in range(20)}
    served.stop()
    assert statuses == [200] * 24
    names = sorted(p.name for p in (recordings / "bunce").iterdir())
    assert names == [f"getCustomer-{n:04d}.json" for n in range(1, 25)]
    assert all(json.loads((recordings / "bunce" / n).read_text())["response"]["status"] == 200
               for n in names)
    assert len(pids) == 2  # both workers answered (and wrote)


def test_a_recorded_answer_that_breaks_the_spec_is_replayed_as_recorded_but_flagged(
    tmp_path, broken, start_mock
) -> None:
    recorder = start_mock(proxy_settings(broken.url, record_dir=str(tmp_path)))
    live = requests.get(recorder.base_url("bunce") + "/customers/wrong-type", headers=AUTH,
                        timeout=10)
    [entry] = recorder.requests()
    assert entry["recorded"] == "bunce/getCustomer-0001.json"

    replay = start_mock(proxy_settings(broken.url, proxy={}, replay_dir=str(tmp_path)))
    answer = requests.get(replay.base_url("bunce") + "/customers/wrong-type", headers=AUTH,
                          timeout=10)
    assert (answer.status_code, answer.json()) == (live.status_code, live.json())
    assert answer.headers["X-Mock-Recording"] == "bunce/getCustomer-0001.json"
    assert json.loads(answer.headers["X-Mock-Violations"]) == [
        {"side": "response", "field": "data.phone_no",
         "problem": "23481999999999 is not of type string"}]
    [entry] = replay.requests()
    assert entry["replayed"] == "bunce/getCustomer-0001.json"
    assert entry["drift"][0]["field"] == "data.phone_no"
    assert replay.drift().items[0].sample["replayed"] == "bunce/getCustomer-0001.json"


def test_the_matching_rule_ignores_order_spacing_and_credentials(
    tmp_path, broken, start_mock
) -> None:
    recorder = start_mock(proxy_settings(broken.url, record_dir=str(tmp_path)))
    base = recorder.base_url("bunce")
    requests.get(base + "/customers?per_page=2&emails=a@x.io", headers=AUTH, timeout=10)
    requests.post(base + "/customers/bulk", headers={**AUTH, "Content-Type": "application/json"},
                  data=b'{"customers": [{"customer_id": "7", "email": "a@x.io"}]}', timeout=10)

    replay = start_mock(proxy_settings(broken.url, proxy={}, replay_dir=str(tmp_path)))
    base = replay.base_url("bunce")
    other_key = {"X-Authorization": "sk_test_someone_else"}
    listed = requests.get(base + "/customers?emails=a@x.io&per_page=2", headers=other_key,
                          timeout=10)
    assert listed.headers.get("X-Mock-Recording") == "bunce/listCustomers-0001.json"
    posted = requests.post(base + "/customers/bulk",
                           headers={**other_key, "Content-Type": "application/json"},
                           data=b'{"customers":[{"email":"a@x.io","customer_id":"7"}]}',
                           timeout=10)
    assert posted.headers.get("X-Mock-Recording") == "bunce/createCustomersBulk-0001.json"
    assert posted.status_code == 207  # as recorded, although the request is invalid

    # a different body or query matches nothing: the mock answers as it always does
    other = requests.post(base + "/customers/bulk", headers={**AUTH},
                          json={"customers": [{"customer_id": "8", "email": "a@x.io"}]},
                          timeout=10)
    assert (other.status_code, "X-Mock-Recording" in other.headers) == (422, False)
    page = requests.get(base + "/customers?per_page=3", headers=AUTH, timeout=10)
    assert (page.status_code, "X-Mock-Recording" in page.headers) == (200, False)
    assert page.json()["success"] is True  # from the mock's own store


def test_mockserver_drift_checks_recordings_against_the_spec(tmp_path, broken, start_mock):
    recorder = start_mock(proxy_settings(broken.url, record_dir=str(tmp_path)))
    for case in ("fine", "missing", "undocumented"):
        requests.get(recorder.base_url("bunce") + f"/customers/{case}", headers=AUTH, timeout=10)

    finished = subprocess.run([MOCKSERVER, "drift", "--recordings", str(tmp_path), "--json"],
                              capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1, finished.stderr
    report = json.loads(finished.stdout)
    assert (report["exchanges"], report["exchanges_with_drift"]) == (3, 2)
    assert [(f["operation_id"], f["field"], f["sample"]["recording"])
            for f in report["findings"]] == [
        ("getCustomer", "data.customer_created_at", "bunce/getCustomer-0002.json"),
        ("getCustomer", "status", "bunce/getCustomer-0003.json"),
    ]


def test_credentials_are_masked_down_to_their_prefix() -> None:
    assert mask_secret("sk_test_abc123def456") == "sk_test_***"
    assert mask_secret("Bearer tok_live_abcdef123456") == "Bearer tok_live_***"
    assert mask_secret("abcdef") == "***"
    assert mask_secret("ab_c") == "***"  # a "prefix" as long as the secret is not kept


def test_a_broken_recording_stops_start_up_naming_the_file(tmp_path) -> None:
    from mockserver.app import create_app

    (tmp_path / "bunce").mkdir()
    (tmp_path / "bunce" / "x-0001.json").write_text('{"mockserver_recording": 1, "api": "b"}')
    with pytest.raises(ConfigError, match=re.escape("recording bunce/x-0001.json: 'request'")):
        create_app(Settings(apis=["bunce"], background=False, replay_dir=str(tmp_path)))
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(Settings(apis=["bunce"], background=False,
                            replay_dir=str(tmp_path / "nothing")))
