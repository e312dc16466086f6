"""How to: test your handling of duplicate customers.

Bunce creates the unique items of a bulk request and reports the others (HTTP 409, the documented
failure body). Tamio's import skips them with error_code 10142, and its single create refuses
them with HTTP 400. Emails compare case-insensitively, also within one batch.
"""

import requests

BUNCE_KEY = {"X-Authorization": "sk_test_dupes"}
TAMIO_KEY = {"Authorization": "Bearer dupes"}


def test_bunce_partial_failure(mockserver, load_fixture):
    # 40 customers, 8 of which repeat an earlier email, some in another letter case.
    body = load_fixture("bunce_bulk_duplicates.json")

    response = requests.post(mockserver.base_url("bunce") + "/customers/bulk", json=body,
                             headers=BUNCE_KEY, timeout=5)

    assert response.status_code == 409
    answer = response.json()
    assert answer["status"] is False  # the documented failure body uses "status", not "success"
    assert answer["message"] == "Errors encountered while creating. 8 out of 40 customers failed"
    assert all(error.endswith(" is already taken") for error in answer["errors"])
    # The other 32 were created.
    assert len(mockserver.customers("bunce", "sk_test_dupes")) == 32


def test_bunce_email_already_in_the_account(mockserver):
    mockserver.seed("bunce", "sk_test_dupes", [{
        "customer_id": "1", "email": "ada@example.com", "first_name": "Ada",
        "last_name": "Obi", "phone_no": "+2348012345678"}])

    response = requests.post(mockserver.base_url("bunce") + "/customers", headers=BUNCE_KEY,
                             timeout=5, json={"customer_id": "2", "email": "ADA@example.com",
                                              "first_name": "Ada", "last_name": "Obi",
                                              "phone_no": "+2348012345678"})

    assert response.status_code == 409
    assert response.json()["message"] == "ADA@example.com is already taken"


def test_tamio_import_skips_duplicates(mockserver):
    body = {"customers": [{"name": "Anna", "email": "anna@example.de", "country": "de"},
                          {"name": "Anna", "email": "Anna@Example.de", "country": "de"}]}
    requests.post(mockserver.base_url("tamio") + "/customers/bulk/create", json=body,
                  headers=TAMIO_KEY, timeout=5)
    mockserver.flush_jobs()

    # What the import did is visible through the control API.
    [job] = requests.get(mockserver.url + "/__mock/jobs", timeout=5).json()["jobs"]
    assert job["result"]["created"] == 1
    assert [(f["index"], f["error_code"]) for f in job["result"]["failed"]] == [(1, 10142)]

    # A single create of the same email is refused at once.
    again = requests.post(mockserver.base_url("tamio") + "/customers/create", headers=TAMIO_KEY,
                          json=body["customers"][0], timeout=5)
    assert again.status_code == 400
    assert again.json()["error_code"] == 10142
