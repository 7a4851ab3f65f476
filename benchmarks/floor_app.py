"""The framework floor of ``make bench``: Flask with one route and nothing else.

Served by gunicorn with Portcullis' own settings (benchmarks/gunicorn_bench.py,
which reads gunicorn.conf.py), so that the ratio of a Portcullis row to this
one is the cost of Portcullis itself, not of Flask, gunicorn, loopback or wrk.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping() -> dict[str, str]:
    """A small JSON answer, as Portcullis' cheapest routes give."""
    return {"status": "ok"}
