"""A bill's description and lines in the reader's language: kept per site language when
the bill is issued, shown in the reader's on every page that names the bill, and the
authority's own text (marked with its language) when the bill has none in theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from ecitizen.accounts.models import Role
from ecitizen.accounts.services import preferences_update
from ecitizen.documents.models import IssuedDocument
from ecitizen.payments import bulk, services
from ecitizen.payments.models import Bill, Payment, SandboxCharge
from ecitizen.payments.services import BillSpec, LineSpec
from ecitizen.payments.texts import in_every_language, site_languages, text_in
from tests.personas import _official, sign_in_official

pytestmark = pytest.mark.django_db

PERMIT = {
    "en": "Residents' parking permit (RIV-2026-000123)",
    "fr": "Permis de stationnement résident (RIV-2026-000123)",
    "ar": "تصريح وقوف للسكان (RIV-2026-000123)",
}
PERMIT_LINE = {"en": "Parking permit", "fr": "Permis de stationnement", "ar": "تصريح وقوف"}
OLD = "Street trading licence (RIV-2025-000042)"


@pytest.fixture
def permit(department, resident):
    """A bill issued with its texts in every language."""
    return services.bill_create(
        spec=BillSpec(
            reference="RIV-2026-000123-F",
            kind=Bill.Kind.FEE,
            description=PERMIT["en"],
            descriptions=PERMIT,
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=30),
            lines=[LineSpec(PERMIT_LINE["en"], 6_000, "fee", PERMIT_LINE)],
            payer_id=resident.pk,
            source_key="test:permit",
        ),
        actor=None,
    )


@pytest.fixture
def old_bill(department, resident):
    """A bill issued without texts per language (as every bill was before)."""
    return services.bill_create(
        spec=BillSpec(
            reference="RIV-2025-000042-F",
            kind=Bill.Kind.FEE,
            description=OLD,
            department_id=department.pk,
            due_date=timezone.localdate() + timedelta(days=30),
            lines=[LineSpec("Street trading licence", 4_000, "fee")],
            payer_id=resident.pk,
            source_key="test:old",
        ),
        actor=None,
    )


def _in(client, language: str) -> None:
    client.cookies["django_language"] = language
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language


def test_in_every_language_evaluates_the_text_with_each_language_active():
    texts = in_every_language(lambda: gettext("Your bills"))
    assert list(texts) == list(site_languages()) == ["en", "fr", "ar"]
    assert texts["en"] == "Your bills"
    # The real catalogues: each language its own text.
    assert len(set(texts.values())) == 3
    with translation.override("fr"):
        assert texts["fr"] == gettext("Your bills")
    # A lazy text is translated when it is made a string, in each language too.
    assert in_every_language(lambda: gettext_lazy("Your bills")) == texts


def test_text_in_falls_back_to_the_authoritys_own_text_and_says_its_language():
    assert text_in({"fr": "Permis"}, "Permit", "fr") == ("Permis", "")
    assert text_in({"fr": "Permis"}, "Permit", "ar") == ("Permit", "en")
    assert text_in({}, "Permit", "en") == ("Permit", "")
    assert text_in(None, "Permit", "fr") == ("Permit", "en")
    with translation.override("ar"):
        assert text_in(PERMIT, "x") == (PERMIT["ar"], "")


def test_a_bill_keeps_its_texts_and_reads_in_the_active_language(permit, old_bill):
    permit.refresh_from_db()
    assert permit.descriptions == PERMIT
    assert permit.description == PERMIT["en"]
    assert permit.lines[0]["descriptions"] == PERMIT_LINE
    for language in ("en", "fr", "ar"):
        with translation.override(language):
            assert permit.localised_description == PERMIT[language]
            assert permit.description_lang == ""
            [line] = permit.localised_lines()
            assert (line["description"], line["lang"]) == (PERMIT_LINE[language], "")
            assert line["amount_minor"] == 6_000
    old_bill.refresh_from_db()
    assert old_bill.descriptions == {}
    assert "descriptions" not in old_bill.lines[0]
    with translation.override("fr"):
        assert (old_bill.localised_description, old_bill.description_lang) == (OLD, "en")
        [line] = old_bill.localised_lines()
        assert (line["description"], line["lang"]) == ("Street trading licence", "en")
    with translation.override("en"):
        assert (old_bill.localised_description, old_bill.description_lang) == (OLD, "")


def test_texts_in_a_language_the_site_does_not_have_are_refused(department):
    spec = BillSpec(
        reference="RIV-X-1",
        kind=Bill.Kind.FEE,
        description="Fee",
        descriptions={"en": "Fee", "fr-FR": "Frais"},
        department_id=department.pk,
        due_date=timezone.localdate(),
        lines=[LineSpec("Fee", 100, "fee")],
    )
    with pytest.raises(services.PaymentError):
        services.bill_create(spec=spec, actor=None)
    line_texts = BillSpec(
        reference="RIV-X-2",
        kind=Bill.Kind.FEE,
        description="Fee",
        department_id=department.pk,
        due_date=timezone.localdate(),
        lines=[LineSpec("Fee", 100, "fee", {"de": "Gebühr"})],
    )
    with pytest.raises(services.PaymentError):
        services.bills_prepare([line_texts])
    assert not Bill.objects.exists()


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_your_bills_and_the_pay_page_show_the_readers_language(
    client, resident, permit, old_bill, language
):
    client.force_login(resident)
    _in(client, language)
    page = client.get(reverse("payments:bills")).content.decode()
    assert PERMIT[language] in page
    assert PERMIT["en"].replace("'", "&#x27;") not in page
    # A bill with no text in the reader's language: the authority's own, marked as such.
    assert f'<span lang="en" dir="auto">{OLD}</span>' in page

    page = client.get(reverse("payments:pay", args=[permit.reference])).content.decode()
    assert PERMIT[language] in page
    assert "parking permit" not in page
    page = client.get(reverse("payments:pay", args=[old_bill.reference])).content.decode()
    assert f'<span lang="en" dir="auto">{OLD}</span>' in page


def test_in_english_nothing_is_marked(client, resident, permit, old_bill):
    client.force_login(resident)
    _in(client, "en")
    page = client.get(reverse("payments:bills")).content.decode()
    assert PERMIT["en"].replace("'", "&#x27;") in page
    assert f'<td class="govuk-table__cell">{OLD}</td>' in page


def test_the_provider_and_the_finance_officer_see_the_description_in_their_language(
    client, resident, permit, department
):
    """The payment's description (which the provider shows on its page) is the bill's in
    the payer's language when they pay; the finance officer reads the bill in theirs."""
    client.force_login(resident)
    _in(client, "ar")
    url = reverse("payments:pay", args=[permit.reference])
    key = client.get(url).context["form"].initial["key"]
    response = client.post(url, {"key": str(key)})
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.description == PERMIT["ar"]
    charge = SandboxCharge.objects.get(pk=payment.provider_id)
    assert charge.description == PERMIT["ar"]
    card = client.get(response["Location"]).content.decode()
    assert f'<span dir="auto">{PERMIT["ar"]}</span>' in card

    finance = _official(Role.FINANCE_OFFICER, department, email="finance@example.test")
    client.logout()
    sign_in_official(client, finance)
    _in(client, "fr")
    page = client.get(reverse("staff:payment", args=[payment.pk])).content.decode()
    assert PERMIT["fr"] in page
    assert "parking permit" not in page


def test_the_receipt_names_the_bill_in_the_payers_language(resident, permit):
    preferences_update(user=resident, language="ar")
    payment = services.payment_record_offline(bill=permit, amount_minor=6_000)
    services.payment_receipt_issue(payment=payment)
    receipt = IssuedDocument.objects.get(template="receipt")
    with translation.override("ar"):
        label = gettext("For")
    assert (label, PERMIT["ar"]) in receipt.printed_pairs()


@pytest.mark.db_specific
def test_bulk_issue_stores_every_language_copy_on_postgresql_orm_on_sqlite(department, resident):
    """Bills issued in bulk (``COPY`` on PostgreSQL) keep their texts per language; lines
    share one mapping; a bill without texts stores none."""
    shared = dict(PERMIT_LINE)
    specs = [
        BillSpec(
            reference=f"RIV-B-{number}",
            kind=Bill.Kind.FEE,
            description=f"Permit {number}",
            descriptions={
                "en": f"Permit {number}",
                "fr": f"Permis « {number} »",
                "ar": f'تصريح "{number}"\\',
            },
            department_id=department.pk,
            due_date=timezone.localdate(),
            lines=[LineSpec("Parking permit", 1_000, "fee", shared)],
            payer_id=resident.pk,
            source_key=f"test:bulk:{number}",
        )
        for number in range(3)
    ]
    specs.append(
        BillSpec(
            reference="RIV-B-plain",
            kind=Bill.Kind.FEE,
            description="Plain",
            department_id=department.pk,
            due_date=timezone.localdate(),
            lines=[LineSpec("Plain", 1_000, "fee")],
            source_key="test:bulk:plain",
        )
    )
    created = services.bills_create_bulk(
        bills=services.bills_prepare(specs), actor=None, memo="test"
    )
    assert created == 4
    bills = {bill.reference: bill for bill in Bill.objects.all()}
    for number in range(3):
        bill = bills[f"RIV-B-{number}"]
        assert bill.descriptions == {
            "en": f"Permit {number}",
            "fr": f"Permis « {number} »",
            "ar": f'تصريح "{number}"\\',
        }
        assert bill.lines == [
            {
                "description": "Parking permit",
                "descriptions": PERMIT_LINE,
                "amount_minor": 1_000,
                "account": bill.lines[0]["account"],
            }
        ]
        with translation.override("ar"):
            assert bill.localised_description == f'تصريح "{number}"\\'
    plain = bills["RIV-B-plain"]
    assert plain.descriptions == {}
    assert plain.lines == [
        {"description": "Plain", "amount_minor": 1_000, "account": plain.lines[0]["account"]}
    ]


@pytest.mark.db_specific
def test_a_row_written_without_the_texts_column_gets_none(old_bill):
    """A writer that leaves the column out (a ``COPY`` of the columns before it) gets the
    database default: no texts, and the fallback."""
    columns = bulk.BILL_COLUMNS[: bulk.DESCRIPTIONS]
    assert "descriptions" not in columns
    copied = [
        "'RIV-COPY-1'" if c == "reference" else "NULL" if c == "source_key" else c for c in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Bill._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(copied)} FROM {Bill._meta.db_table} WHERE id = %s",
            [old_bill.pk],
        )
    bill = Bill.objects.get(reference="RIV-COPY-1")
    assert bill.descriptions == {}
    with translation.override("fr"):
        assert (bill.localised_description, bill.description_lang) == (OLD, "en")
