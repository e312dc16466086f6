"""Tests of the state backends; helpers shared by the test modules."""

from __future__ import annotations

from mockserver.store import NewRecord


def customer(n: int, email: str | None = None, customer_id: str | None = None) -> NewRecord:
    """A Bunce-shaped customer (about 250 bytes of JSON) keyed by customer_id and unique email."""
    cid = customer_id if customer_id is not None else f"cus_{n:08d}"
    mail = email if email is not None else f"user{n}@example.com"
    data = {
        "customer_id": cid,
        "email": mail,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone_no": "+2348012345678",
        "devices": [{"device_type": "android", "device_token": f"tok_{n:016d}"}],
        "customer_created_at": "2024-05-01T12:00:00.123456+00:00",
    }
    return NewRecord(id=cid, data=data, unique={"email": mail})
