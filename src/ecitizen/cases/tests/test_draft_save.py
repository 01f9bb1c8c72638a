"""Saving a question page's answers: one guarded statement when the draft is unchanged
since it was read, the locked read-merge-write when it changed (another tab, the expiry
job), with the same outcome either way."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecitizen.cases import selectors, services
from ecitizen.cases.models import Draft
from ecitizen.cases.services import CaseError

# The guard compares a date-time as each database keeps it: run on both.
pytestmark = [pytest.mark.django_db, pytest.mark.db_specific]


def _read(resident, draft):
    return selectors.draft_get_for_user(user=resident, draft_id=draft.pk)


def _writes(queries):
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]


def test_an_unchanged_draft_is_saved_in_one_statement(shed, resident):
    draft = services.draft_start(service=shed, applicant=resident, actor=resident)
    read = _read(resident, draft)
    read_at = read.updated_at
    with CaptureQueriesContext(connection) as queries:
        saved = services.draft_save_answers(
            draft=read, values={"owns_property": True}, actor=resident
        )
    assert len(queries.captured_queries) == 1  # no lock, no read again, no transaction
    assert _writes(queries)[0].startswith("UPDATE")
    fresh = Draft.objects.get(pk=draft.pk)
    assert fresh.answers == saved.answers == {"owns_property": True}
    assert fresh.updated_at == saved.updated_at > read_at
    assert fresh.expires_at == saved.expires_at


def test_a_draft_changed_since_it_was_read_keeps_the_other_answers(shed, resident):
    draft = services.draft_start(service=shed, applicant=resident, actor=resident)
    first_tab, second_tab = _read(resident, draft), _read(resident, draft)
    services.draft_save_answers(draft=first_tab, values={"owns_property": True}, actor=resident)
    with CaptureQueriesContext(connection) as queries:
        saved = services.draft_save_answers(
            draft=second_tab, values={"material": "wood"}, actor=resident
        )
    # The guarded write found the row changed, then the locked path read it again.
    assert any(sql.startswith("UPDATE") for sql in _writes(queries))
    assert sum(sql.startswith("UPDATE") for sql in _writes(queries)) == 2
    assert saved.answers == {"owns_property": True, "material": "wood"}
    assert Draft.objects.get(pk=draft.pk).answers == {"owns_property": True, "material": "wood"}


def test_a_draft_closed_since_it_was_read_is_not_written(shed, resident):
    draft = services.draft_start(service=shed, applicant=resident, actor=resident)
    services.draft_save_answers(draft=draft, values={"owns_property": True}, actor=resident)
    read = _read(resident, draft)
    Draft.objects.filter(pk=draft.pk).update(status=Draft.Status.EXPIRED)  # as the expiry job
    with pytest.raises(CaseError, match="already been sent or is closed"):
        services.draft_save_answers(draft=read, values={"material": "metal"}, actor=resident)
    assert Draft.objects.get(pk=draft.pk).answers == {"owns_property": True}
