"""The reads of an official's case page, compiled once per process (core.compiled): the
case with what it joins, and its files, as the ORM reads them."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.http import Http404

from ecitizen.cases import selectors
from ecitizen.cases.models import Case, CaseFile
from ecitizen.cases.tests.support import submit_shed
from ecitizen.catalogue.selectors import definitions_forget

# Compiled SQL run with each database's parameters: run on both.
pytestmark = [pytest.mark.django_db, pytest.mark.db_specific]

RELATED = ("service", "service_version", "applicant", "assigned_to", "department", "ward")


def test_the_officials_case_is_the_orms_with_its_definition_given(
    shed, resident, works_officer, other_department, django_assert_num_queries
):
    case = submit_shed(shed, resident)
    Case.objects.filter(pk=case.pk).update(assigned_to=works_officer)
    orm = Case.objects.select_related(*RELATED).get(pk=case.pk)

    definitions_forget()
    # The first read in a process also reads the version's definition by its checksum
    # (and the official's roles); then the definition is kept.
    read = selectors.case_get_for_staff(user=works_officer, reference=case.reference)
    with django_assert_num_queries(1):
        again = selectors.case_get_for_staff(user=works_officer, reference=case.reference)
    for found in (read, again):
        assert found == orm
        for name in RELATED:
            assert getattr(found, name) == getattr(orm, name), name
        assert found.service_version.definition == orm.service_version.definition
        assert found.applicant.full_name == orm.applicant.full_name  # decrypted
        assert found.assigned_to == works_officer
        assert found.answers == orm.answers
        assert (found.state, found.due_date, found.submitted_at) == (
            orm.state,
            orm.due_date,
            orm.submitted_at,
        )
    # An official of another department, and a reference that is nobody's: 404.
    with pytest.raises(Http404):
        selectors.case_get_for_staff(user=other_department, reference=case.reference)
    with pytest.raises(Http404):
        selectors.case_get_for_staff(user=works_officer, reference="RIV-NO-2026-000000")


def test_the_files_of_a_case_are_the_orms(shed, resident, works_officer):
    case = submit_shed(shed, resident)
    # One file answers a question, another is attached to an event (a message's), a
    # third is neither (and is not read).
    event = case.events.order_by("pk").first()
    answer = CaseFile.objects.get(case=case)
    attached = CaseFile.objects.create(case=case, event=event, question="", upload=answer.upload)
    CaseFile.objects.create(case=case, question="", upload=answer.upload)

    orm = list(
        case.files.filter(Q(event__isnull=False) | Q(question__gt=""))
        .select_related("upload")
        .order_by("pk")
    )
    read = sorted(selectors.case_files_read(case=case), key=lambda item: item.pk)
    assert [item.pk for item in read] == [item.pk for item in orm] == [answer.pk, attached.pk]
    assert read[0].question == "plan_files"
    assert read[1].event_id == event.pk
    assert read[0].upload == orm[0].upload
    assert read[0].upload.filename == orm[0].upload.filename  # decrypted
    # The timeline finds the attached file on its event, read by itself or for it.
    for given in (None, selectors.case_files_once(case=case)):
        timeline = selectors.case_timeline(case=case, visible_only=False, files=given)
        found = {shown.pk: [item.pk for item in files] for shown, files in timeline}
        assert found[event.pk] == [attached.pk]
        assert sum(len(files) for files in found.values()) == 1
    other = submit_shed(shed, resident)
    assert [item.case_id for item in selectors.case_files_read(case=other)] == [other.pk]
