"""Fault points inside real ecitizen processes, armed by the fault tests.

Nothing of the platform imports this module. The fault tests start the web processes as
``gunicorn ... tests.faults.inject:application`` (the platform's WSGI application with
the fault points installed) and the workers as ``python -m tests.faults.inject worker
<the options of ecitizen worker>``. Unarmed, both behave exactly as the platform's own.

A fault point is armed by a file in the folder ``ECITIZEN_FAULTS_DIR`` named
``hold-<point>`` or ``hold-<point>.<anything>``, holding a regular expression. The first
request or task of any process that reaches the point with something the expression
matches *claims* the file (renames it: one file, one hold), writes
``held-<point>-<pid>.json`` saying what it holds, and then sleeps there: the test kills
the process (SIGKILL) at that exact moment, or does something to the world around it and
releases it (a file ``release-<point>-<pid>``), and the process carries on. The points:

``commit``
    Just after the COMMIT of a transaction that wrote an audit event whose action
    matches (``cases.submitted``, ``payments.payment_created``,
    ``payments.payment_settled``, ``cases.fee_paid``...), before anything the
    transaction left for ``transaction.on_commit`` and before any response: the change
    is durable, the client has not heard of it, and whatever was to happen "after the
    commit" in this process never happens.
``document``
    Inside the issuing of a document, once its encrypted PDF is in storage and its
    upload row written but not committed (expression matched against
    ``"<template> <reference>"``, such as ``receipt RIV-SP-2026-000001-F/1A2B3C4D``):
    half of the document exists.
``webhook``
    In a worker, once the platform's webhook endpoint answered a sandbox webhook with
    2xx (expression matched against the body), before the task is recorded as done: the
    payment is settled, the task will run again.
``task``
    In a worker, as a task starts (django-tasks' ``task_started``), before its function
    runs (expression matched against the task's path, such as
    ``ecitizen.notifications.tasks.deliver_notification``): the task is claimed and
    running, none of its work is done.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: How long a held process waits before giving up (the test kills or releases it long
#: before).
HOLD_SECONDS = 300

_state = threading.local()


def _control() -> Path | None:
    folder = os.environ.get("ECITIZEN_FAULTS_DIR")
    return Path(folder) if folder else None


def _claim(point: str, subject: str) -> str | None:
    """Claim the first armed file of ``point`` whose expression matches ``subject``;
    returns the expression."""
    folder = _control()
    if folder is None:
        return None
    for rule in sorted(folder.glob(f"hold-{point}*")):
        if ".claimed-" in rule.name:
            continue
        try:
            pattern = rule.read_text()
        except FileNotFoundError:
            continue
        if not re.search(pattern, subject):
            continue
        try:
            rule.rename(rule.with_name(f"{rule.name}.claimed-{os.getpid()}"))
        except FileNotFoundError:
            continue  # another thread or process claimed it first
        return pattern
    return None


def _hold(point: str, pattern: str, subject: str) -> None:
    """Say where this process stands, then wait to be killed or released."""
    folder = _control()
    assert folder is not None
    marker = folder / f"held-{point}-{os.getpid()}.json"
    release = folder / f"release-{point}-{os.getpid()}"
    detail = {
        "point": point,
        "pattern": pattern,
        "subject": subject,
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
    }
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(json.dumps(detail))
    temporary.rename(marker)
    sys.stderr.write(f"fault point {point} holding {subject!r} in process {os.getpid()}\n")
    sys.stderr.flush()
    deadline = time.monotonic() + HOLD_SECONDS
    while not release.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"fault point {point} was never released")
        time.sleep(0.05)
    release.unlink()
    sys.stderr.write(f"fault point {point} released in process {os.getpid()}\n")


# --- commit ------------------------------------------------------------------------------------


def _audit_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    pattern = _claim("commit", instance.action) if created else None
    if pattern is not None:
        _state.hold_after_commit = (pattern, instance.action)


def _install_commit_point() -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.signals import post_save

    from ecitizen.core.models import AuditEvent

    post_save.connect(_audit_saved, sender=AuditEvent, weak=False)
    run_hooks = BaseDatabaseWrapper.run_and_clear_commit_hooks
    rollback = BaseDatabaseWrapper.rollback

    def run_and_clear_commit_hooks(self: Any) -> None:
        # Called right after every COMMIT of an outermost transaction, hooks or not.
        held = getattr(_state, "hold_after_commit", None)
        if held is not None:
            _state.hold_after_commit = None
            _hold("commit", *held)
        run_hooks(self)

    def rollback_and_forget(self: Any) -> None:
        _state.hold_after_commit = None  # the audit event is gone with the transaction
        rollback(self)

    BaseDatabaseWrapper.run_and_clear_commit_hooks = run_and_clear_commit_hooks  # type: ignore[method-assign]
    BaseDatabaseWrapper.rollback = rollback_and_forget  # type: ignore[method-assign]


# --- task, document and webhook (workers) -------------------------------------------------------


def _task_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    path = task_result.task.module_path
    pattern = _claim("task", path)
    if pattern is not None:
        _hold("task", pattern, path)


def _install_task_point() -> None:
    from django_tasks.signals import task_started

    task_started.connect(_task_started, weak=False)


def _install_document_point() -> None:
    from ecitizen.documents import render, storage

    render_pdf = render.render_pdf
    store = storage.store_encrypted

    def render_and_remember(**kwargs: Any) -> Any:
        _state.document = f"{kwargs['template']} {kwargs['reference']}"
        return render_pdf(**kwargs)

    def store_encrypted(**kwargs: Any) -> Any:
        upload = store(**kwargs)
        document, _state.document = getattr(_state, "document", None), None
        pattern = _claim("document", document) if document is not None else None
        if pattern is not None:
            _hold("document", pattern, document)
        return upload

    render.render_pdf = render_and_remember
    storage.store_encrypted = store_encrypted


def _install_webhook_point() -> None:
    import urllib.request

    urlopen = urllib.request.urlopen

    def urlopen_and_hold(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = urlopen(request, *args, **kwargs)
        body = (getattr(request, "data", None) or b"").decode()
        if getattr(request, "full_url", "").endswith("/payments/webhooks/sandbox/") and (
            200 <= response.status < 300
        ):
            pattern = _claim("webhook", body)
            if pattern is not None:
                _hold("webhook", pattern, body)
        return response

    urllib.request.urlopen = urlopen_and_hold


def install() -> None:
    """Install every fault point in this (set-up Django) process."""
    _install_commit_point()
    _install_task_point()
    _install_document_point()
    _install_webhook_point()


def _web_application() -> Any:
    from ecitizen.wsgi import application as platform

    install()
    return platform


def __getattr__(name: str) -> Any:
    # gunicorn imports ``application`` from here: build it then, not when the worker
    # entry point below imports this module.
    if name == "application":
        globals()["application"] = _web_application()
        return globals()["application"]
    raise AttributeError(name)


def main(argv: list[str]) -> None:
    """``python -m tests.faults.inject worker [options]``: ``ecitizen worker`` with the
    fault points installed."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecitizen.settings")
    import django

    django.setup()
    install()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ecitizen", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
