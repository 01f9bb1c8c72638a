"""Riverton's service definitions: valid, written in every language, with sound fees and
workflows, and published once."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ecitizen.accounts.services import department_ensure
from ecitizen.catalogue.definitions import read_definitions
from ecitizen.catalogue.models import Service, ServiceVersion
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.demo import riverton

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
LANGUAGES = {"en", "fr", "ar"}
ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")
# The events the notifications app ships a template for.
NOTIFICATION_TEMPLATES = {
    "case_submitted",
    "case_status_changed",
    "case_information_requested",
    "case_approved",
    "case_refused",
    "case_withdrawn",
    "case_message",
    "document_issued",
    "document_revoked",
    "draft_expiring",
    "case_escalated",
    "records_published",
}
DOCUMENT_TEMPLATES = {"licence_card", "permit", "certificate", "certified_copy", "record_release"}
EXPECTED = {
    "renew-driving-licence": ("transport-licensing", "DL"),
    "building-permit": ("planning-building", "BP"),
    "trading-licence": ("transport-licensing", "TL"),
    "birth-certificate-copy": ("civil-registry", "BC"),
    "residents-parking-permit": ("transport-licensing", "RP"),
    "freedom-of-information": ("communications", "FOI"),
}


@pytest.fixture(scope="module")
def definitions() -> dict[str, dict[str, Any]]:
    return {data["slug"]: data for _name, data in read_definitions(DEFINITIONS)}


def _texts(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every text of a definition (a mapping with an English entry), with where it is.
    Synonyms are lists of words per language, checked on their own."""
    if isinstance(value, dict):
        if "en" in value:
            yield path, value
            return
        for key, item in value.items():
            if not path and key == "synonyms":
                continue
            yield from _texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


def _spec(definitions: dict[str, dict[str, Any]], slug: str) -> ServiceSpec:
    return ServiceSpec(definitions[slug])


def test_the_folder_holds_the_six_services_each_in_its_own_file(definitions):
    files = {name for name, _data in read_definitions(DEFINITIONS)}
    assert files == {f"{slug}.yaml" for slug in EXPECTED}
    departments = {slug for slug, _name in riverton.DEPARTMENTS}
    for slug, (department, code) in EXPECTED.items():
        data = definitions[slug]
        assert (data["department"], data["reference_code"]) == (department, code)
        assert data["department"] in departments
        for key in ("topics", "synonyms", "duration_minutes", "you_need", "sla", "help"):
            assert data.get(key), f"{slug}: {key} is missing"


def test_every_text_is_in_english_french_and_arabic(definitions):
    for slug, data in definitions.items():
        texts = list(_texts(data))
        assert len(texts) > 20, slug
        for path, text in texts:
            assert set(text) == LANGUAGES, f"{slug}: {path} has {sorted(text)}"
            assert all(isinstance(v, str) and v.strip() for v in text.values()), f"{slug}: {path}"
            assert ARABIC_LETTER.search(text["ar"]), f"{slug}: {path} is not in Arabic"
        synonyms = data["synonyms"]
        assert set(synonyms) == LANGUAGES, slug
        assert all(len(words) >= 5 for words in synonyms.values()), slug
        assert all(ARABIC_LETTER.search(word) for word in synonyms["ar"]), slug


def test_people_search_with_the_words_they_really_type(definitions):
    english = {word.lower() for word in definitions["renew-driving-licence"]["synonyms"]["en"]}
    assert {"drivers license", "driver's license", "license renewal"} <= english


def test_notifications_and_documents_use_templates_that_exist(definitions):
    for slug, data in definitions.items():
        templates = {n["template"] for n in data["notifications"]}
        assert templates <= NOTIFICATION_TEMPLATES, slug
        received = data["workflow"]["on_submit_notify"]
        assert [n["template"] for n in data["notifications"] if n["id"] in received] == [
            "case_submitted"
        ], slug
        assert data["issued_document"]["template"] in DOCUMENT_TEMPLATES, slug


def test_building_permit_fee_follows_the_value_bands(definitions):
    spec = _spec(definitions, "building-permit")
    assert spec.fee_due == "after_approval"
    fees = {
        value: spec.fee({"estimated_value": value})
        for value in ("4999.99", "5000.00", "5000.01", "250000.00", "1000000.00")
    }
    assert fees == {
        "4999.99": Decimal("150.00"),
        "5000.00": Decimal("150.00"),
        "5000.01": Decimal("450.00"),
        "250000.00": Decimal("1200.00"),
        "1000000.00": Decimal("2500.00"),
    }
    assert spec.fee({}) is None


def test_certified_copies_are_charged_per_copy(definitions):
    spec = _spec(definitions, "birth-certificate-copy")
    assert spec.fee({"copies": 3}) == Decimal("37.50")
    assert spec.fee({"copies": 1}) == Decimal("12.50")


def test_fees_are_paid_when_applying_except_for_the_building_permit(definitions):
    fees = {
        slug: (_spec(definitions, slug).fee_kind, _spec(definitions, slug).fee_due)
        for slug in EXPECTED
    }
    assert fees == {
        "renew-driving-licence": ("fixed", "before_submission"),
        "building-permit": ("bands", "after_approval"),
        "trading-licence": ("fixed", "before_submission"),
        "birth-certificate-copy": ("per_unit", "before_submission"),
        "residents-parking-permit": ("fixed", "before_submission"),
        "freedom-of-information": ("none", "before_submission"),
    }
    assert _spec(definitions, "renew-driving-licence").fee({}) == Decimal("43.00")
    assert _spec(definitions, "freedom-of-information").fee({}) is None


def _reachable(spec: ServiceSpec) -> set[str]:
    seen = {spec.initial_state}
    queue = deque(seen)
    while queue:
        state = queue.popleft()
        for action in spec.actions_from(state):
            if action["to"] not in seen:
                seen.add(action["to"])
                queue.append(action["to"])
    return seen


def test_every_workflow_can_end_approved_and_has_no_unreachable_state(definitions):
    for slug in EXPECTED:
        spec = _spec(definitions, slug)
        reachable = _reachable(spec)
        assert any(spec.outcome(state) == "approved" for state in reachable), slug
        assert reachable == set(spec.states), f"{slug}: {set(spec.states) - reachable} unreachable"
        assert spec.definition["issued_document"]["on_state"] in reachable, slug


def test_residents_can_withdraw_and_answer_while_the_clock_is_paused(definitions):
    for slug in EXPECTED:
        spec = _spec(definitions, slug)
        for state in spec.states:
            if spec.is_terminal(state):
                continue
            resident_actions = [a for a in spec.actions_from(state) if a["by"].get("resident")]
            assert any(spec.outcome(a["to"]) == "withdrawn" for a in resident_actions), (
                f"{slug}: cannot withdraw from {state}"
            )
            answers = [a for a in resident_actions if not spec.is_terminal(a["to"])]
            if answers:
                # Waiting for the resident: the clock stops and the reply carries a text.
                assert spec.sla_clock(state) == "paused", f"{slug}: {state}"
                assert all(a.get("reason_required") and a.get("attachments") for a in answers)
            else:
                assert spec.sla_clock(state) == "running", f"{slug}: {state}"
                assert any(not a["by"].get("resident") for a in spec.actions_from(state)), (
                    f"{slug}: no official acts in {state}"
                )


def test_case_officers_can_take_every_official_action(definitions):
    # Department administrators do not work on cases (they see no resident data), and
    # some Riverton departments have only case officers.
    for slug in EXPECTED:
        for action in _spec(definitions, slug).actions.values():
            roles = action["by"].get("roles")
            assert bool(roles) != bool(action["by"].get("resident")), f"{slug}: {action['id']}"
            if roles:
                assert "case_officer" in roles, f"{slug}: {action['id']}"
                assert "department_admin" not in roles, f"{slug}: {action['id']}"


def test_information_requests_and_refusals_tell_the_resident_why(definitions):
    for slug in EXPECTED:
        spec = _spec(definitions, slug)
        for action in spec.actions.values():
            if action["by"].get("resident"):
                continue
            target = action["to"]
            if spec.outcome(target) == "refused" or spec.sla_clock(target) == "paused":
                assert action.get("reason_required"), f"{slug}: {action['id']}"


def test_freedom_of_information_releases_can_be_published(definitions):
    spec = _spec(definitions, "freedom-of-information")
    releases = {a["to"]: a for a in spec.actions.values() if a.get("publish_records")}
    assert set(releases) == {"released", "partly_released"}
    assert all(a["attachments"] for a in releases.values())
    assert releases["partly_released"]["reason_required"]
    assert spec.outcome("not_held") == "refused"
    assert spec.sla_business_days == 20


@pytest.mark.django_db
def test_publishing_the_folder_creates_each_service_once():
    for slug, name in riverton.DEPARTMENTS:
        department_ensure(slug=slug, name=name, actor=None)

    first = service_definitions_publish(directory=DEFINITIONS, actor=None)
    assert sorted((r.slug, r.version, r.changed) for r in first) == [
        (slug, 1, True) for slug in sorted(EXPECTED)
    ]
    again = service_definitions_publish(directory=DEFINITIONS, actor=None)
    assert sorted((r.slug, r.version, r.changed) for r in again) == [
        (slug, 1, False) for slug in sorted(EXPECTED)
    ]
    assert ServiceVersion.objects.count() == len(EXPECTED)
    published = {
        s.slug: s.department.slug
        for s in Service.objects.select_related("department").filter(current_version__isnull=False)
    }
    assert published == {slug: department for slug, (department, _code) in EXPECTED.items()}
