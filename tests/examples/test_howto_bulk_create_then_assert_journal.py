"""How to: send a bulk create to the mock, then assert on what your code sent.

Your client only needs a different base URL: ``mockserver.base_url("bunce")`` instead of
``https://api.bunce.so/v1``. Afterwards the journal (``mockserver.requests``) shows every request
the mock received, already matched to its operationId, with the parsed body.
"""

import json

import requests


def test_bunce_bulk_create_and_the_journal(mockserver, load_fixture):
    body = {"customers": load_fixture("datasets/small.json")["bunce"]["sk_test_demo"]}

    response = requests.post(
        mockserver.base_url("bunce") + "/customers/bulk",
        json=body,
        headers={"X-Authorization": "sk_test_my_app"},  # any sk_test_/sk_live_ key is an account
        timeout=5,
    )

    assert response.status_code == 200
    assert response.json()["message"] == "Customers created successfully"
    # The call happened exactly once, and the mock recorded what was sent:
    [call] = mockserver.assert_called("createCustomersBulk", times=1)
    assert len(call["body"]["customers"]) == 10
    assert call["account"] == "sk_test_***"  # credentials are masked in the journal
    # ...and the customers now exist in that account.
    assert len(mockserver.customers("bunce", "sk_test_my_app")) == 10


def test_tamio_bulk_import_runs_in_the_background(mockserver, load_fixture):
    body = load_fixture("tamio_bulk_500.json")  # 500 customers, Tamio's documented maximum
    headers = {"Authorization": "Bearer my-tamio-key"}

    # Tamio's docs send this JSON as text/plain (the fetch sample); the mock accepts it.
    response = requests.post(mockserver.base_url("tamio") + "/customers/bulk/create",
                             data=json.dumps(body),
                             headers={**headers, "Content-Type": "text/plain"}, timeout=10)
    assert response.json() == {"status": 200}  # scheduled, nothing created yet

    # Instead of sleeping until the import job is due, run it now. (flush_jobs also waits for
    # an import the background worker has already started, so what follows never races it.)
    mockserver.flush_jobs()
    # (Tamio lists leads only when asked: the fixture has some.)
    listing = requests.get(mockserver.base_url("tamio") + "/customers/list", headers=headers,
                           params={"page": 1, "per_page": 50, "include_leads": "true"},
                           timeout=5).json()
    assert listing["total_results"] == 500
    assert {c["source"] for c in listing["customers"]} == {"import"}

    [call] = mockserver.requests(api="tamio", operation="bulkCreateCustomers")
    assert any("text/plain" in note for note in call["notes"])  # the journal says what it did
