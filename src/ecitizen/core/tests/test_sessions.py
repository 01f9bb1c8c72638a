"""Session rules: new id at sign-in, idle timeouts by role, staff absolute limit."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD
from tests.personas import sign_in_official


def _sign_in(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_sign_in_issues_a_new_session_id(client, resident):
    client.get(reverse("account_login"))
    client.session.save()
    before = client.session.session_key
    _sign_in(client, resident)
    assert client.session.session_key != before


@pytest.mark.parametrize(("minutes", "signed_in"), [(59, True), (61, False)])
def test_residents_time_out_after_60_idle_minutes(client, resident, minutes, signed_in):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _sign_in(client, resident)
    with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
        response = client.get(reverse("accounts:home"))
    assert (response.status_code == 200) is signed_in
    if not signed_in:
        assert response["Location"].startswith(reverse("account_login"))


def _sign_in_official(client, official):
    sign_in_official(client, official)


@pytest.mark.parametrize(("minutes", "signed_in"), [(29, True), (31, False)])
def test_staff_time_out_after_30_idle_minutes(client, case_officer, minutes, signed_in):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _sign_in_official(client, case_officer)
        client.get(reverse("staff:home"))
    with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
        response = client.get(reverse("staff:home"))
    assert (response.status_code == 200) is signed_in


def test_staff_sessions_end_after_12_hours_however_active(client, case_officer):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _sign_in_official(client, case_officer)
    # Active every 20 minutes for 12 hours ...
    for step in range(1, 36):
        with time_machine.travel(start + timedelta(minutes=20 * step), tick=False):
            assert client.get(reverse("staff:home")).status_code == 200
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        response = client.get(reverse("staff:home"))
    assert response.status_code == 302


def test_asking_for_the_time_left_is_not_activity(client, resident):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _sign_in(client, resident)
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        assert client.get(reverse("core:session_status")).json() == {"seconds_left": 600}
    with time_machine.travel(start + timedelta(minutes=55), tick=False):
        response = client.post(reverse("core:session_extend"), HTTP_ACCEPT="application/json")
        assert response.json() == {"seconds_left": 3600}
    with time_machine.travel(start + timedelta(minutes=100), tick=False):
        assert client.get(reverse("accounts:home")).status_code == 200


def test_housekeeping_removes_expired_sessions_only(client, resident, capsys):
    from django.contrib.sessions.models import Session
    from django.core.management import call_command

    _sign_in(client, resident)
    live = client.session.session_key
    Session.objects.create(
        session_key="expired" * 4, session_data="", expire_date=timezone.now() - timedelta(1)
    )
    call_command("housekeeping")
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert "Removed the expired sessions." in capsys.readouterr().out


def test_activity_is_written_at_most_every_30_seconds(client, resident):
    """A page of a signed-in resident does not save their session each time: only when
    the activity recorded is 30 seconds old or more."""
    from django.contrib.sessions.models import Session

    from ecitizen.core.middleware import ACTIVITY_RESOLUTION_SECONDS

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _sign_in(client, resident)
    key = client.session.session_key

    def stored() -> str:
        return Session.objects.get(session_key=key).session_data

    with time_machine.travel(start + timedelta(seconds=ACTIVITY_RESOLUTION_SECONDS - 1)):
        before = stored()
        assert client.get(reverse("accounts:home")).status_code == 200
        assert stored() == before
    with time_machine.travel(start + timedelta(seconds=ACTIVITY_RESOLUTION_SECONDS + 1)):
        assert client.get(reverse("accounts:home")).status_code == 200
        assert stored() != before


@pytest.mark.db_specific  # compiled SQL with a date-time in each database's form
def test_the_session_engine_reads_live_sessions_only(client, resident):
    """core.sessions: the compiled read of a session gives its data while it lives; an
    expired or unknown key gives nothing and loses its key, as Django's store does."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from ecitizen.core.sessions import SessionStore

    assert settings.SESSION_ENGINE == "ecitizen.core.sessions"
    store = SessionStore()
    store["colour"] = "green"
    store.save()
    key = store.session_key
    assert SessionStore(key).load() == {"colour": "green"}
    assert SessionStore(key)["colour"] == "green"

    unknown = SessionStore("a" * 32)
    assert unknown.load() == {}
    assert unknown.session_key is None

    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None


def test_a_session_save_cut_by_the_database_answers_503_not_400(client, resident):
    """When the database goes away while a request saves its session, the client gets
    the 503 page with Retry-After (send it again), not Django's 400 for a session deleted
    by a concurrent request; a session that is truly gone still raises ``UpdateError``."""
    from unittest import mock

    import psycopg
    from django.contrib.sessions.backends.base import UpdateError
    from django.contrib.sessions.models import Session
    from django.db import OperationalError
    from django.test import Client

    from ecitizen.core import views
    from ecitizen.core.outages import is_transient_database_error
    from ecitizen.core.sessions import SessionStore

    browser = Client(raise_request_exception=False)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _sign_in(browser, resident)
    # As Django's wrapper raises it: the driver's error (no SQLSTATE: the connection was
    # lost) as its cause.
    refused = OperationalError("server closed the connection unexpectedly")
    refused.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    # A minute later, extending the session writes its activity.
    with (
        time_machine.travel(start + timedelta(minutes=1), tick=False),
        mock.patch.object(Session, "save", side_effect=refused),
    ):
        response = browser.post(reverse("core:session_extend"), HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == str(views.OUTAGE_RETRY_AFTER_SECONDS)
    # Once it is back, the same session carries on.
    assert browser.get(reverse("accounts:home")).status_code == 200
    # Saved directly, the error raised is the database's own, its cause kept.
    store = SessionStore(browser.session.session_key)
    store["colour"] = "blue"
    with (
        mock.patch.object(Session, "save", side_effect=refused),
        pytest.raises(OperationalError) as raised,
    ):
        store.save()
    assert raised.value is refused
    assert is_transient_database_error(raised.value)

    # Loaded, then deleted by another request (signing out elsewhere) before it is saved.
    gone = SessionStore(browser.session.session_key)
    gone["colour"] = "green"
    Session.objects.filter(session_key=gone.session_key).delete()
    with pytest.raises(UpdateError):
        gone.save()


def test_views_read_the_user_itself_not_a_lazy_proxy(client, resident, db):
    """``request.user`` is resolved by the authentication middleware: a visitor without
    a session costs no query for it, a signed-in person's account is the one read."""
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils.functional import LazyObject

    with CaptureQueriesContext(connection) as queries:
        visitor = client.get(reverse("core:livez"))
    assert visitor.status_code == 200
    assert type(visitor.wsgi_request.user) is AnonymousUser
    assert queries.captured_queries == []

    client.force_login(resident)
    signed_in = client.get(reverse("accounts:home"))
    assert signed_in.status_code == 200
    assert not isinstance(signed_in.wsgi_request.user, LazyObject)
    assert signed_in.wsgi_request.user == resident
    assert signed_in.wsgi_request._cached_user is signed_in.wsgi_request.user  # auser's too
