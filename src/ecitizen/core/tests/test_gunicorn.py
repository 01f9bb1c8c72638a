"""A real gunicorn with the shipped configuration: it does not name itself, and TRACE is
refused."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(port: int, method: str) -> http.client.HTTPResponse:
    deadline = time.monotonic() + 30
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, "/", headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            response.read()
            return response
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        finally:
            connection.close()


@pytest.mark.skipif(not GUNICORN.exists() and not shutil.which("gunicorn"), reason="no gunicorn")
@pytest.mark.parametrize("config", [True, False], ids=["shipped config", "gunicorn alone"])
def test_gunicorn_with_the_shipped_config_does_not_name_itself(tmp_path, config):
    port = _free_port()
    command = [str(GUNICORN if GUNICORN.exists() else shutil.which("gunicorn"))]
    if config:
        command += ["-c", "python:ecitizen.gunicorn_config"]
    command += [
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "ecitizen.wsgi:application",
    ]
    env = {**os.environ, "VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        response = _request(port, "TRACE")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert response.status == 405
    if config:
        assert response.getheader("Server") is None
    else:
        # Proves the check can fail: gunicorn on its own names itself.
        assert response.getheader("Server") == "gunicorn"


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.mark.skipif(not GUNICORN.exists() and not shutil.which("gunicorn"), reason="no gunicorn")
def test_metrics_add_up_every_worker_process_including_ended_ones(tmp_path):
    """Prometheus' multi-process mode under gunicorn: workers replaced after 5 requests each
    (``--max-requests``), so 30 requests are answered by at least 6 processes, most ended
    by the time of the scrape; the scrape still counts all 30."""
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    command = [
        str(GUNICORN if GUNICORN.exists() else shutil.which("gunicorn")),
        *("-c", "python:ecitizen.gunicorn_config", "--bind", f"127.0.0.1:{port}"),
        *("--workers", "2", "--max-requests", "5", "ecitizen.wsgi:application"),
    ]
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _request(port, "GET")  # waits until it listens (one request to "/", not counted)
        statuses = [_get(port, "/livez")[0] for _ in range(30)]
        status, body = _get(port, "/metrics")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses == [200] * 30
    assert status == 200
    counted = [
        line
        for line in body.splitlines()
        if line.startswith("ecitizen_http_requests_total{") and 'route="livez"' in line
    ]
    assert len(counted) == 1, counted
    assert float(counted[0].rsplit(" ", 1)[1]) == 30
    # Each process wrote its own file (the counts of ended ones stayed).
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 6
