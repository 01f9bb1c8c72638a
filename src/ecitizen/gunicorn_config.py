"""Gunicorn settings for ecitizen's web processes.

Use it with ``gunicorn -c python:ecitizen.gunicorn_config ecitizen.wsgi:application``
(command-line options such as ``--bind`` and ``--workers`` still apply on top).

What it changes: gunicorn sends ``Server: gunicorn`` on every response and has no
setting to stop it. Naming the server software helps an attacker pick exploits and
helps nobody else, so this module removes that header line from gunicorn's HTTP/1
responses when gunicorn loads it. (Django and WhiteNoise add no ``Server`` header of
their own. A reverse proxy in front usually adds its own: see "Server header" in
docs/configuration.md.) ``ecitizen.core.tests.test_gunicorn`` starts a real gunicorn with
this file and checks the header is gone, so a gunicorn upgrade that changes how
the header is written fails the tests instead of quietly bringing it back.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http import wsgi as _gunicorn_wsgi

_default_headers = _gunicorn_wsgi.Response.default_headers


def _default_headers_without_server(self: Any) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _default_headers_without_server

# Requests with enormous header sections are refused by gunicorn before Django sees them
# (these are gunicorn's defaults, stated so that a change of default is noticed).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def child_exit(server: Any, worker: Any) -> None:
    """A worker process ended: with Prometheus' multi-process mode
    (``PROMETHEUS_MULTIPROC_DIR``, see ``ecitizen.core.metrics``), its gauges are dropped
    from the sums; its counters stay counted."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
