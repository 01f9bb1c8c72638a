"""The role-by-object matrix: every staff URL that names an object is tried by officials
of the object's department and ward (who must reach it), of another department, of
another ward, and holding a role the URL does not admit — generated from the URL map.

A new staff URL is covered without anyone remembering to add it: its parameters must be
known here (``OBJECTS``), or the test fails and says which one to describe. An URL that no
insider can reach fails too, so a broken world cannot make every check pass by 404.

Expected answers: another department or another ward gets 404, the answer for an object
that does not exist. A role that does not hold the capability gets 403 from the access
rule before any object is looked up (the same for every object, so it reveals nothing) or
404 from the object's own check.

The world (every object a URL can name, and an official of every role in every place a
check asks for, each with a session signed in as ``sign_in_official`` does) is built once
for the module and each test runs inside it, rolled back (``tests/shared_world.py``). Each
check still uses an official no other check of its test used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role
from ecitizen.core.access import capability_roles
from ecitizen.core.registry import registry
from tests.factories import DepartmentFactory, JurisdictionFactory, UserFactory
from tests.personas import TOTP_SECRET, sign_in_official
from tests.shared_world import shared_world
from tests.test_url_access import _walk


@dataclass
class Target:
    """One object a URL can name: the URL parameters that name it, and the remit it
    belongs to (``ward=None``: the object has no ward; ``remit=False``: an object of the
    authority as a whole, or owned by one person, which has no department)."""

    kwargs: dict[str, Any]
    ward: Any = None
    remit: bool = True
    owner: Any = None  # the one official who may use it (a consent request)
    label: str = ""
    #: The roles that reach it when they are not the URL's department roles (the whole
    #: authority's figures: authority-wide roles only).
    insider_roles: tuple[str, ...] = ()
    #: The URL-name prefix it is for, when a parameter name means different objects in
    #: different apps (a process's ``slug`` against a service's).
    names: str = ""
    #: A query string the page needs besides the path (what a form page is about).
    query: str = ""


@dataclass
class World:
    department: Any
    other_department: Any
    ward: Any
    other_ward: Any
    targets: dict[str, list[Target]] = field(default_factory=dict)
    #: One official for each role and place a check may ask for (``_placement``), made
    #: with the world: a test uses each once, then makes its own (``person``).
    officials: dict[tuple[str, Any, Any], Any] = field(default_factory=dict)
    #: A session of each of the world's officials, signed in with ``sign_in_official``
    #: when the world was built (user id -> session key), and when.
    sessions: dict[int, str] = field(default_factory=dict)
    signed_in_at: float = 0.0


def _official(role: str, department, ward=None, *, email: str):
    user = UserFactory(email=email)
    accounts.role_assign(
        user=user,
        role=role,
        department=None if role in registry.authority_wide_roles() else department,
        jurisdiction=ward,
        actor=None,
        system=True,
    )
    accounts.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
    return user


def _placement(role: str, department, ward) -> tuple[str, Any, Any]:
    """Where ``_official`` puts an official of ``role`` asked for in ``department`` and
    ``ward``: an authority-wide role has neither."""
    if role in registry.authority_wide_roles():
        return (role, None, None)
    return (role, department.pk, ward.pk if ward is not None else None)


def _build_world() -> World:
    from pathlib import Path

    import ecitizen.cases.tests as cases_tests
    from ecitizen.cases import services as cases
    from ecitizen.cases.models import CaseFile
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish
    from ecitizen.documents.models import IssuedDocument
    from ecitizen.documents.services import document_issue
    from ecitizen.notifications.services import notification_send
    from ecitizen.payments.models import Bill
    from ecitizen.payments.services import (
        BillSpec,
        LineSpec,
        bill_create,
        payment_receipt_issue,
        payment_record_offline,
    )
    from ecitizen.taxes.models import AssessmentRun, TaxYear

    works = DepartmentFactory(slug="public-works", name="Public Works")
    other = DepartmentFactory(slug="revenue", name="Revenue")
    ward = JurisdictionFactory(code="riverside", name="Riverside")
    other_ward = JurisdictionFactory(code="northgate", name="Northgate")
    service_definitions_publish(
        directory=Path(cases_tests.__file__).parent / "fixtures", actor=None
    )
    shed = Service.objects.get(slug="shed-permit")

    resident = UserFactory(email="matrix.resident@example.test", full_name="Mara Trix")
    accounts.profile_update(
        user=resident, data={"legal_name": "Mara Trix", "ward": ward}, actor=resident
    )
    resident.refresh_from_db()
    case = submit_shed(shed, resident)
    assert case.ward_id == ward.pk
    case_file = CaseFile.objects.filter(case=case).first()
    spec = cases.spec_for(case.service_version)
    action_id = next(iter(spec.actions))

    permit = document_issue(
        owner=resident,
        template="permit",
        title="Shed permit",
        reference=case.reference,
        holder_name="Mara Trix",
        printed=[("Work permitted", "A shed")],
        valid_for_days=365,
        language="en",
        actor=None,
        department=works,
        ward=ward,
    )
    bill = bill_create(
        spec=BillSpec(
            reference="MTX-000001",
            kind=Bill.Kind.FEE,
            description="Matrix fee",
            department_id=works.pk,
            due_date=timezone.localdate() + timedelta(days=30),
            lines=[LineSpec("Matrix fee", 5_000, "fee")],
            payer_id=resident.pk,
            source_key="matrix:1",
        ),
        actor=None,
    )
    payment = payment_record_offline(bill=bill, amount_minor=5_000)
    payment_receipt_issue(payment=payment)  # a task once the payment commits
    receipt = IssuedDocument.objects.get(remit="finance")

    colleague = _official(Role.CASE_OFFICER, works, email="matrix.colleague@example.test")
    assignment = colleague.role_assignments.get()
    notification = notification_send(
        recipient=resident,
        event="case_withdrawn",
        context={"reference": case.reference, "service": "Shed", "url": "/"},
        channels=["inbox"],
    )[0]
    helper = _official(Role.INTERMEDIARY, None, email="matrix.helper@example.test")
    consent = cases.assist_consent_request(
        service=shed, resident_email=resident.email, actor=helper
    )
    # A tax assessment run (written directly: only its page's access matters here).
    year = TaxYear.objects.create(
        year=2026,
        department=other,
        starts_on=timezone.localdate().replace(month=1, day=1),
        ends_on=timezone.localdate().replace(month=12, day=31),
        checksum="0" * 64,
    )
    run = AssessmentRun.objects.create(tax_year=year, batch_size=1000)

    world = World(department=works, other_department=other, ward=ward, other_ward=other_ward)
    on_case = {"ward": ward}
    world.targets = {
        "reference": [Target({"reference": case.reference}, **on_case, label="case")],
        "file_id": [
            Target({"reference": case.reference, "file_id": case_file.pk}, **on_case, label="file")
        ],
        "action_id": [
            Target({"reference": case.reference, "action_id": action_id}, **on_case, label="action")
        ],
        "code": [
            Target({"code": permit.code}, **on_case, label="permit"),
            Target({"code": receipt.code}, label="receipt"),
        ],
        "payment_id": [Target({"payment_id": payment.pk}, label="payment")],
        "profile_id": [Target({"profile_id": resident.profile.pk}, ward=ward, label="resident")],
        "assignment_id": [Target({"assignment_id": assignment.pk}, label="role assignment")],
        "notification_id": [
            Target({"notification_id": notification.pk}, remit=False, label="notification")
        ],
        "consent_id": [
            Target(
                {"slug": shed.slug, "consent_id": consent.pk},
                remit=False,
                owner=helper,
                label="consent request",
            )
        ],
        # Objects of the authority as a whole: only the role matters.
        "slug": [Target({"slug": shed.slug}, remit=False, label="service")],
    }
    world.targets["run_id"] = [Target({"run_id": run.pk}, remit=False, label="tax run")]

    # A street report (a case of Public Works in Riverside) with a photo, and an app's key.
    from ecitizen.reports import services as reports
    from ecitizen.reports.tests.conftest import FIXTURES as REPORT_CATEGORIES
    from ecitizen.reports.tests.conftest import RIVERSIDE, jpeg_with_gps

    service_definitions_publish(directory=REPORT_CATEGORIES, actor=None)
    report = reports.report_submit(
        data=reports.ReportInput(
            category="pothole",
            latitude=RIVERSIDE[0],
            longitude=RIVERSIDE[1],
            title="Matrix pothole",
            description="A deep one.",
            answers={"hazard": True},
            photos=[jpeg_with_gps()],
        ),
        reporter=resident,
        actor=resident,
    )
    assert report.ward_id == ward.pk
    photo = report.photos.get()
    app, _key = reports.api_client_issue(
        name="Matrix app", contact_email="app@example.test", hourly_limit=10, actor=None
    )
    world.targets["report"] = [
        Target({"report": report.reference}, **on_case, label="street report"),
        Target({"report": report.reference, "photo_id": photo.pk}, **on_case, label="photo"),
    ]
    world.targets["client_id"] = [Target({"client_id": app.pk}, remit=False, label="app")]

    # A dataset of Public Works about Riverside with a file, and a publisher's API token.
    from ecitizen.opendata import services as opendata

    dataset = opendata.dataset_create(
        actor=None,
        department=works,
        fields={
            "name": "matrix-trees",
            "titles": {"en": "Matrix trees"},
            "licence_id": "OGL-UK-3.0",
            "ward": ward,
        },
    )
    table = opendata.resource_add(
        actor=None, dataset=dataset, filename="trees.csv", content=b"id,name\n1,Oak\n"
    )
    publisher = _official("publisher", works, email="matrix.publisher@example.test")
    token, _secret = opendata.api_token_create(actor=publisher, name="Matrix script")
    world.targets["name"] = [
        Target({"name": dataset.name}, ward=ward, label="dataset"),
        Target({"name": dataset.name, "resource_id": table.pk}, ward=ward, label="dataset file"),
    ]
    world.targets["token_id"] = [
        Target({"token_id": token.pk}, remit=False, owner=publisher, label="API token")
    ]

    # Insights: Public Works' dashboard and the shed permit's dashboard, forecast, staffing
    # and costs, with a month of figures and a forecast (too short) to read. A department
    # or a service has no ward: a ward-limited assignment does not cover its totals.
    from ecitizen.insights.models import Forecast, KpiMonth

    # Last month: the dashboards open on the latest month that has ended.
    month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    KpiMonth.objects.create(
        scope="service",
        key=shed.slug,
        service=shed,
        department=works,
        month=month,
        figures={"started": 12, "completed": 10},
    )
    KpiMonth.objects.create(
        scope="department",
        key=works.slug,
        department=works,
        month=month,
        figures={"started": 12, "completed": 10},
    )
    Forecast.objects.create(
        service=shed,
        series="applications",
        frequency="week",
        status="short",
        history_points=3,
        needed_points=32,
    )
    KpiMonth.objects.create(
        scope="authority", key="", month=month, figures={"started": 12, "completed": 10}
    )
    world.targets["chart"] = [
        Target(
            {"chart": "figures"},
            remit=False,
            insider_roles=("performance_officer",),
            label="the authority's chart",
        )
    ]
    world.targets["department"] = [
        Target({"department": works.slug}, label="department's dashboard"),
        Target({"department": works.slug, "chart": "figures"}, label="department's chart"),
    ]
    world.targets["service"] = [
        Target({"service": shed.slug}, label="service's performance page"),
        Target({"service": shed.slug, "chart": "figures"}, label="service's chart"),
        Target({"service": shed.slug, "series": "applications-week"}, label="forecast"),
    ]
    _participation_world(world)
    _voting_world(world)
    _erasure_world(world)
    _api_world(world)
    _officials_world(world)
    return world


def _officials_world(world: World) -> None:
    """An official of every role a URL admits or the matrix tries, in each place a check
    asks for: of the department (no ward, its ward, the other ward) and of the other
    department."""
    roles = registry.staff_roles().union(*(roles for _name, _params, roles in URLS))
    places = [
        (world.department, None),
        (world.department, world.ward),
        (world.department, world.other_ward),
        (world.other_department, None),
    ]
    for role in sorted(roles):
        for department, ward in places:
            key = _placement(role, department, ward)
            if key not in world.officials:
                email = f"matrix.pool{len(world.officials)}@example.test"
                world.officials[key] = _official(role, department, ward, email=email)
    owners = [t.owner for targets in world.targets.values() for t in targets if t.owner]
    world.signed_in_at = time.time()
    for user in [*world.officials.values(), *owners]:
        browser = Client()
        sign_in_official(browser, user)
        world.sessions[user.pk] = browser.cookies[settings.SESSION_COOKIE_NAME].value


def _api_world(world: World) -> None:
    """An integrator's client, registered by the platform administrator: clients are the
    authority's, no department's, so only holders of ``api.manage`` reach them."""
    from ecitizen.api import clients as api_clients

    api_admin = _official(Role.PLATFORM_ADMIN, None, email="matrix.api.admin@example.test")
    client, _secret = api_clients.client_register(
        name="Matrix client",
        kind="resident_app",
        scopes=["profile"],
        redirect_uris=["https://matrix.example/cb"],
        actor=api_admin,
    )
    world.targets["client_pk"] = [Target({"client_pk": client.pk}, remit=False, label="API client")]


def _voting_world(world: World) -> None:
    """An election of the department about the Riverside ward, in set-up, whose
    credentials are made offline by its named credential authority (the one official who
    may use its credential pages)."""
    from ecitizen.voting.models import Election

    authority = _official(
        "credential_authority", world.department, world.ward, email="matrix.ca@example.test"
    )
    election = Election.objects.create(
        slug="riverside-referendum",
        uuid="MatrixRiverside1",
        title="Riverside referendum",
        department=world.department,
        ward=world.ward,
        state=Election.State.SETUP,
        opens_at=timezone.now() + timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=8),
        credentials=Election.Credentials.OFFLINE,
        administrator=authority,
        credential_authority=authority,
    )
    world.targets["slug"] += [
        Target(
            {"slug": election.slug},
            ward=world.ward,
            label="election",
            names="staff:voting_election",
        ),
        Target(
            {"slug": election.slug},
            ward=world.ward,
            owner=authority,
            label="election's credentials",
            names="staff:voting_credentials",
        ),
        Target(
            {"slug": election.slug},
            ward=world.ward,
            owner=authority,
            label="election's voter list",
            names="staff:voting_voter_list",
        ),
    ]


def _erasure_world(world: World) -> None:
    """A resident's open erasure request: the authority's as a whole (its officer is the
    authority-wide data-protection officer)."""
    from ecitizen.privacy.erasure import erasure_request_submit

    person = UserFactory(email="matrix.erasure@example.test", full_name="Era Sure")
    request = erasure_request_submit(user=person, actor=person)
    world.targets.setdefault("reference", []).append(
        Target(
            {"reference": request.reference},
            remit=False,
            label="erasure request",
            names="staff:privacy_erasure",
        )
    )


def _participation_world(world: World) -> None:
    """A published process of Public Works about the Riverside ward, with a consultation,
    a proposal and its comment, and a budget with a project (the test's own rows: the
    matrix is about who reaches them, not how they are made)."""
    from decimal import Decimal

    from ecitizen.participation.models import (
        Budget,
        Comment,
        Consultation,
        Heading,
        Phase,
        Process,
        Project,
        Proposal,
    )
    from ecitizen.participation.models import (
        Target as Kind,
    )

    today = timezone.localdate()
    process = Process.objects.create(
        slug="riverside-plan",
        title="Riverside plan",
        summary="The plan for the riverside.",
        department=world.department,
        status=Process.Status.PUBLISHED,
    )
    process.wards.set([world.ward])
    Phase.objects.create(
        process=process,
        kind=Phase.Kind.VOTE,
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=3),
    )
    consultation = Consultation.objects.create(
        process=process,
        slug="plan",
        title="The plan",
        questions=[{"id": "view", "type": "long_text", "label": {"en": "Your view"}}],
        status=Consultation.Status.OPEN,
        opens_at=timezone.now() - timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=7),
    )
    proposal = Proposal.objects.create(
        process=process, reference="P-TEST1", title="More benches", description="Benches."
    )
    comment = Comment.objects.create(
        target_kind=Kind.PROPOSAL, target_id=proposal.pk, process=process, body="Yes please."
    )
    budget = Budget.objects.create(
        process=process, total_amount=Decimal("1000"), ballot_kind=Budget.BallotKind.KNAPSACK
    )
    heading = Heading.objects.create(
        budget=budget, slug="riverside", name="Riverside", ward=world.ward, amount=Decimal("1000")
    )
    project = Project.objects.create(
        heading=heading,
        number=1,
        title="A bench",
        description="A bench by the river.",
        department=world.department,
        cost=Decimal("500"),
    )
    prefix = "staff:participation"
    world.targets["slug"] += [
        Target({"slug": process.slug}, ward=world.ward, label="process", names=prefix),
        Target(
            {"slug": process.slug},
            ward=world.ward,
            label="paper response form",
            names="staff:participation_paper_response",
            query=f"consultation={consultation.slug}",
        ),
        Target(
            {"slug": process.slug},
            ward=world.ward,
            label="paper ballot form",
            names="staff:participation_paper_ballot",
            query=f"heading={heading.slug}",
        ),
    ]
    world.targets["cslug"] = [
        Target(
            {"slug": process.slug, "cslug": consultation.slug},
            ward=world.ward,
            label="consultation",
            names=prefix,
        )
    ]
    world.targets["ref"] = [
        Target(
            {"slug": process.slug, "ref": proposal.reference},
            ward=world.ward,
            label="proposal",
            names=prefix,
        )
    ]
    world.targets["comment_id"] = [
        Target({"comment_id": comment.pk}, ward=world.ward, label="comment", names=prefix)
    ]
    world.targets["number"] = [
        Target(
            {"slug": process.slug, "number": project.number},
            ward=world.ward,
            label="project",
            names=prefix,
        )
    ]


def staff_object_urls() -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """(URL name, its parameters, the roles its access rule admits) for every view of
    ours behind ``staff_only`` whose URL names something."""
    found = []
    for namespace, pattern, groups in _walk(get_resolver()):
        rule = getattr(pattern.callback, "access_rule", "")
        if not pattern.name or not rule.startswith("staff:") or not groups:
            continue
        roles = capability_roles(rule.removeprefix("staff:") or None)
        found.append((namespace + pattern.name, tuple(sorted(groups)), roles))
    return found


URLS = staff_object_urls()

# The world is built once for the module (on each xdist process); each test runs inside it,
# rolled back (tests/shared_world.py).
_shared_world, world = shared_world(_build_world)


def test_the_matrix_covers_every_staff_url_that_names_an_object():
    names = {name for name, _, _ in URLS}
    # The ones this platform has today; a new one is covered automatically.
    assert {"staff:case_detail", "staff:document_detail", "staff:payment"} <= names
    assert "staff:resident_detail" in names
    assert {"staff:opendata_dataset", "staff:opendata_resource", "staff:opendata_token"} <= names
    assert {"staff:insights_department", "staff:insights_service", "staff:insights_costs"} <= names


def _target_for(world: World, name: str, params: tuple[str, ...]) -> list[Target]:
    """The targets whose kwargs are exactly this URL's parameters (those meant for this
    URL's name, when some are)."""
    candidates = [t for key in params for t in world.targets.get(key, [])]
    matching = [t for t in candidates if set(t.kwargs) == set(params) and name.startswith(t.names)]
    # The targets meant for the longest prefix of this name (the most specific) win.
    longest = max((len(t.names) for t in matching), default=0)
    matching = [t for t in matching if len(t.names) == longest]
    # A target listed under each of its parameters is one target.
    matching = list({id(t): t for t in matching}.values())
    assert matching, f"No object for URL parameters {params}: describe it in _build_world's targets"
    return matching


def _request(client, url: str, method: str):
    return client.post(url, {}) if method == "POST" else client.get(url)


def _status(client, user, url: str, method: str, sessions: dict[int, str]) -> int:
    """The answer to ``user``'s request. Signed in with ``sign_in_official``: just now,
    or, the first time the test asks for one of the world's officials, when the world
    was built (``sessions``, a test's own copy: each is used once, as it was made)."""
    session = sessions.pop(user.pk, None)
    if session is None:
        client.logout()
        sign_in_official(client, user)
    else:
        client.cookies = SimpleCookie()  # as logging out leaves them
        client.cookies[settings.SESSION_COOKIE_NAME] = session
    return _request(client, url, method).status_code


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "params", "roles"), URLS, ids=[u[0] for u in URLS])
def test_officials_outside_the_object_s_remit_get_404(client, world, name, params, roles):
    authority_wide = registry.authority_wide_roles()
    department_roles = sorted(r for r in roles if r not in authority_wide)
    other_roles = sorted(
        r for r in registry.staff_roles() - roles if r not in authority_wide | {Role.AUDITOR}
    )
    serial = iter(range(10_000))
    used = set()
    # The world's sessions, while they are well within the staff idle limit (30 minutes
    # from their sign-in): after it, a page would send its official to sign in again.
    young = time.time() - world.signed_in_at < settings.SESSION_IDLE_TIMEOUT_STAFF / 2
    sessions = dict(world.sessions) if young else {}

    def person(role, department, ward=None):
        """A new official of ``role`` in ``department`` and ``ward`` for each check: the
        world's the first time, then one made here."""
        key = _placement(role, department, ward)
        if key not in used:
            used.add(key)
            return world.officials[key]
        return _official(role, department, ward, email=f"m{next(serial)}@example.test")

    for target in _target_for(world, name, params):
        url = reverse(name, kwargs=target.kwargs) + (f"?{target.query}" if target.query else "")
        what = f"{name} on the {target.label}"
        # The method the view answers: GET, or POST for actions.
        probe = target.owner or person(
            sorted(roles)[0], world.department, target.ward if target.remit else None
        )
        method = "POST" if _status(client, probe, url, "GET", sessions) == 405 else "GET"

        # Outsiders first: an insider's POST may change the object.
        if target.owner is not None:
            for role in sorted(roles):
                stranger = person(role, world.department)
                assert _status(client, stranger, url, method, sessions) == 404, (
                    f"{what}: another {role} reached someone else's object"
                )
        if target.remit:
            for role in department_roles:
                elsewhere = person(role, world.other_department)
                assert _status(client, elsewhere, url, method, sessions) == 404, (
                    f"{what}: a {role} of another department got in"
                )
                if target.ward is not None:
                    other_ward = person(role, world.department, world.other_ward)
                    assert _status(client, other_ward, url, method, sessions) == 404, (
                        f"{what}: a {role} of another ward got in"
                    )
        for role in other_roles:
            without = person(role, world.department, target.ward)
            assert _status(client, without, url, method, sessions) in {403, 404}, (
                f"{what}: a {role}, which the URL does not admit, got in"
            )

        # Insiders: at least one role the URL admits reaches the object.
        insiders = (
            [target.owner]
            if target.owner
            else [
                person(role, world.department, target.ward if target.remit else None)
                for role in (target.insider_roles or department_roles or sorted(roles))
            ]
        )
        reached = [_status(client, insider, url, method, sessions) for insider in insiders]
        # An empty POST may be refused as invalid (400) only once the object was found.
        assert any(status < 400 or (method, status) == ("POST", 400) for status in reached), (
            f"{what}: no insider reached it ({reached}); the test world is wrong"
        )
