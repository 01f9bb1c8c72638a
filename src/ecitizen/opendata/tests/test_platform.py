"""The platform's own datasets (``opendata.platform``): each table against a hand count of
fixture data made through the other apps' services, small counts suppressed (and totals
that cannot give them away), no personal data, and refreshes that write a revision only
when the data changed."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from ecitizen.accounts.models import Role
from ecitizen.catalogue.services import service_definitions_publish
from ecitizen.opendata import platform
from ecitizen.opendata.models import Dataset, DatasetRevision, Resource
from tests.factories import DepartmentFactory, UserFactory
from tests.personas import _official

pytestmark = pytest.mark.django_db

CASES_FIXTURES = Path(__file__).resolve().parents[2] / "cases" / "tests" / "fixtures"
DEMO_DEFINITIONS = Path(__file__).resolve().parents[2] / "demo" / "definitions"
REPORTS_FIXTURES = Path(__file__).resolve().parents[2] / "reports" / "tests" / "fixtures"


@pytest.fixture(autouse=True)
def _datastore_in_tmp(settings, tmp_path):
    settings.DATASTORE_DIR = tmp_path / "datastore"
    settings.OPENDATA_SMALL_COUNT_THRESHOLD = 10


def _rows(dataset: Dataset) -> list[dict[str, str]]:
    resource = dataset.resources.get()
    resource.file.open("rb")
    try:
        text = resource.file.read().decode("utf-8")
    finally:
        resource.file.close()
    return list(csv.DictReader(io.StringIO(text)))


def _dataset(slug: str) -> Dataset:
    return Dataset.objects.get(source_key=f"platform:{slug}")


# --- suppression -----------------------------------------------------------------------


def test_counts_below_the_threshold_are_suppressed_zero_included():
    assert platform.suppress({"a": 3, "b": 0, "c": 10, "d": 250}, limit=10) == {"a", "b"}


def test_a_total_with_one_suppressed_part_hides_the_next_smallest_too():
    values = {"total": 45, "a": 3, "b": 12, "c": 30}
    hidden = platform.suppress(values, [("total", ["a", "b", "c"])], limit=10)
    assert hidden == {"a", "b"}  # 45 - 30 no longer gives a = 3 (only a + b = 15)


def test_secondary_suppression_repeats_until_no_total_has_a_single_hidden_part():
    # Two totals share the cell b: hiding b for the first leaves the second with one.
    values = {"t1": 50, "a": 2, "b": 20, "c": 28, "t2": 60, "d": 25, "e": 15}
    totals = [("t1", ["a", "b", "c"]), ("t2", ["b", "d", "e"])]
    hidden = platform.suppress(values, totals, limit=10)
    assert hidden == {"a", "b", "e"}
    for total, parts in totals:
        assert total in hidden or sum(p in hidden for p in parts) != 1


def test_a_lone_part_under_its_total_takes_the_total_with_it():
    hidden = platform.suppress({"total": 4, "only": 4}, [("total", ["only"])], limit=10)
    assert hidden == {"total", "only"}
    hidden = platform.suppress({"total": 12, "a": 12, "b": 0}, [("total", ["a", "b"])], limit=10)
    assert hidden == {"a", "b"}


def test_percentiles_by_nearest_rank():
    assert platform.nearest_rank({5: 6, 15: 4}, 0.5) == 5
    assert platform.nearest_rank({5: 6, 15: 4}, 0.9) == 15
    assert platform.nearest_rank({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2
    assert platform.nearest_rank({}, 0.5) is None


# --- the services dataset ----------------------------------------------------------------


@pytest.fixture
def services_world(db):
    from ecitizen.catalogue.models import Service

    DepartmentFactory(slug="communications", name="Communications")
    works = DepartmentFactory(slug="public-works", name="Public Works")
    service_definitions_publish(directory=CASES_FIXTURES, actor=None)
    return {
        "shed": Service.objects.get(slug="shed-permit"),
        "garden": Service.objects.get(slug="garden-waste-collection"),
        "officer": _official(Role.CASE_OFFICER, works, email="works.officer@example.test"),
    }


def _decide(case, officer, when: str) -> None:
    from ecitizen.cases import services as cases

    with time_machine.travel(when, tick=False):
        cases.case_transition(case=case, action_id="start_review", actor=officer)
        case.refresh_from_db()
        cases.case_transition(
            case=case,
            action_id="refuse",
            actor=officer,
            given=cases.ActionInput(text="The shed is too close to the boundary."),
        )


def test_services_by_month_against_a_hand_count(services_world):
    from ecitizen.cases import services as cases
    from ecitizen.cases.tests.support import submit_shed

    shed, garden, officer = (services_world[k] for k in ("shed", "garden", "officer"))
    residents = [UserFactory() for _ in range(15)]
    with time_machine.travel("2026-01-06 10:00 +00:00", tick=False):  # a Tuesday
        made = [submit_shed(shed, resident) for resident in residents[:12]]
        for resident in residents[12:]:  # three garden waste applications started only
            cases.draft_start(service=garden, applicant=resident, actor=resident)
    for case in made[:6]:
        _decide(case, officer, "2026-01-13 11:00 +00:00")  # 5 working days
    for case in made[6:10]:
        _decide(case, officer, "2026-01-27 11:00 +00:00")  # 15 working days
    for case in made[10:]:
        _decide(case, officer, "2026-02-03 11:00 +00:00")  # 20 working days
    with time_machine.travel("2026-02-04 10:00 +00:00", tick=False):
        for resident in residents[:3]:  # three more sheds started in February
            cases.draft_start(service=shed, applicant=resident, actor=resident)

    (outcome,) = platform.publish_all([platform.DATASETS[0]])
    assert outcome.action == "created"
    rows = {(r["month"], r["service"]): r for r in _rows(_dataset("service-performance"))}
    assert set(rows) == {
        ("2026-01-01", "shed-permit"),
        ("2026-01-01", "garden-waste-collection"),
        ("2026-01-01", "all"),
        ("2026-02-01", "shed-permit"),
        ("2026-02-01", "all"),
    }
    jan = rows[("2026-01-01", "shed-permit")]
    # 12 sheds started, but the 3 garden starts (<10) would follow from the total of 15:
    # the shed's count is hidden too, as [c] (it is not below 10).
    assert rows[("2026-01-01", "garden-waste-collection")]["started"] == "<10"
    assert jan["started"] == "[c]"
    assert rows[("2026-01-01", "all")]["started"] == "15"
    # Likewise each column where the garden row has a small count (0 completed, 0
    # decided): the month's total is the shed's own count, so that is hidden.
    assert rows[("2026-01-01", "garden-waste-collection")]["completed"] == "<10"
    assert rows[("2026-01-01", "all")]["completed"] == "12"
    assert jan["completed"] == "[c]"
    assert jan["completed_online"] == "[c]"
    assert jan["completed_assisted"] == "<10"  # 0
    assert jan["completed_counter"] == "<10"
    assert rows[("2026-01-01", "all")]["completed_online"] == "12"
    assert rows[("2026-01-01", "all")]["decided"] == "10"
    assert jan["decided"] == "[c]"
    # 10 decisions: enough for the figures derived from them.
    assert jan["median_days_to_decision"] == "5"
    assert jan["p90_days_to_decision"] == "15"
    assert jan["share_decided_within_target"] == "0.6"  # 6 of 10 within 10 working days
    assert jan["service_title"] == "Apply for a garden shed permit"
    assert jan["department"] == "public-works"
    feb = rows[("2026-02-01", "shed-permit")]
    assert feb["started"] == "<10"
    assert feb["decided"] == "<10"  # 2 decided: no median, percentile or share either
    assert feb["median_days_to_decision"] == ""
    assert feb["p90_days_to_decision"] == ""
    assert feb["share_decided_within_target"] == ""
    # No published total can give a small count away: in every month, a shown total has
    # no column where exactly one service's cell is hidden.
    for month in ("2026-01-01", "2026-02-01"):
        parts = [r for (m, s), r in rows.items() if m == month and s != "all"]
        for column in platform.SERVICE_COUNTS:
            total = rows[(month, "all")][column]
            if total.isdigit():
                assert sum(not r[column].isdigit() for r in parts) != 1, (month, column)


# --- street reports ----------------------------------------------------------------------


@pytest.fixture
def reports_world(db):
    from ecitizen.accounts.models import Jurisdiction
    from ecitizen.reports import geo

    works = DepartmentFactory(slug="public-works", name="Public Works")
    for ward in geo.area().wards:
        Jurisdiction.objects.get_or_create(code=ward.code, defaults={"name": ward.name})
    service_definitions_publish(directory=REPORTS_FIXTURES, actor=None)
    return {
        "officer": _official(Role.CASE_OFFICER, works, email="works.officer@example.test"),
        "supervisor": _official(Role.SUPERVISOR, works, email="works.supervisor@example.test"),
    }


def test_street_reports_keep_only_their_public_facts(
    reports_world, django_capture_on_commit_callbacks
):
    from ecitizen.cases import services as cases
    from ecitizen.cases.selectors import case_get_for_staff
    from ecitizen.reports import services as reports

    reporter = UserFactory(email="jo.bloggs@example.test", full_name="Jo Bloggs")
    officer = reports_world["officer"]

    def submit(lat: float, lon: float, title: str):
        return reports.report_submit(
            data=reports.ReportInput(
                category="pothole",
                latitude=lat,
                longitude=lon,
                title=title,
                description="Outside 12 Mill Lane, where Jo Bloggs lives.",
                answers={"hazard": True},
            ),
            reporter=reporter,
            actor=reporter,
        )

    with (
        time_machine.travel("2026-03-02 09:00 +00:00", tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fixed = submit(52.18976, -2.24702, "Deep pothole")
        still_open = submit(52.1913, -2.2471, "Another pothole")
        hidden = submit(52.1899, -2.2469, "Rude words")
    with time_machine.travel("2026-03-05 09:00 +00:00", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            case = case_get_for_staff(user=officer, reference=fixed.reference)
            cases.case_transition(case=case, action_id="fix", actor=officer)
        reports.report_hide(report=hidden, reason="Abusive", actor=reports_world["supervisor"])

    platform.publish_all([platform.DATASETS[1]])
    dataset = _dataset("street-reports")
    rows = _rows(dataset)
    assert rows == [
        {
            "category": "pothole",
            "category_title": rows[0]["category_title"],
            "ward": "riverside",
            "latitude": "52.19",
            "longitude": "-2.247",
            "reported": "2026-03-02",
            "closed": "2026-03-05",
            "status": "closed",
            "state": "Fixed",
        },
        {
            "category": "pothole",
            "category_title": rows[0]["category_title"],
            "ward": rows[1]["ward"],
            "latitude": "52.191",
            "longitude": "-2.247",
            "reported": "2026-03-02",
            "closed": "",
            "status": "open",
            "state": "Reported",
        },
    ]
    assert still_open.reference  # the references stay out: they lead to the full report
    text = dataset.resources.get().file.open("rb").read().decode()
    for secret in ("jo.bloggs", "Jo Bloggs", "Mill Lane", "Deep pothole", fixed.reference):
        assert secret not in text


# --- money -------------------------------------------------------------------------------


def _paid_bill(department, kind: str, amount_minor: int, number: int) -> None:
    from ecitizen.payments.services import BillSpec, LineSpec, bill_create, payment_record_offline

    bill = bill_create(
        spec=BillSpec(
            reference=f"TEST-{kind[:3].upper()}-{number:05d}",
            kind=kind,
            description="Test",
            department_id=department.pk,
            due_date=date(2026, 6, 30),
            lines=[LineSpec("Test", amount_minor, "fee")],
            source_key=f"test:{kind}:{number}",
        ),
        actor=None,
    )
    payment_record_offline(bill=bill, amount_minor=amount_minor)


def test_revenue_by_department_fee_type_and_month(db):
    DepartmentFactory(slug="revenue", name="Revenue")
    licensing = DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    with time_machine.travel("2026-04-15 12:00 +00:00", tick=False):
        for number in range(12):
            _paid_bill(licensing, "fee", 2_500, number)
        for number in range(3):
            _paid_bill(licensing, "fine", 7_000, 100 + number)

    platform.publish_all([platform.DATASETS[3]])
    rows = {r["fee_type"]: r for r in _rows(_dataset("revenue-by-month"))}
    assert rows["fee"] == {
        "month": "2026-04-01",
        "department": "transport-licensing",
        "department_name": "Transport & Licensing",
        "fee_type": "fee",
        "fee_type_title": "Service fee",
        "currency": rows["fee"]["currency"],
        "payments": "12",
        "amount_received": "300.00",
        "amount_refunded": "0.00",
        "net_amount": "300.00",
    }
    # Three fines: the count is suppressed and no amount is shown (210.00 / 70.00 each).
    assert rows["fine"]["payments"] == "<10"
    assert rows["fine"]["amount_received"] == rows["fine"]["net_amount"] == ""


def test_property_tax_billed_and_collected_by_ward_and_year(db):
    from ecitizen.accounts.models import Jurisdiction
    from ecitizen.taxes.models import Property, TaxYear

    revenue = DepartmentFactory(slug="revenue", name="Revenue")
    north = Jurisdiction.objects.create(code="northgate", name="Northgate")
    east = Jurisdiction.objects.create(code="eastfield", name="Eastfield")
    TaxYear.objects.create(
        year=2026,
        department=revenue,
        starts_on=date(2026, 4, 1),
        ends_on=date(2027, 3, 31),
        checksum="x",
    )
    from ecitizen.payments.services import BillSpec, LineSpec, bill_create, payment_record_offline

    for number in range(14):
        ward = north if number < 11 else east
        parcel = f"P{number:04d}"
        Property.objects.create(
            parcel=parcel,
            address_line_1=f"{number} Test Street",
            ward=ward,
            use_class="residential",
            assessed_value_minor=10_000_000,
        )
        bill = bill_create(
            spec=BillSpec(
                reference=f"RIV-PT-2026-{number:07d}",
                kind="property_tax",
                description="Property tax 2026",
                department_id=revenue.pk,
                due_date=date(2026, 5, 1),
                lines=[LineSpec("Property tax", 100_000, "property_tax")],
                source_reference=parcel,
                source_key=f"tax:2026:{parcel}",
            ),
            actor=None,
        )
        if number % 2 == 0:
            payment_record_offline(bill=bill, amount_minor=100_000)

    platform.publish_all([platform.DATASETS[4]])
    rows = {r["ward"]: r for r in _rows(_dataset("property-tax-by-ward"))}
    assert rows["northgate"] == {
        "year": "2026",
        "ward": "northgate",
        "ward_name": "Northgate",
        "properties_billed": "11",
        "amount_billed": "11000.00",
        "amount_collected": "6000.00",  # parcels 0, 2, 4, 6, 8, 10
        "collection_rate": "0.545",
    }
    assert rows["eastfield"]["properties_billed"] == "<10"
    assert rows["eastfield"]["amount_billed"] == rows["eastfield"]["amount_collected"] == ""
    assert rows["eastfield"]["collection_rate"] == ""


# --- freedom of information --------------------------------------------------------------


def test_information_requests_and_their_outcomes(tmp_path, db, django_capture_on_commit_callbacks):
    from ecitizen.cases import services as cases
    from ecitizen.cases.tests.support import pdf_file
    from ecitizen.catalogue.models import Service

    comms = DepartmentFactory(slug="communications", name="Communications")
    shutil.copy(DEMO_DEFINITIONS / "freedom-of-information.yaml", tmp_path / "foi.yaml")
    service_definitions_publish(directory=tmp_path, actor=None)
    foi = Service.objects.get(slug="freedom-of-information")
    officer = _official(Role.CASE_OFFICER, comms, email="foi.officer@example.test")
    requester = UserFactory(email="curious.person@example.test", full_name="Curious Person")

    def ask(text: str):
        draft = cases.draft_start(service=foi, applicant=requester, actor=requester)
        answers = {
            "requester_name": "Curious Person",
            "information": text,
            "format": "electronic",
            "reply_by_email": True,
            "email": "curious.person@example.test",
        }
        draft = cases.draft_save_answers(draft=draft, values=answers, actor=requester)
        return cases.draft_submit(draft=draft, actor=requester)

    with time_machine.travel("2026-05-04 09:00 +00:00", tick=False):
        released = ask("The contract for the new street lighting, please.")
        refused = ask("Every email the mayor sent about the secret plan.")
        waiting = ask("Minutes of the parking zone meetings.")
    with time_machine.travel("2026-05-11 09:00 +00:00", tick=False):
        for case, steps in ((released, ["start_search", "send_to_review"]), (refused, [])):
            for step in steps:
                cases.case_transition(case=case, action_id=step, actor=officer)
                case.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            cases.case_transition(
                case=released,
                action_id="release",
                actor=officer,
                given=cases.ActionInput(files=[pdf_file("contract.pdf")], publish=True),
            )
        cases.case_transition(case=refused, action_id="start_search", actor=officer)
        refused.refresh_from_db()
        cases.case_transition(
            case=refused,
            action_id="refuse",
            actor=officer,
            given=cases.ActionInput(text="Exempt: it would cost more than the limit."),
        )

    platform.publish_all([platform.DATASETS[2]])
    dataset = _dataset("foi-requests")
    rows = {r["reference"]: r for r in _rows(dataset)}
    assert rows[released.reference] == {
        "reference": released.reference,
        "received": "2026-05-04",
        "answered": "2026-05-11",
        "working_days": "5",
        "within_deadline": "true",
        "state": "released",
        "state_title": "Information released",
        "outcome": "approved",
        "records_published": "1",
    }
    assert rows[refused.reference]["outcome"] == "refused"
    assert rows[refused.reference]["records_published"] == "0"
    assert rows[waiting.reference]["answered"] == ""
    assert rows[waiting.reference]["within_deadline"] == ""
    text = dataset.resources.get().file.open("rb").read().decode()
    for secret in ("Curious", "curious.person", "street lighting", "secret plan"):
        assert secret not in text


# --- publishing: catalogue entries, revisions, idempotence --------------------------------


def test_every_dataset_is_published_with_a_schema_and_a_second_run_writes_nothing(
    db, django_capture_on_commit_callbacks
):
    for slug, name in (
        ("communications", "Communications"),
        ("public-works", "Public Works"),
        ("revenue", "Revenue"),
    ):
        DepartmentFactory(slug=slug, name=name)
    with django_capture_on_commit_callbacks(execute=True):
        first = platform.publish_all()
    assert [o.action for o in first] == ["created"] * len(platform.DATASETS)
    for definition in platform.DATASETS:
        dataset = _dataset(definition.slug)
        assert dataset.state == Dataset.State.PUBLISHED
        assert dataset.name == definition.slug
        assert dataset.licence_id in {"OGL-UK-3.0", "CC-BY-4.0"}
        assert dataset.frequency in {"MONTHLY", "ANNUAL"}
        assert dataset.themes
        assert dataset.keywords
        (resource,) = dataset.resources.all()
        assert resource.format == "CSV"
        assert resource.validation["valid"], resource.validation
        fields = resource.schema["fields"]
        assert all(f.get("description") for f in fields)  # the data dictionary
    revisions = DatasetRevision.objects.count()
    checksums = set(Resource.objects.values_list("checksum", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        second = platform.publish_all()
    assert [o.action for o in second] == ["unchanged"] * len(platform.DATASETS)
    assert DatasetRevision.objects.count() == revisions
    assert set(Resource.objects.values_list("checksum", flat=True)) == checksums


def test_a_refresh_after_a_change_is_one_new_revision(db, django_capture_on_commit_callbacks):
    DepartmentFactory(slug="revenue", name="Revenue")
    licensing = DepartmentFactory(slug="transport-licensing", name="Transport & Licensing")
    revenue_dataset = platform.DATASETS[3]
    with django_capture_on_commit_callbacks(execute=True):
        platform.publish_all([revenue_dataset])
    dataset = _dataset("revenue-by-month")
    before = dataset.revision
    _paid_bill(licensing, "fee", 2_500, 1)

    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = platform.publish_all([revenue_dataset])
    dataset.refresh_from_db()
    assert outcome.action == "updated"
    assert dataset.revision == before + 1
    assert dataset.revisions.order_by("-number").first().summary.startswith("File replaced")
    assert len(_rows(dataset)) == 1


def test_the_command_prints_what_changed(db, django_capture_on_commit_callbacks):
    DepartmentFactory(slug="communications", name="Communications")
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("opendata", "publish", stdout=out)
    text = out.getvalue()
    assert "service-performance: created" in text
    assert "revenue-by-month: skipped" in text  # no Revenue department here
    out = io.StringIO()
    call_command("opendata", "publish", stdout=out)
    assert "service-performance: unchanged" in out.getvalue()
    assert f"datasets changed: 0 of {len(platform.DATASETS)}" in out.getvalue()


def test_the_job_is_registered_daily():
    from ecitizen.core.registry import registry

    job = registry.jobs["opendata.publish"]
    assert job.command == ("opendata", "publish")
    assert job.every == timedelta(days=1)
