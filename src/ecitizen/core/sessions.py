"""The session engine (``SESSION_ENGINE``): Django's database sessions, with the read that
every request with a session cookie makes compiled once per process (core.compiled).

Built by the ORM, that read cost three times what it costs run as SQL (0.47 ms against
0.16 ms on PostgreSQL, docs/performance.md). Saving lets a lost database connection be
what it is (see :meth:`SessionStore.save`). Everything else (the asynchronous read,
rotating, deleting, ``clear_expired`` for ``ecitizen housekeeping``) is Django's,
unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.utils import timezone

from ecitizen.core.compiled import CompiledQuery


def _live_session_data(session_key: str, now: datetime) -> QuerySet[Session, tuple[str]]:
    return Session.objects.filter(session_key=session_key, expire_date__gt=now).values_list(
        "session_data"
    )


_LIVE_SESSION_DATA = CompiledQuery(
    Session,
    _live_session_data,
    session_key=("compiled-sample-session-key", Session._meta.get_field("session_key")),
    now=(
        datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC),
        Session._meta.get_field("expire_date"),
    ),
)


class SessionStore(DatabaseSessionStore):
    """Django's database session store; :meth:`load` and :meth:`save` differ."""

    def load(self) -> dict[str, Any]:
        """The data of the live session of this key, or ``{}`` (and no key any more: a new
        one is made when the session is saved), as Django's store does. Precondition: the
        session has a key (``SessionBase`` loads only then)."""
        data = _LIVE_SESSION_DATA.value(session_key=self.session_key, now=timezone.now())
        if data is None:
            self._session_key = None
            return {}
        decoded: dict[str, Any] = self.decode(data)
        return decoded

    def save(self, must_create: bool = False) -> None:
        """Django's save, except when the database fails the update.

        Django's store turns any database error while updating a session into
        ``UpdateError``, which ``SessionMiddleware`` answers with a 400 page ("the session
        was deleted before the request completed"). When the error is the database's
        (PostgreSQL restarting or refusing connections, a lock or a timeout), that page is
        wrong and final: the client does not try again, although what the request did
        may be done. So an ``OperationalError`` or ``InterfaceError`` is raised as itself
        (with its driver's error as its cause), and the request gets the 503 page with
        Retry-After that every other database failure gets (``core.views.server_error``).
        A session truly gone (the update found no row) still raises ``UpdateError``.
        """
        try:
            super().save(must_create)
        except UpdateError as error:
            cause = error.__context__
            if isinstance(cause, OperationalError | InterfaceError):
                raise cause from cause.__cause__  # the driver's error stays its cause
            raise
