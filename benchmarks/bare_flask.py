"""The ceiling: a bare Flask app that parses the JSON body and answers, and nothing else.

Served by gunicorn with the same worker model, workers and threads as ``mockserver serve`` (see
``benchmarks/run.py``), so the ratio mock / bare Flask is the cost of what the mock does on top of
Flask and gunicorn: routing, auth, validation, behaviours, state, response checks and the journal.
It parses with orjson, as the mock does, and answers a small JSON body of the same shape as the
mock's stateless answer.

    gunicorn -w 2 -k gthread --threads 2 --reuse-port -b 127.0.0.1:8001 benchmarks.bare_flask:app
"""

from __future__ import annotations

import orjson
from flask import Flask, Response, request

app = Flask("bare")

ANSWER = orjson.dumps(
    {
        "data": [
            {
                "customer_id": "0000",
                "first_name": "John",
                "last_name": "Doe",
                "email": "johndoe@example.com",
                "phone_no": "+23481999999999",
                "customer_created_at": "2023-12-17T10:59:04.685126+01:00",
            }
        ],
        "message": "Customers created successfully",
        "success": True,
    }
)


@app.post("/bunce/v1/customers/bulk")
def bulk() -> Response:
    body = orjson.loads(request.get_data(cache=False))
    if not isinstance(body, dict) or not isinstance(body.get("customers"), list):
        return Response(b'{"success":false,"message":"bad body"}', 422, mimetype="application/json")
    return Response(ANSWER, 200, mimetype="application/json")


@app.get("/health")
def health() -> Response:
    return Response(b'{"status":"ok"}', 200, mimetype="application/json")
