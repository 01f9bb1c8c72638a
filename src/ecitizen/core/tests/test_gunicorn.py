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
