"""What operators see of each request and task: a request id, structured logs, metrics.

- Every request gets an id (:func:`current_request_id`): the ``X-Request-ID`` a trusted
  reverse proxy sent (so one id follows the request from the proxy's log to ours), else a
  new random one. It is sent back in the ``X-Request-ID`` response header, added to every
  log record written while the request runs (:class:`RequestIdLogFilter`), and carried
  into the background tasks the request enqueues (:class:`DatabaseBackend` stores it with
  the task; the worker takes it back while the task runs), so that an email sent or a
  document issued for a submission can be found from the submission's log line.
- :class:`ObservabilityMiddleware` writes one ``ecitizen.request`` log line per request
  (method, URL pattern, status, duration; never the query string or a body, which may
  hold personal data) and counts it for ``/metrics`` (:mod:`ecitizen.core.metrics`).

The id lives in a :class:`contextvars.ContextVar`, so threads (gunicorn's ``gthread``
workers) and async code each see their own.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django_tasks.signals import task_finished, task_started
from django_tasks_db.backend import DatabaseBackend as _DatabaseBackend

from ecitizen.core import metrics
from ecitizen.core.http import address_in_networks, from_trusted_proxy, trusted_proxy_networks

REQUEST_ID_HEADER = "X-Request-ID"
#: What an incoming ``X-Request-ID`` may look like to be kept (what proxies generate:
#: UUIDs, hex, base64url); anything else is replaced, so that a log line cannot be forged.
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{8,128}")
#: The key of the request id in a task's stored ``args_kwargs`` (beside ``args`` and
#: ``kwargs``, which are all the worker reads).
_TASK_REQUEST_ID_KEY = "request_id"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ecitizen_request_id", default=None
)

request_log = logging.getLogger("ecitizen.request")


def current_request_id() -> str | None:
    """The id of the request (or of the request that enqueued the task) being handled in
    this thread or task, ``None`` outside one (a command, the scheduler)."""
    return _request_id.get()


def new_request_id() -> str:
    """A random id: 128 bits, as 32 hexadecimal characters (the shape of a UUID's)."""
    return secrets.token_hex(16)


def _proxy_may_name_requests(request: HttpRequest) -> bool:
    # Stricter than from_trusted_proxy(): without TRUSTED_PROXIES or TRUSTED_PROXY_COUNT
    # nobody is a proxy, so a client cannot choose the id its requests are logged under.
    if trusted_proxy_networks():
        return from_trusted_proxy(request)
    return settings.TRUSTED_PROXY_COUNT > 0


def request_id_for(request: HttpRequest) -> str:
    """The id for ``request``: a well-formed ``X-Request-ID`` from a trusted proxy, else a
    new one."""
    offered = str(request.META.get("HTTP_X_REQUEST_ID", ""))
    if offered and _REQUEST_ID_SHAPE.fullmatch(offered) and _proxy_may_name_requests(request):
        return offered
    return new_request_id()


def _route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (``cases/<str:reference>/``), not the path: the path
    may hold a reference or a name, and as a metric label it would grow without bound."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.route or match.view_name or "unmatched"


class ObservabilityMiddleware:
    """Give the request its id, then log and count it once it is answered.

    Placed first in ``MIDDLEWARE``, so that its duration covers every other layer and
    the log records of all of them carry the id. Side effects: sets the ``X-Request-ID``
    response header; writes one ``ecitizen.request`` record (INFO; WARNING for a 5xx);
    updates the request metrics.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        seconds = time.perf_counter() - started
        response.headers[REQUEST_ID_HEADER] = request_id
        route = _route_of(request)
        metrics.request_observed(request.method or "", route, response.status_code, seconds)
        if settings.LOG_REQUESTS:
            request_log.log(
                logging.WARNING if response.status_code >= 500 else logging.INFO,
                "%s %s %s %.1f ms",
                request.method,
                route,
                response.status_code,
                seconds * 1000,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every record, for the formatters to show: the request's or
    task's, ``"-"`` outside one (a command, the scheduler). A record that already carries
    one keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True


class DatabaseBackend(_DatabaseBackend):
    """django-tasks-db's database backend, storing the id of the request that enqueues a
    task beside its arguments (the worker reads only ``args`` and ``kwargs``).

    The row is written as the library writes it (``django_tasks_db.backend``), with one
    more key: adding the id afterwards would cost a second query per task.
    ``test_observability`` runs a task so stored through the library's own worker.
    """

    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks.utils import normalize_json
        from django_tasks_db.models import DBTaskResult

        stored: dict[str, Any] = {"args": args, "kwargs": kwargs}
        request_id = _request_id.get()
        if request_id is not None:
            stored[_TASK_REQUEST_ID_KEY] = request_id
        return DBTaskResult.objects.create(
            id=self._get_id(),
            args_kwargs=normalize_json(stored),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )


#: Marks an argument not given (``None`` is a stored value: a row without arguments).
_NOT_GIVEN: Any = object()

# What a worker thread's running task set: the token of its request id and its start.
_running_tasks: dict[str, tuple[contextvars.Token[str | None], float]] = {}


def _stored_request_id(task_id: str, stored: Any = _NOT_GIVEN) -> str | None:
    """The request id stored with the task: from ``stored`` (the row's ``args_kwargs``,
    when the worker that claimed the row gives it), else read from the row."""
    if stored is _NOT_GIVEN:
        from django_tasks_db.models import DBTaskResult

        stored = (
            DBTaskResult.objects.filter(pk=task_id).values_list("args_kwargs", flat=True).first()
        )
    value = stored.get(_TASK_REQUEST_ID_KEY) if isinstance(stored, dict) else None
    return value if isinstance(value, str) and _REQUEST_ID_SHAPE.fullmatch(value) else None


def _from_worker(sender: Any) -> bool:
    # The worker sends the backend instance, or its class when a task failed.
    backend = sender if isinstance(sender, type) else type(sender)
    return issubclass(backend, _DatabaseBackend)


@receiver(task_started)
def _task_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """A worker starts a task: what it logs carries the id of the request that enqueued
    it, or a new id of its own (a scheduled job's task). Tasks the immediate backend runs
    inside the request already carry the request's.

    ``ecitizen worker`` sends the row it claimed as ``stored_arguments`` (its
    ``args_kwargs``): the id is then taken from it, without reading the row again (a
    query per task). django-tasks-db's own worker does not, and the row is read."""
    if not _from_worker(sender):
        return
    stored = kwargs.get("stored_arguments", _NOT_GIVEN)
    request_id = _stored_request_id(str(task_result.id), stored) or new_request_id()
    _running_tasks[str(task_result.id)] = (_request_id.set(request_id), time.perf_counter())


@receiver(task_finished)
def _task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """Count the task for ``/metrics``; the worker's next task starts without the id.
    (django-tasks logs each task's start and end itself.)"""
    running = _running_tasks.pop(str(task_result.id), None)
    status = str(getattr(task_result.status, "value", task_result.status)).lower()
    metrics.task_observed(
        task_result.task.name, status, time.perf_counter() - running[1] if running else None
    )
    if running is not None:
        _request_id.reset(running[0])


def metrics_allowed(request: HttpRequest) -> bool:
    """May ``request`` read ``/metrics``? With ``METRICS_TOKEN`` set, only with
    ``Authorization: Bearer <token>``; without it, only from ``METRICS_ALLOWED_NETWORKS``
    (the TCP peer: a proxy in front would make every client look allowed, so the
    networks must be those of the scraper, not of the proxies)."""
    token = settings.METRICS_TOKEN
    if token:
        offered = request.META.get("HTTP_AUTHORIZATION", "")
        return secrets.compare_digest(offered.encode(), f"Bearer {token}".encode())
    return address_in_networks(
        request.META.get("REMOTE_ADDR"), tuple(settings.METRICS_ALLOWED_NETWORKS)
    )
