"""Riverton's eight street-report categories (``reports/categories/``): they publish as
unlisted services, speak English, French and Arabic, and share the street-problem
workflow whose state and action ids the reports app maps to public statuses.

This test reads the files through the catalogue only (no import of the reports app), so
that a category file is checked even while the app around it changes.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from typing import Any

import pytest

import ecitizen
from ecitizen.catalogue.definitions import read_definitions
from ecitizen.catalogue.selectors import (
    services_published,
    services_search,
    services_with_extension,
)
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.catalogue.spec import ServiceSpec
from tests.factories import DepartmentFactory

CATEGORIES = Path(__file__).resolve().parent.parent / "categories"
# Riverton's services, read as files: their reference codes share the case references.
SERVICES = Path(ecitizen.__file__).resolve().parent / "demo" / "definitions"
LANGUAGES = {"en", "fr", "ar"}
ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")

# slug (the Open311 service_code) -> (department, reference code)
EXPECTED = {
    "pothole": ("public-works", "PH"),
    "streetlight": ("public-works", "SL"),
    "fly-tipping": ("public-works", "FT"),
    "graffiti": ("public-works", "GR"),
    "blocked-drain": ("public-works", "BD"),
    "abandoned-vehicle": ("transport-licensing", "AV"),
    "overgrown-vegetation": ("public-works", "OV"),
    "damaged-sign": ("public-works", "DS"),
}
# The reports app maps these ids to public statuses: every category has exactly these.
OPEN_STATES = {"received", "investigating", "scheduled"}
CLOSING_STATES = {
    "fixed": "approved",
    "not_responsible": "ineligible",
    "duplicate": "withdrawn",
    "will_not_fix": "refused",
}
ACTIONS = {"investigate", "schedule", "fix", "not_responsible", "duplicate", "decline"}
# Closing without a fix must say why (who is responsible, which report, what reason).
REASON_REQUIRED = {"not_responsible", "duplicate", "decline"}


@pytest.fixture
def published(db) -> dict[str, ServiceSpec]:
    """The categories, published as Riverton would: the slug of each service and the
    spec of its current version."""
    DepartmentFactory(slug="public-works", name="Public Works")
    DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    results = service_definitions_publish(directory=CATEGORIES, actor=None)
    assert all(result.changed and result.version == 1 for result in results)
    return {
        service.slug: ServiceSpec(service.current_version.definition)  # type: ignore[union-attr]
        for service in services_published(listed=False)
    }


def _is_text(value: Any) -> bool:
    """A text in the three languages, each filled in, the Arabic one in Arabic."""
    return (
        isinstance(value, dict)
        and set(value) == LANGUAGES
        and all(isinstance(v, str) and v.strip() for v in value.values())
        and bool(ARABIC_LETTER.search(value["ar"]))
    )


def _texts(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every text of a definition (a mapping with an English entry), with where it is;
    synonyms (lists of words per language) are checked on their own."""
    if isinstance(value, dict):
        if "en" in value:
            return [(path, value)]
        return [
            found
            for key, item in value.items()
            if not (not path and key == "synonyms")
            for found in _texts(item, f"{path}.{key}" if path else str(key))
        ]
    if isinstance(value, list):
        return [
            found for index, item in enumerate(value) for found in _texts(item, f"{path}[{index}]")
        ]
    return []


def test_the_eight_categories_publish_as_unlisted_services_outside_the_catalogue(published):
    assert set(published) == set(EXPECTED)
    assert {service.slug for service in services_with_extension("report")} == set(EXPECTED)
    # Not in the catalogue, nor in its search: they are reported through the reports app.
    assert list(services_published()) == []
    for word in ("pothole", "streetlight", "graffiti", "fly-tipping"):
        assert services_search(query=word, language="en") == []
    for slug, (department, code) in EXPECTED.items():
        spec = published[slug]
        assert spec.definition["listed"] is False
        assert (spec.department, spec.reference_code) == (department, code)
        assert spec.sla_business_days is not None, slug
        assert 1 <= spec.sla_business_days <= 30, slug


def test_reference_codes_are_unique_among_riverton_s_services_and_categories():
    codes = [
        data.get("reference_code") or ServiceSpec(data).reference_code
        for directory in (SERVICES, CATEGORIES)
        for _name, data in read_definitions(directory)
    ]
    assert len(codes) == len(set(codes)) == len(EXPECTED) + len(list(SERVICES.glob("*.yaml")))


def test_every_category_has_its_report_extension_in_three_languages(published):
    for slug, spec in published.items():
        report = spec.definition["extensions"]["report"]
        assert _is_text(report["group"]), slug
        assert report["keywords"], slug
        assert all(isinstance(word, str) and word.strip() for word in report["keywords"]), slug
        radius = report["duplicate_radius_m"]
        assert isinstance(radius, int), slug
        assert 10 <= radius <= 200, slug


def test_every_text_question_and_choice_is_in_english_french_and_arabic(published):
    for slug, spec in published.items():
        for path, text in _texts(spec.definition):
            assert _is_text(text), f"{slug}: {path} is not in en, fr and ar: {text}"
        assert set(spec.definition["synonyms"]) == LANGUAGES, slug
        assert all(ARABIC_LETTER.search(word) for word in spec.definition["synonyms"]["ar"])
        assert [page["id"] for page in spec.pages] == ["details"], slug
        assert 1 <= len(spec.questions) <= 3, slug
        for question_id, question in spec.questions.items():
            where = f"{slug}: {question_id}"
            assert _is_text(question["label"]), where
            assert _is_text(question["error_label"]), where
            if question["type"] == "yes_no":
                # Written out in full ("Select yes if it is a hazard to traffic").
                assert _is_text(question["errors"]["required"]), where
            for choice in question.get("choices", []):
                assert _is_text(choice["label"]), f"{where}: {choice['value']}"


def test_every_category_has_the_street_problem_workflow(published):
    for slug, spec in published.items():
        assert spec.initial_state == "received", slug
        assert set(spec.states) == OPEN_STATES | set(CLOSING_STATES), slug
        assert set(spec.actions) == ACTIONS, slug
        for state_id, state in spec.states.items():
            assert _is_text(state["label"]), f"{slug}: {state_id}"
            assert _is_text(state["staff_label"]), f"{slug}: {state_id}"
        for state_id in OPEN_STATES:
            assert not spec.is_terminal(state_id), f"{slug}: {state_id}"
            assert spec.actions_from(state_id), f"{slug}: nothing leaves {state_id}"
        for state_id, outcome in CLOSING_STATES.items():
            assert spec.outcome(state_id) == outcome, f"{slug}: {state_id}"
            assert spec.is_terminal(state_id), f"{slug}: {state_id}"
            assert spec.sla_clock(state_id) == "stopped", f"{slug}: {state_id}"
            assert spec.actions_from(state_id) == [], f"{slug}: {state_id} can be left"
        for action_id, action in spec.actions.items():
            where = f"{slug}: {action_id}"
            assert action["by"] == {"roles": ["case_officer", "supervisor"]}, where
            assert bool(action.get("reason_required")) == (action_id in REASON_REQUIRED), where
            # The reports app tells the reporter and the supporters of every change, in
            # words about a street problem (not "your application"), with the official's
            # public text: the case engine sends nothing of its own.
            assert "notify" not in action, where
        assert not spec.notifications, slug
        assert "on_submit_notify" not in spec.definition["workflow"], slug


def test_every_state_is_reached_from_received(published):
    for slug, spec in published.items():
        reached, queue = {spec.initial_state}, deque([spec.initial_state])
        while queue:
            for action in spec.actions_from(queue.popleft()):
                if action["to"] not in reached:
                    reached.add(action["to"])
                    queue.append(action["to"])
        assert reached == set(spec.states), slug
