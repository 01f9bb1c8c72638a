"""Service definitions: checked precisely, published as versions, idempotently."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ecitizen.catalogue.definitions import InvalidDefinition, parse_definition
from ecitizen.catalogue.models import Service, ServiceVersion
from ecitizen.core.models import AuditEvent
from tests.factories import DepartmentFactory

FIXTURE = Path(__file__).parent / "fixtures" / "garden-waste.yaml"


@pytest.fixture
def folder(tmp_path, db):
    DepartmentFactory(slug="public-works", name="Public Works")
    shutil.copy(FIXTURE, tmp_path / FIXTURE.name)
    return tmp_path


def _load(folder) -> str:
    out = StringIO()
    call_command("services", "load", str(folder), stdout=out)
    return out.getvalue()


def test_a_definition_file_is_published_once_and_again_when_it_changes(folder):
    assert _load(folder) == "garden-waste-collection: version 1 (published)\n"
    assert _load(folder) == "garden-waste-collection: version 1 (unchanged)\n"
    service = Service.objects.get(slug="garden-waste-collection")
    assert service.current_version.definition["fee"]["amount"] == "45.00"

    path = folder / FIXTURE.name
    path.write_text(path.read_text().replace('"45.00"', '"50.00"'))
    assert _load(folder) == "garden-waste-collection: version 2 (published)\n"
    service.refresh_from_db()
    assert service.current_version.number == 2
    # Version 1 is kept as it was, for the cases started under it.
    assert (
        ServiceVersion.objects.get(service=service, number=1).definition["fee"]["amount"] == "45.00"
    )
    assert AuditEvent.objects.filter(action="catalogue.service_published").count() == 2


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidDefinition) as error:
        parse_definition("broken.yaml", text)
    return [str(problem) for problem in error.value.problems]


def _fixture_with(old: str, new: str) -> str:
    text = FIXTURE.read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "type: address",
            "type: postcode",
            "broken.yaml: at pages[1].questions[0].type: 'postcode' is not one of",
        ),
        (
            "      to: approved\n",
            "      to: aproved\n",
            "broken.yaml: at workflow.actions[0].to: 'aproved' is not a state of this service "
            "(states: submitted, approved, refused)",
        ),
        (
            "  question: bin_count",
            "  question: collection_address",
            "broken.yaml: at fee.question: 'collection_address' must be a number or money question",
        ),
        (
            "      notify: [approved]",
            "      notify: [aproved]",
            "broken.yaml: at workflow.actions[0].notify[0]: 'aproved' is not one of this "
            "service's notifications",
        ),
        (
            "title:\n  en: Sign up",
            "title:\n  fr: S'inscrire\n  xx: Sign up",
            "broken.yaml: at title: 'en' is a required property",
        ),
        (
            "        prefill: profile.address",
            "        prefill: profile.address\n        show_if: {question: collection_address, "
            "equals: x}",
            "broken.yaml: at pages[1].questions[0].show_if.question: 'collection_address' is not "
            "asked on an earlier page",
        ),
        (
            "sla:\n",
            "issued_document:\n  template: permit\n  on_state: approved\n  prints:\n"
            "    - {label: {en: Bins}, answer: bin_cuont}\nsla:\n",
            "broken.yaml: at issued_document.prints[0].answer: 'bin_cuont' is not a question",
        ),
        (
            "      outcome: refused\n",
            "",
            "broken.yaml: at workflow.states[2]: no action leaves 'refused', and it has no outcome",
        ),
        (
            "validation: {min: 1, max: 5}",
            "validation: {min: 1, max: 5, pattern: '^(\\d)\\1$'}",
            "broken.yaml: at pages[0].questions[0].validation.pattern: the pattern cannot be "
            "used (invalid escape sequence: \\1); patterns are matched with RE2",
        ),
    ],
)
def test_invalid_definitions_say_where_and_what(old, new, expected):
    problems = _problems(_fixture_with(old, new))
    assert any(problem.startswith(expected) for problem in problems), problems


FIXED_FEE = 'fee:\n  kind: fixed\n  amount: "45.00"\n'


@pytest.mark.parametrize(
    ("currency", "amount", "expected"),
    [
        (
            "GBP",
            "45.125",
            "broken.yaml: at fee.amount: '45.125' is not an amount of GBP (2 decimal places)",
        ),
        (
            "JPY",
            "450.5",
            "broken.yaml: at fee.amount: '450.5' is not an amount of JPY (0 decimal places)",
        ),
        ("KWD", "45.125", None),
        ("JPY", "450.00", None),  # trailing zeros are still whole yen
    ],
)
def test_a_fixed_fee_has_the_decimal_places_of_the_currency(settings, currency, amount, expected):
    settings.CURRENCY = currency
    text = _fixture_with(
        'fee:\n  kind: per_unit\n  question: bin_count\n  amount: "45.00"\n',
        FIXED_FEE.replace("45.00", amount),
    )
    if expected is None:
        assert parse_definition("broken.yaml", text)["fee"]["amount"] == amount
    else:
        assert _problems(text) == [expected]


def test_a_per_unit_price_may_be_finer_than_the_currency(settings):
    settings.CURRENCY = "GBP"
    text = _fixture_with('amount: "45.00"', 'amount: "0.1255"')
    assert parse_definition("broken.yaml", text)["fee"]["amount"] == "0.1255"


def test_broken_yaml_names_the_line():
    assert _problems("slug: x\npages: [unclosed\n") == [
        "broken.yaml: at line 3: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_nothing_is_published_when_any_file_is_wrong(folder):
    (folder / "other.yaml").write_text(
        _fixture_with("slug: garden-waste-collection", "slug: bulky-waste").replace(
            "department: public-works", "department: parks"
        )
    )
    with pytest.raises(CommandError) as error:
        _load(folder)
    assert "Nothing was published" in str(error.value)
    assert "other.yaml: at department: 'parks' is not a department of this authority" in str(
        error.value
    )
    assert not Service.objects.exists()


def test_two_files_cannot_define_one_service(folder):
    shutil.copy(FIXTURE, folder / "copy.yaml")
    with pytest.raises(CommandError, match="is also the slug of"):
        _load(folder)


def test_templates_must_exist(folder):
    (folder / FIXTURE.name).write_text(
        _fixture_with("template: case_approved", "template: case_aproved")
    )
    with pytest.raises(CommandError) as error:
        _load(folder)
    message = str(error.value)
    assert (
        "garden-waste.yaml: at notifications[0].template: 'case_aproved' is not a notification "
        "template (templates: " in message
    )
    assert " case_approved," in message  # the list of templates names the one meant


def test_an_unlisted_service_is_only_used_through_its_app(folder, client):
    path = folder / FIXTURE.name
    path.write_text(
        path.read_text().replace(
            "summary:", "listed: false\nextensions:\n  report: {group: {en: Bins}}\nsummary:", 1
        )
    )
    _load(folder)
    from django.urls import reverse

    from ecitizen.catalogue.selectors import services_published, services_with_extension

    service = Service.objects.get(slug="garden-waste-collection")
    assert service.listed is False
    assert list(services_published()) == []
    assert services_with_extension("report") == [service]
    assert services_with_extension("other") == []
    assert "garden waste" not in client.get(reverse("catalogue:list")).content.decode().lower()
    assert client.get(reverse("catalogue:start", args=[service.slug])).status_code == 404
    search = client.get(reverse("catalogue:search"), {"q": "garden waste"}).content.decode()
    assert reverse("catalogue:start", args=[service.slug]) not in search
