"""The draft every application page reads (compiled once per process: core.compiled)."""

import uuid

import pytest
from django.http import Http404

from ecitizen.cases import selectors
from ecitizen.cases.models import Draft
from ecitizen.cases.tests.support import SHED_ANSWERS, draft_with

# Compiled SQL with a UUID in each database's form: run on both.
pytestmark = [pytest.mark.django_db, pytest.mark.db_specific]


def test_the_draft_comes_with_its_version_and_service_and_answers(
    shed, resident, second_resident, django_assert_num_queries
):
    draft = draft_with(shed, resident, SHED_ANSWERS)
    expected = Draft.objects.select_related("service_version__service").get(pk=draft.pk)
    # The first read in a process also reads the version's definition by its checksum;
    # then it is kept.
    with django_assert_num_queries(2):
        selectors.draft_get_for_user(user=resident, draft_id=draft.pk)
    with django_assert_num_queries(1):
        read = selectors.draft_get_for_user(user=resident, draft_id=draft.pk)
        # What the ORM's select_related gives, read in the same query.
        assert read.service_version == expected.service_version
        assert read.service_version.service == shed
        assert read.service_version.service.slug == "shed-permit"
        assert read.service_version.definition == expected.service_version.definition
    assert read == expected
    assert read.answers == expected.answers == draft.answers  # decrypted
    assert read.status == Draft.Status.OPEN
    assert read.expires_at == expected.expires_at
    assert read._state.adding is False
    assert read._state.db == "default"
    # Read again with the id as text (a URL's), then refused to anyone else.
    assert selectors.draft_get_for_user(user=resident, draft_id=str(draft.pk)) == draft
    with pytest.raises(Http404):
        selectors.draft_get_for_user(user=second_resident, draft_id=draft.pk)
    with pytest.raises(Http404):
        selectors.draft_get_for_user(user=resident, draft_id=uuid.uuid4())


def test_a_draft_entered_for_someone_else_is_the_enterers(shed, resident, second_resident):
    """A helper (or clerk) fills in the draft they entered for the applicant: theirs to
    read, not the applicant's, until it is sent."""
    from ecitizen.cases import services
    from ecitizen.cases.models import Channel

    draft = services.draft_start(
        service=shed,
        applicant=resident,
        actor=second_resident,
        channel=Channel.ASSISTED,
        consent_statement="The resident asked me to apply for them.",
    )
    assert draft.entered_by == second_resident
    assert draft.applicant == resident
    assert selectors.draft_get_for_user(user=second_resident, draft_id=draft.pk) == draft
    with pytest.raises(Http404):
        selectors.draft_get_for_user(user=resident, draft_id=draft.pk)


def test_the_listed_drafts_are_the_orms_without_their_answers_read(
    shed, garden, resident, second_resident, django_assert_num_queries
):
    """ "Your applications" lists a person's open drafts (compiled, without the versions'
    definitions or the answers): the same drafts in the same order as the ORM's, each
    with its version's definition; nobody else's; the answers still read when asked."""
    from ecitizen.cases import services

    discarded = services.draft_start(service=garden, applicant=resident, actor=resident)
    Draft.objects.filter(pk=discarded.pk).update(status=Draft.Status.DISCARDED)
    first = draft_with(shed, resident, SHED_ANSWERS)
    second = services.draft_start(service=garden, applicant=resident, actor=resident)
    draft_with(shed, second_resident, SHED_ANSWERS)

    built = list(selectors.drafts_open_for_user(user=resident))
    selectors.drafts_open_listed(user=resident)  # the definitions kept
    with django_assert_num_queries(1):
        listed = selectors.drafts_open_listed(user=resident)
    assert [draft.pk for draft, _spec in listed] == [draft.pk for draft in built]
    assert {draft.pk for draft, _spec in listed} == {first.pk, second.pk}
    for (draft, spec), orm in zip(listed, built, strict=True):
        assert draft.service_version.service == orm.service_version.service
        assert draft.expires_at == orm.expires_at
        assert spec.definition == orm.service_version.definition
    by_id = {draft.pk: draft for draft, _spec in listed}
    assert by_id[first.pk].answers == first.answers  # read now, decrypted
