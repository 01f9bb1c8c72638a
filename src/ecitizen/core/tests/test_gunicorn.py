"""A real gunicorn with the shipped configuration: it does not name itself, and TRACE is
refused."""

from __future__ import annotations

import http.client
import subprocess
from pathlib import Path

import pytest

from tests.processes import (
    free_port,
    gunicorn_command,
    needs_gunicorn,
    process_env,
    spawn,
    wait_for,
)


def _request(
    port: int, method: str = "GET", path: str = "/"
) -> tuple[http.client.HTTPResponse, str]:
    """One request to the server on ``port``: its response and body.

    The timeout only guards against a hung server: on a loaded machine a request can wait
    many seconds for a worker that ``--max-requests`` replaced to finish starting."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        return response, response.read().decode()
    finally:
        connection.close()


def _first_request(port: int, method: str = "GET") -> http.client.HTTPResponse:
    """A request to ``/`` once the server listens."""
    response, _body = wait_for(lambda: _request(port, method), "gunicorn to listen", patience=30)
    return response


def _gunicorn(
    tmp_path: Path, port: int, *options: str, config: bool = True, **settings: str
) -> subprocess.Popen:
    return spawn(
        gunicorn_command(port, *options, config=config),
        env=process_env(VAR_DIR=str(tmp_path), ALLOWED_HOSTS="127.0.0.1", **settings),
        log=tmp_path / "gunicorn.log",
        cwd=tmp_path,
    )


@needs_gunicorn
@pytest.mark.parametrize("config", [True, False], ids=["shipped config", "gunicorn alone"])
def test_gunicorn_with_the_shipped_config_does_not_name_itself(tmp_path, config):
    port = free_port()
    server = _gunicorn(tmp_path, port, "--workers", "1", config=config)
    try:
        response = _first_request(port, "TRACE")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert response.status == 405
    if config:
        assert response.getheader("Server") is None
    else:
        # Proves the check can fail: gunicorn on its own names itself.
        assert response.getheader("Server") == "gunicorn"


@needs_gunicorn
def test_metrics_add_up_every_worker_process_including_ended_ones(tmp_path):
    """Prometheus' multi-process mode under gunicorn: workers replaced after 5 requests each
    (``--max-requests``), so 30 requests are answered by at least 6 processes, most ended
    by the time of the scrape; the scrape still counts all 30."""
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = _gunicorn(
        tmp_path,
        port,
        *("--workers", "2", "--max-requests", "5"),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    try:
        _first_request(port)  # waits until it listens (one request to "/", not counted)
        statuses = [_request(port, path="/livez")[0].status for _ in range(30)]
        metrics, body = _request(port, path="/metrics")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses == [200] * 30
    assert metrics.status == 200
    counted = [
        line
        for line in body.splitlines()
        if line.startswith("ecitizen_http_requests_total{") and 'route="livez"' in line
    ]
    assert len(counted) == 1, counted
    assert float(counted[0].rsplit(" ", 1)[1]) == 30
    # Each process wrote its own file (the counts of ended ones stayed).
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 6
