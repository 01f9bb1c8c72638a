"""Reads from a PostgreSQL read replica, for the public pages and APIs that only read.

It is on only when ``DATABASE_REPLICA_URL`` is set: the settings then add the ``replica``
database, this module's :class:`ReplicaRouter` (``DATABASE_ROUTERS``) and its
:class:`ReplicaPinMiddleware`. Without it nothing here is installed, and every query goes
to the one database, ``default``.

The rules, in the order the router applies them:

1. **Writes and migrations** always go to ``default``, the primary. The replica gets both
   by replication (and is read-only: the settings open its sessions read-only).
2. **Reads go to the primary unless the code asked for the replica**: only inside
   :func:`replica_reads`, which the public read-heavy views enter through
   :func:`replica_view` (the service catalogue, open data and its APIs, Open311's lists,
   the public street reports and their feeds, the performance page). Staff pages, a
   person's own pages, services, tasks, the scheduler and commands read the primary.
3. :func:`replica_view` enters that scope only for a ``GET`` or ``HEAD`` request of an
   **anonymous** visitor **without** an ``Authorization`` header. A signed-in person's
   pages mix in their own state (inbox, roles) and their writes may come from another
   device or from staff, which nothing here can see; an API client with credentials
   (a publisher's CKAN token) reads back what it wrote, and seldom keeps cookies.
4. Inside the scope, a read still goes to the primary:

   - **inside a transaction** on ``default``: a service reads what it is about to write,
     under its locks, and must see the newest rows;
   - **after a write** earlier in the same request (or ``replica_reads`` block): the rest
     of it reads its own writes;
   - **for someone who wrote recently**: every response to an unsafe request (``POST``,
     ``PUT``, ``PATCH``, ``DELETE``) sets a cookie, and a request carrying it reads the
     primary for ``DATABASE_REPLICA_PIN_SECONDS`` (10 s, well above a healthy replica's
     lag), so a person who just reported a pothole sees it in the list;
   - for **sessions and the cache table** (rate-limit counts, used second-factor codes):
     a stale session would look like none and sign its owner out, a stale count would let
     a limit be passed.

A read routed to the replica by these rules can be up to the replica's lag old. The state
lives in context variables, so each thread and each asyncio task has its own. Raw SQL
(``connection.cursor()``) bypasses routers and always runs on ``default``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpRequest, HttpResponse

#: The alias of the replica in ``DATABASES`` (set by ``DATABASE_REPLICA_URL``).
REPLICA_DB_ALIAS = "replica"

#: The cookie that keeps a person who wrote on the primary: the Unix time it ends.
PIN_COOKIE = "ecitizen_primary_until"

#: Methods that change nothing (RFC 9110); any other request sets the pin.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: Tables whose every read must be current, inside the scope too (see rule 4).
PRIMARY_ONLY_APP_LABELS = frozenset({"sessions", "django_cache"})

View = TypeVar("View", bound=Callable[..., HttpResponse])


@dataclass
class _UnitOfWork:
    """A request, or a :func:`replica_reads` block outside any request."""

    #: Every read of the rest of it goes to the primary: it wrote, or its person did.
    primary_only: bool = False


_work: ContextVar[_UnitOfWork | None] = ContextVar("ecitizen_db_work", default=None)
_replica_allowed: ContextVar[bool] = ContextVar("ecitizen_replica_allowed", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Let the reads of this block go to the replica, within rule 4 of the module.

    Side effects: none on the database. Outside a request, the block is its own unit of
    work: after a write inside it, its later reads go to the primary. Nesting is allowed.
    """
    own_work = _work.set(_UnitOfWork()) if _work.get() is None else None
    allowed = _replica_allowed.set(True)
    try:
        yield
    finally:
        _replica_allowed.reset(allowed)
        if own_work is not None:
            _work.reset(own_work)


def replica_may_serve(request: HttpRequest) -> bool:
    """Whether :func:`replica_view` lets this request read the replica (rule 3): a safe
    read by an anonymous visitor who presents no credentials."""
    user = getattr(request, "user", None)
    return (
        request.method in {"GET", "HEAD"}
        and "HTTP_AUTHORIZATION" not in request.META
        and not getattr(user, "is_authenticated", False)
    )


def replica_view(view: View) -> View:
    """Run ``view`` inside :func:`replica_reads` when :func:`replica_may_serve` allows.

    Only for public views whose answer is the same for every anonymous visitor. The
    attributes other decorators set (the access rule, ``csrf_exempt``) are kept.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not replica_may_serve(request):
            return view(request, *args, **kwargs)
        with replica_reads():
            return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """Django's database router for the rules of this module."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        if not _replica_allowed.get():
            return DEFAULT_DB_ALIAS
        work = _work.get()
        if work is None or work.primary_only:
            return DEFAULT_DB_ALIAS
        if model._meta.app_label in PRIMARY_ONLY_APP_LABELS:
            return DEFAULT_DB_ALIAS
        if transaction.get_connection(DEFAULT_DB_ALIAS).in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA_DB_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        """Always the primary. Side effect: the rest of the request (or block) reads the
        primary too. Django also asks here for reads that lock or may create
        (``select_for_update``, ``get_or_create``), which then count as writes."""
        work = _work.get()
        if work is not None:
            work.primary_only = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        """Objects read from either hold the same rows."""
        ours = {DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS}
        if obj1._state.db in ours and obj2._state.db in ours:
            return True
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        """Only on the primary: the replica follows it."""
        return db == DEFAULT_DB_ALIAS


def _pinned(request: HttpRequest) -> bool:
    """Whether the request carries a pin cookie that has not ended. Its value is not
    signed: forging one only sends its own reads to the primary."""
    try:
        until = int(request.COOKIES.get(PIN_COOKIE, ""))
    except ValueError:
        return False
    return until > time.time()


class ReplicaPinMiddleware:
    """Opens each request's unit of work for :class:`ReplicaRouter`, and keeps a person
    who sent an unsafe request on the primary for ``DATABASE_REPLICA_PIN_SECONDS``.

    Side effects: on the response to a ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` (whatever
    its status: a write may have committed before an error), the cookie
    :data:`PIN_COOKIE`, holding when the pin ends, with the session cookie's ``Secure``
    setting, ``HttpOnly`` and ``SameSite=Lax``. Installed by the settings only with a
    replica; place it before anything that may write during a request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _work.set(_UnitOfWork(primary_only=_pinned(request)))
        try:
            response = self.get_response(request)
        finally:
            _work.reset(token)
        if request.method not in SAFE_METHODS:
            seconds = int(settings.DATABASE_REPLICA_PIN_SECONDS)
            response.set_cookie(
                PIN_COOKIE,
                str(math.ceil(time.time() + seconds)),
                max_age=seconds,
                secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
        return response
