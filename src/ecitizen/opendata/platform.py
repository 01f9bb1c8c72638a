"""The platform publishes itself: open datasets made from the platform's own figures,
refreshed by the periodic job ``opendata.publish`` (``ecitizen opendata publish``).

Each dataset has the source key ``platform:<slug>`` and one CSV resource with a Table
Schema whose field descriptions make its data dictionary. A refresh builds every file
again; a file that did not change (same SHA-256) writes nothing, a changed one replaces
the resource, which is one new revision of the dataset.

No personal data: the figures are read through the other apps' aggregate selectors
(counts per service and month, per ward and year...), and street reports keep only
their public facts (category, ward, a location rounded to about 100 metres, dates, status;
never the reporter, the description, the address or the reference, which would lead back
to the full public report).

Small counts are suppressed (statistical disclosure control), with one threshold for
every dataset (:func:`threshold`: the larger of ``settings.OPENDATA_SMALL_COUNT_THRESHOLD``
and ``settings.INSIGHTS_SMALL_COUNT_THRESHOLD``, 10 by default; the public performance
page uses it too), so that no dataset publishes a count another withholds:

- every count below the threshold, zero included, is written ``<10`` (``<`` and the
  threshold). Count columns are therefore Table Schema *strings* whose values are a
  whole number or ``<10`` (a pattern constraint says so); figures derived from a
  suppressed count (a median, a share, an amount) are left empty;
- secondary suppression: where cells add up to a total that is published (the services'
  "all services" row of each month; a row's completions by channel), a total with exactly
  one suppressed part would give it away, so the next smallest part is suppressed too
  (repeated until no total has a single suppressed part), written ``[c]`` (it is not
  below the threshold). The money datasets publish no totals: nothing else is needed
  there.

Participatory budgets' results (``participatory-budget-results``) publish every
project's votes whole: the public results page shows them, and each heading's anonymised
ballots are published as a Pabulib file, from which anyone counts them again.

The service performance indicators (``service-kpis``) are the public performance page's
figures (``insights.performance``), suppressed as that page is, with the same threshold:
a count below it reads ``<10``, a rate or a cost built from one ``[c]``, a figure not
measured ``[x]`` (the schema's missing values).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

PREFIX = "platform:"

#: The services dataset's total rows use this in place of a service slug.
ALL_SERVICES = "all"


def threshold() -> int:
    """The smallest count published: the one threshold of everything public,
    ``insights.performance.small_count_threshold`` (the larger of
    ``settings.OPENDATA_SMALL_COUNT_THRESHOLD`` and
    ``settings.INSIGHTS_SMALL_COUNT_THRESHOLD``), so that no dataset publishes a count
    that another withholds."""
    from ecitizen.insights.performance import small_count_threshold

    return small_count_threshold()


def suppressed_label() -> str:
    """What a suppressed count reads: ``<10`` with the default threshold."""
    return f"<{threshold()}"


# --- suppression -----------------------------------------------------------------------


def suppress(
    values: Mapping[Hashable, int],
    totals: Iterable[tuple[Hashable, Sequence[Hashable]]] = (),
    *,
    limit: int | None = None,
    keep: Iterable[Hashable] = (),
) -> set[Hashable]:
    """The cells of ``values`` to suppress: every count below ``limit`` (the threshold),
    then, for each ``(total, parts)`` of ``totals`` (the parts add up to the total),
    enough more that no published total gives a suppressed part away: while a published
    total has exactly one suppressed part, its smallest published part is suppressed too
    (the total itself when there is none); a suppressed total whose parts are all
    published is suppressed in one more part, since their sum would give it back.
    Repeated until nothing changes. Deterministic: ties go to the first part listed.

    ``keep``: cells published elsewhere (another dataset gives them, or a figure they
    can be worked back from): hiding one would protect nothing, so they are never chosen
    for secondary suppression (the next candidate is, else the total)."""
    limit = threshold() if limit is None else limit
    hidden = {key for key, value in values.items() if value < limit}
    kept = set(keep)
    groups = [(total, list(parts)) for total, parts in totals]
    changed = True
    while changed:
        changed = False
        for total, parts in groups:
            shown = [p for p in parts if p not in hidden]
            movable = [p for p in shown if p not in kept]
            count_hidden = len(parts) - len(shown)
            if total not in hidden and count_hidden == 1:
                if movable:
                    hidden.add(min(movable, key=lambda p: values.get(p, 0)))
                    changed = True
                elif total not in kept:
                    hidden.add(total)
                    changed = True
            elif total in hidden and parts and count_hidden == 0 and movable:
                hidden.add(min(movable, key=lambda p: values.get(p, 0)))
                changed = True
    return hidden


def nearest_rank(histogram: Mapping[int, int], share: float) -> int | None:
    """The ``share`` percentile (0.5: the median) of values given as value -> how many,
    by the nearest-rank method (the smallest value with at least ``share`` of all at or
    below it); ``None`` when there are none."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(share * n))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # pragma: no cover (rank <= n)


# --- Table Schema and CSV --------------------------------------------------------------


def _text(value: Any) -> str:
    """A lazy string in the platform's default language (schemas are stored once)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(value)


def _texts(value: Any) -> dict[str, str]:
    """A lazy string in every site language that has its own translation (the default
    language always)."""
    default = _text(value)
    texts = {settings.LANGUAGE_CODE: default}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            text = str(value)
        if code != settings.LANGUAGE_CODE and text != default:
            texts[code] = text
    return texts


def count_field(name: str, title: Any, description: Any) -> dict[str, Any]:
    """A count column: a string that is a whole number, or the suppression mark."""
    return {
        "name": name,
        "type": "string",
        "title": _text(title),
        "description": _text(description)
        + " "
        + _text(
            _(
                "Counts below %(limit)d are shown as “%(mark)s”; “[c]” is a count hidden "
                "so that a total cannot reveal a small one."
            )
        )
        % {"limit": threshold(), "mark": suppressed_label()},
        "constraints": {"required": True, "pattern": rf"^([0-9]+|<{threshold()}|\[c\])$"},
    }


def plain_field(
    name: str, type_: str, title: Any, description: Any, *, required: bool = False
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "type": type_,
        "title": _text(title),
        "description": _text(description),
    }
    if required:
        found["constraints"] = {"required": True}
    return found


def csv_bytes(fields: Sequence[Mapping[str, Any]], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The rows as UTF-8 CSV in the schema's column order, ``\\n`` line ends; ``None`` is
    an empty cell. Deterministic, so that an unchanged table has an unchanged checksum."""
    out = io.StringIO()
    names = [f["name"] for f in fields]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else _cell(row[name]) for name in names])
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- the datasets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A built dataset file: its schema's fields and its rows."""

    fields: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    primary_key: list[str] = field(default_factory=list)
    #: What an empty cell may read besides "" (marks of figures not published).
    missing_values: tuple[str, ...] = ("",)

    @property
    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"fields": self.fields, "missingValues": list(self.missing_values)}
        if self.primary_key:
            schema["primaryKey"] = self.primary_key
        return schema

    def content(self) -> bytes:
        return csv_bytes(self.fields, self.rows)


@dataclass(frozen=True)
class PlatformDataset:
    """One of the platform's own datasets: its catalogue entry and how its table is built."""

    slug: str
    department: str
    title: Any
    description: Any
    resource_title: Any
    licence_id: str
    themes: tuple[str, ...]
    keywords: tuple[str, ...]
    frequency: str
    build: Callable[[], Table]

    @property
    def source_key(self) -> str:
        return f"{PREFIX}{self.slug}"

    @property
    def filename(self) -> str:
        return f"{self.slug}.csv"

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.slug,
            "titles": _texts(self.title),
            "descriptions": _texts(self.description),
            "licence_id": self.licence_id,
            "themes": list(self.themes),
            "keywords": list(self.keywords),
            "frequency": self.frequency,
        }


def _month(value: date) -> str:
    return value.replace(day=1).isoformat()


#: What a count hidden only so that a total does not give away a small one reads (the
#: Office for National Statistics' mark for "confidential"): it is not below the
#: threshold, so writing "<10" would be untrue.
SECONDARY_MARK = "[c]"


def _count(value: int, hidden: bool) -> str:
    if not hidden:
        return str(value)
    return suppressed_label() if value < threshold() else SECONDARY_MARK


def _service_labels() -> dict[str, tuple[str, str, int | None]]:
    """Each service's title (default language), department slug and SLA in working days."""
    from ecitizen.catalogue.selectors import service_spec, services_published

    labels = {}
    for service in services_published(listed=None):
        spec = service_spec(service)
        with translation.override(settings.LANGUAGE_CODE):
            title = spec.title()
        labels[service.slug] = (title, service.department.slug, spec.sla_business_days)
    return labels


SERVICE_COUNTS = (
    "started",
    "completed",
    "completed_online",
    "completed_assisted",
    "completed_counter",
    "decided",
)


def _published_in_service_kpis() -> set[Hashable]:
    """The cells of the services dataset (service, month, column) that the dataset
    ``service-kpis`` publishes, or gives back through a rate it publishes: a service's
    completions (its transactions), its starts (completions divided by the completion
    rate) and its online completions (the digital take-up). Hiding one of them so that a
    total cannot give a small count away would protect nothing."""
    from ecitizen.insights import performance

    published: set[Hashable] = set()
    for row in performance.performance_rows():
        month = row.month.isoformat()
        for figure, column in (
            (row.transactions, "completed"),
            (row.completion_rate, "started"),
            (row.digital_take_up, "completed_online"),
        ):
            if figure.published:
                published.add((row.service, month, column))
        if row.completion_rate.published or row.digital_take_up.published:
            published.add((row.service, month, "completed"))
    return published


def services_table() -> Table:  # noqa: PLR0912 (one table, built in order)
    """Per service per month: applications started, completed (sent), decided; the median
    and 90th percentile of the working days to a decision; the share decided within the
    service's target; completions by channel. One "all services" row per month."""
    from ecitizen.cases.selectors import service_decision_days_monthly, service_usage_monthly

    labels = _service_labels()
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    keys: set[tuple[str, str]] = set()
    for usage in service_usage_monthly():
        month = _month(usage.month)
        keys.add((usage.service_slug, month))
        for service in (usage.service_slug, ALL_SERVICES):
            if usage.kind == "started":
                counts[(service, month, "started")] += usage.count
            elif usage.kind == "completed":
                counts[(service, month, "completed")] += usage.count
                counts[(service, month, f"completed_{usage.channel}")] += usage.count
            elif usage.kind == "decided":
                counts[(service, month, "decided")] += usage.count
    days: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    within: dict[tuple[str, str], int] = defaultdict(int)
    timed: dict[tuple[str, str], int] = defaultdict(int)
    for decision in service_decision_days_monthly():
        month = _month(decision.month)
        sla = labels.get(decision.service_slug, ("", "", None))[2]
        for service in (decision.service_slug, ALL_SERVICES):
            days[(service, month)][decision.business_days] += decision.count
            if sla is not None:
                timed[(service, month)] += decision.count
                if decision.business_days <= sla:
                    within[(service, month)] += decision.count
    months = sorted({month for _service, month in keys})
    rows_keys = sorted(keys) + [(ALL_SERVICES, month) for month in months]
    values: dict[Hashable, int] = {
        (service, month, column): counts.get((service, month, column), 0)
        for service, month in rows_keys
        for column in SERVICE_COUNTS
    }
    totals: list[tuple[Hashable, Sequence[Hashable]]] = []
    for service, month in rows_keys:  # a row's completions by channel
        totals.append(
            (
                (service, month, "completed"),
                [(service, month, f"completed_{c}") for c in ("online", "assisted", "counter")],
            )
        )
    for month in months:  # each month's services add up to its "all services" row
        services = [s for s, m in keys if m == month]
        for column in SERVICE_COUNTS:
            totals.append(((ALL_SERVICES, month, column), [(s, month, column) for s in services]))
    hidden = suppress(values, totals, keep=_published_in_service_kpis())
    rows = []
    for service, month in sorted(rows_keys, key=lambda k: (k[1], k[0] == ALL_SERVICES, k[0])):
        title, department, _sla = labels.get(service, (service, "", None))
        if service == ALL_SERVICES:
            title, department = _text(_("All services")), ""
        row: dict[str, Any] = {
            "month": month,
            "service": service,
            "service_title": title,
            "department": department,
        }
        for column in SERVICE_COUNTS:
            key = (service, month, column)
            row[column] = _count(values[key], key in hidden)
        # Figures derived from the decisions need enough of them; a count hidden only for
        # a total ([c]) is not small, and a median or a share does not give it back.
        decided_hidden = values[(service, month, "decided")] < threshold()
        histogram = days.get((service, month), {})
        row["median_days_to_decision"] = None if decided_hidden else nearest_rank(histogram, 0.5)
        row["p90_days_to_decision"] = None if decided_hidden else nearest_rank(histogram, 0.9)
        share = None
        if not decided_hidden and timed.get((service, month)):
            share = round(within[(service, month)] / timed[(service, month)], 3)
        row["share_decided_within_target"] = share
        rows.append(row)
    fields = [
        plain_field(
            "month",
            "date",
            _("Month"),
            _("The first day of the calendar month the figures are for."),
            required=True,
        ),
        plain_field(
            "service",
            "string",
            _("Service"),
            _("The service's short name; “all” for the total of every service in the month."),
            required=True,
        ),
        plain_field("service_title", "string", _("Service title"), _("The service's name.")),
        plain_field(
            "department",
            "string",
            _("Department"),
            _("The department that provides the service (its short name)."),
        ),
        count_field("started", _("Started"), _("Applications started online or with help.")),
        count_field(
            "completed", _("Completed"), _("Applications completed and sent in the month.")
        ),
        count_field(
            "completed_online", _("Completed online"), _("Applications sent by the applicant.")
        ),
        count_field(
            "completed_assisted",
            _("Completed with help"),
            _("Applications sent for the applicant by a helper (assisted digital)."),
        ),
        count_field(
            "completed_counter",
            _("Completed at a counter"),
            _("Applications entered by staff from a paper form at a counter."),
        ),
        count_field("decided", _("Decided"), _("Applications decided in the month.")),
        plain_field(
            "median_days_to_decision",
            "integer",
            _("Median working days to a decision"),
            _(
                "Half of the month's decisions took this many working days or fewer from "
                "the application (nearest rank; pauses waiting for the applicant "
                "included). Empty when fewer than 10 were decided."
            ),
        ),
        plain_field(
            "p90_days_to_decision",
            "integer",
            _("90th percentile of working days to a decision"),
            _(
                "Nine in ten of the month's decisions took this many working days or fewer "
                "(nearest rank). Empty when fewer than 10 were decided."
            ),
        ),
        plain_field(
            "share_decided_within_target",
            "number",
            _("Share decided within the target"),
            _(
                "The share (0 to 1) of the month's decisions made within the service's "
                "target time in working days. Empty when the service has no target or "
                "fewer than 10 were decided."
            ),
        ),
    ]
    return Table(fields, rows, primary_key=["month", "service"])


def street_reports_table() -> Table:
    """Every public street report: category, ward, location rounded to 3 decimals (about
    100 m), the dates it was reported and closed, and its public status."""
    from ecitizen.reports.selectors import reports_public_records
    from ecitizen.reports.services import categories

    labels = {}
    with translation.override(settings.LANGUAGE_CODE):
        for category in categories():
            labels[category.code] = (category.title(), category.spec)
    rows = []
    for record in reports_public_records():
        title, spec = labels.get(record.category, (record.category, None))
        with translation.override(settings.LANGUAGE_CODE):
            state_label = spec.state_label(record.state) if spec else record.state
        rows.append(
            {
                "category": record.category,
                "category_title": title,
                "ward": record.ward_code or None,
                "latitude": round(record.latitude, 3),
                "longitude": round(record.longitude, 3),
                "reported": record.reported_at.astimezone(_zone()).date().isoformat(),
                "closed": record.closed_at.astimezone(_zone()).date().isoformat()
                if record.closed_at
                else None,
                "status": "open" if record.is_open else "closed",
                "state": state_label,
            }
        )
    fields = [
        plain_field(
            "category",
            "string",
            _("Category"),
            _("The kind of problem (its short name, as in the Open311 API)."),
            required=True,
        ),
        plain_field("category_title", "string", _("Category title"), _("The kind of problem.")),
        plain_field(
            "ward", "string", _("Ward"), _("The ward the problem is in (its code), if known.")
        ),
        plain_field(
            "latitude",
            "number",
            _("Latitude"),
            _("Where the problem is, rounded to 3 decimal places (about 100 metres)."),
            required=True,
        ),
        plain_field(
            "longitude",
            "number",
            _("Longitude"),
            _("Where the problem is, rounded to 3 decimal places (about 100 metres)."),
            required=True,
        ),
        plain_field(
            "reported", "date", _("Reported"), _("The day it was reported."), required=True
        ),
        plain_field(
            "closed", "date", _("Closed"), _("The day it was first closed; empty while open.")
        ),
        plain_field("status", "string", _("Status"), _("“open” or “closed”."), required=True),
        plain_field(
            "state", "string", _("Progress"), _("Where the report stands, as its page says.")
        ),
    ]
    return Table(fields, rows)


def _zone() -> Any:
    from django.utils import timezone

    return timezone.get_current_timezone()


def information_requests_table() -> Table:
    """Every freedom-of-information request: its reference (as in the archive of released
    information), when it was received and answered, how long it took on the statutory
    clock, its outcome, and how many records were published from it."""
    from ecitizen.cases.selectors import information_requests
    from ecitizen.catalogue.selectors import service_spec, services_published

    specs = {s.slug: service_spec(s) for s in services_published(listed=None)}
    rows = []
    for request in information_requests():
        spec = specs.get(request.service_slug)
        with translation.override(settings.LANGUAGE_CODE):
            label = spec.state_label(request.state) if spec else request.state
        target = spec.sla_business_days if spec else None
        decided = request.decided is not None
        rows.append(
            {
                "reference": request.reference,
                "received": request.received.isoformat(),
                "answered": request.decided.isoformat() if request.decided else None,
                "working_days": request.sla_days_used if decided else None,
                "within_deadline": (request.sla_days_used <= target)
                if decided and target is not None
                else None,
                "state": request.state,
                "state_title": label,
                "outcome": request.outcome or None,
                "records_published": request.records_published,
            }
        )
    fields = [
        plain_field(
            "reference",
            "string",
            _("Reference"),
            _("The request's reference, as in the archive of released information."),
            required=True,
        ),
        plain_field(
            "received", "date", _("Received"), _("The day the request arrived."), required=True
        ),
        plain_field(
            "answered",
            "date",
            _("Answered"),
            _("The day of the answer (or of the withdrawal); empty while open."),
        ),
        plain_field(
            "working_days",
            "integer",
            _("Working days"),
            _(
                "Working days on the statutory clock until the answer; time waiting for "
                "the requester to clarify does not count."
            ),
        ),
        plain_field(
            "within_deadline",
            "boolean",
            _("Within the deadline"),
            _("Whether the answer came within the legal deadline (20 working days)."),
        ),
        plain_field("state", "string", _("State"), _("Where the request stands (a code).")),
        plain_field("state_title", "string", _("State title"), _("Where the request stands.")),
        plain_field(
            "outcome",
            "string",
            _("Outcome"),
            _("approved (released in full or in part), refused, or withdrawn; empty while open."),
        ),
        plain_field(
            "records_published",
            "integer",
            _("Records published"),
            _(
                "How many documents released for the request are in the public archive "
                "(a number of documents, not of people: not suppressed)."
            ),
        ),
    ]
    return Table(fields, rows, primary_key=["reference"])


def _money(amount_minor: int | None) -> str | None:
    from ecitizen.payments.money import from_minor

    return None if amount_minor is None else str(from_minor(amount_minor))


def _department_names() -> Mapping[str, str]:
    from ecitizen.opendata.selectors import facet_labels

    with translation.override(settings.LANGUAGE_CODE):
        return facet_labels()["organization"]


def revenue_table() -> Table:
    """Money received per department, kind of bill and month (successful payments), with
    what was refunded; amounts withheld where the number of payments is suppressed."""
    from ecitizen.payments.selectors import BillKind, refunds_monthly, revenue_monthly

    kinds = {code: _text(label) for code, label in BillKind.choices}
    departments = _department_names()
    received = {(r.department_slug, r.kind, r.currency, r.month): r for r in revenue_monthly()}
    refunded = {(r.department_slug, r.kind, r.currency, r.month): r for r in refunds_monthly()}
    limit = threshold()
    rows = []
    for key in sorted(set(received) | set(refunded), key=lambda k: (k[3], k[0], k[1], k[2])):
        department, kind, currency, month = key
        payments = received[key].count if key in received else 0
        hidden = payments < limit
        amount = received[key].amount_minor if key in received else 0
        refund = refunded[key].amount_minor if key in refunded else 0
        rows.append(
            {
                "month": _month(month),
                "department": department,
                "department_name": departments.get(department, department),
                "fee_type": kind,
                "fee_type_title": kinds.get(kind, kind),
                "currency": currency,
                "payments": _count(payments, hidden),
                "amount_received": None if hidden else _money(amount),
                "amount_refunded": None if hidden else _money(refund),
                "net_amount": None if hidden else _money(amount - refund),
            }
        )
    money = _("In the currency's major units (pounds, not pence).")
    fields = [
        plain_field("month", "date", _("Month"), _("The first day of the month."), required=True),
        plain_field(
            "department",
            "string",
            _("Department"),
            _("The department the money is for (its short name)."),
            required=True,
        ),
        plain_field("department_name", "string", _("Department name"), _("Its name.")),
        plain_field(
            "fee_type",
            "string",
            _("Fee type"),
            _("fee (a service fee), property_tax, fine, invoice or adjustment."),
            required=True,
        ),
        plain_field("fee_type_title", "string", _("Fee type title"), _("The kind of bill.")),
        plain_field(
            "currency", "string", _("Currency"), _("ISO 4217 currency code."), required=True
        ),
        count_field("payments", _("Payments"), _("Successful payments in the month.")),
        plain_field(
            "amount_received",
            "number",
            _("Amount received"),
            _text(_("Paid in the month.")) + " " + _text(money) + " " + _text(_WITHHELD),
        ),
        plain_field(
            "amount_refunded",
            "number",
            _("Amount refunded"),
            _text(_("Refunded in the month.")) + " " + _text(money) + " " + _text(_WITHHELD),
        ),
        plain_field(
            "net_amount",
            "number",
            _("Net amount"),
            _text(_("Received less refunded.")) + " " + _text(money) + " " + _text(_WITHHELD),
        ),
    ]
    return Table(fields, rows, primary_key=["month", "department", "fee_type", "currency"])


_WITHHELD = _("Empty when the number of payments is suppressed.")


def property_tax_table() -> Table:
    """Property tax per tax year and ward: properties billed, the amount billed
    (adjustments included) and collected (net of refunds), and the collection rate;
    amounts withheld where the number of properties is suppressed."""
    from ecitizen.taxes.selectors import property_tax_by_ward_year

    wards = _ward_names()
    limit = threshold()
    rows = []
    for item in property_tax_by_ward_year():
        hidden = item.properties < limit
        rate = (
            round(item.collected_minor / item.billed_minor, 3)
            if item.billed_minor > 0 and not hidden
            else None
        )
        rows.append(
            {
                "year": item.year,
                "ward": item.ward_code,
                "ward_name": wards.get(item.ward_code, item.ward_code),
                "properties_billed": _count(item.properties, hidden),
                "amount_billed": None if hidden else _money(item.billed_minor),
                "amount_collected": None if hidden else _money(item.collected_minor),
                "collection_rate": rate,
            }
        )
    withheld = _("Empty when the number of properties is suppressed.")
    money = _("In the currency's major units.")
    fields = [
        plain_field("year", "integer", _("Tax year"), _("The tax year."), required=True),
        plain_field("ward", "string", _("Ward"), _("The ward (its code)."), required=True),
        plain_field("ward_name", "string", _("Ward name"), _("The ward's name.")),
        count_field(
            "properties_billed", _("Properties billed"), _("Properties billed for the year.")
        ),
        plain_field(
            "amount_billed",
            "number",
            _("Amount billed"),
            _text(_("Billed for the year, adjustments included."))
            + " "
            + _text(money)
            + " "
            + _text(withheld),
        ),
        plain_field(
            "amount_collected",
            "number",
            _("Amount collected"),
            _text(_("Paid for those bills so far, net of refunds."))
            + " "
            + _text(money)
            + " "
            + _text(withheld),
        ),
        plain_field(
            "collection_rate",
            "number",
            _("Collection rate"),
            _text(_("Collected divided by billed (0 to 1).")) + " " + _text(withheld),
        ),
    ]
    return Table(fields, rows, primary_key=["year", "ward"])


def service_kpis_table() -> Table:
    """The public performance page's figures for every month that has ended: per
    published, listed service and month, the transactions and the four KPIs (cost per
    transaction, user satisfaction, completion rate, digital take-up), read from
    ``insights.performance`` — the same figures, suppressed by the same rule and the
    same threshold as every dataset (:func:`threshold`: a count below it reads ``<10``,
    a rate built from a small count ``[c]``, a figure not measured ``[x]``; those marks
    are the schema's missing values)."""
    from ecitizen.insights import performance

    with translation.override(settings.LANGUAGE_CODE):
        rows = [performance.record(row) for row in performance.performance_rows()]
    limit = performance.small_count_threshold()
    marks = _text(performance.marks_explanation())
    fields = []
    for column in performance.COLUMNS:
        if column.count:
            found: dict[str, Any] = {
                "name": column.name,
                "type": "string",
                "title": _text(column.title),
                "description": _text(column.description)
                + " "
                + _text(_("Counts below %(limit)d are shown as “%(mark)s”."))
                % {"limit": limit, "mark": performance.suppressed_count_label()},
                "constraints": {"required": True, "pattern": rf"^([0-9]+|<{limit})$"},
            }
        else:
            found = plain_field(
                column.name,
                column.type,
                column.title,
                column.description,
                required=column.required,
            )
            if column.type == "number":
                found["description"] += " " + marks
        fields.append(found)
    return Table(
        fields,
        rows,
        primary_key=["month", "service"],
        missing_values=("", performance.SUPPRESSED_MARK, performance.UNAVAILABLE_MARK),
    )


def participatory_budgets_table() -> Table:
    """Every project on the ballot of a participatory budget whose results are published:
    its process, heading, number, title and cost, its votes, whether each counting method
    chose it and whether the budget's own method did (what was funded), its delivery, and
    the address of its heading's anonymised ballots (Pabulib). Read through participation's
    selectors: the results pages' figures.

    Votes are not suppressed: the public results page shows them, and the heading's
    ballots are published whole (anonymised) in the Pabulib file, from which anyone counts
    them again."""
    from django.http import Http404
    from django.urls import reverse

    from ecitizen.participation.selectors.budgets import (
        budget_public_or_404,
        method_key,
        results_of,
    )
    from ecitizen.participation.selectors.processes import processes_published

    base = str(settings.PUBLIC_BASE_URL).rstrip("/")
    rows = []
    with translation.override(settings.LANGUAGE_CODE):
        for process in processes_published().order_by("slug"):
            try:
                budget = budget_public_or_404(process.slug)
            except Http404:
                continue  # a process without a budget
            if budget.results_published_at is None:
                continue
            own = method_key(budget)
            published = budget.results_published_at.astimezone(_zone()).date().isoformat()
            for heading in results_of(budget):
                place = heading.heading
                ballots_file = base + reverse(
                    "participation:budget_pabulib",
                    kwargs={"slug": process.slug, "heading": place.slug},
                )
                for row in sorted(heading.rows, key=lambda r: r.project.number):
                    project = row.project
                    rows.append(
                        {
                            "process": process.slug,
                            "process_title": process.tr("title"),
                            "heading": place.slug,
                            "heading_name": place.tr("name"),
                            "ward": place.ward.code if place.ward else None,
                            "heading_amount": str(place.amount),
                            "project": project.number,
                            "title": project.tr("title"),
                            "cost": str(project.cost),
                            "votes": row.votes,
                            "ballots": heading.ballots,
                            "selected_greedy": row.chosen.get("greedy", False),
                            "selected_equal_shares": row.chosen.get("equal_shares", False),
                            "selected_equal_shares_add1": row.chosen.get(
                                "equal_shares_add1", False
                            ),
                            "method": own,
                            "selected": row.selected,
                            "delivery": project.delivery if row.selected else None,
                            "results_published": published,
                            "ballots_file": ballots_file,
                        }
                    )
    money = _("In the currency's major units.")
    fields = [
        plain_field(
            "process",
            "string",
            _("Process"),
            _("The participatory process (its short name, as in its web address)."),
            required=True,
        ),
        plain_field("process_title", "string", _("Process title"), _("The process's name.")),
        plain_field(
            "heading",
            "string",
            _("Heading"),
            _(
                "The part of the budget the project is in (its short name): a ward's, or "
                "the whole authority's. Each heading is counted on its own."
            ),
            required=True,
        ),
        plain_field("heading_name", "string", _("Heading name"), _("The heading's name.")),
        plain_field(
            "ward", "string", _("Ward"), _("The heading's ward (its code); empty: the whole area.")
        ),
        plain_field(
            "heading_amount",
            "number",
            _("Heading amount"),
            _text(_("The money the heading had to spend.")) + " " + _text(money),
            required=True,
        ),
        plain_field(
            "project",
            "integer",
            _("Project number"),
            _("The project's number in its budget (its id in the Pabulib file)."),
            required=True,
        ),
        plain_field("title", "string", _("Project title"), _("The project's name.")),
        plain_field(
            "cost",
            "number",
            _("Cost"),
            _text(_("The project's cost after the feasibility review.")) + " " + _text(money),
            required=True,
        ),
        plain_field(
            "votes",
            "integer",
            _("Votes"),
            _(
                "The ballots that chose the project. Not suppressed: the results page shows "
                "them, and the heading's anonymised ballots are published whole."
            ),
            required=True,
        ),
        plain_field(
            "ballots",
            "integer",
            _("Ballots in the heading"),
            _("How many people voted in the heading (one ballot each, the last one counts)."),
            required=True,
        ),
        plain_field(
            "selected_greedy",
            "boolean",
            _("Chosen by greedy"),
            _(
                "Whether counting by most votes first, each project taken when its cost "
                "still fits in the money left, chooses the project."
            ),
            required=True,
        ),
        plain_field(
            "selected_equal_shares",
            "boolean",
            _("Chosen by equal shares"),
            _(
                "Whether the Method of Equal Shares chooses the project: each voter has an "
                "equal share of the heading's money, and a project is bought when its "
                "supporters' shares can pay for it."
            ),
            required=True,
        ),
        plain_field(
            "selected_equal_shares_add1",
            "boolean",
            _("Chosen by equal shares, completed"),
            _(
                "Whether equal shares with its completion chooses the project: the shares "
                "raised step by step while the outcome fits the budget, then the money "
                "left given by most votes."
            ),
            required=True,
        ),
        plain_field(
            "method",
            "string",
            _("Counting method"),
            _(
                "The method the budget used, chosen by its organiser before the vote: "
                "greedy, equal_shares or equal_shares_add1 (completed)."
            ),
            required=True,
        ),
        plain_field(
            "selected",
            "boolean",
            _("Funded"),
            _("Whether the budget's own method chose the project: it is funded."),
            required=True,
        ),
        plain_field(
            "delivery",
            "string",
            _("Delivery"),
            _(
                "Where a funded project's delivery stands: not_started, design, procurement, "
                "works, done or cancelled; empty for a project not funded."
            ),
        ),
        plain_field(
            "results_published",
            "date",
            _("Results published"),
            _("The day the budget's results were published."),
            required=True,
        ),
        plain_field(
            "ballots_file",
            "string",
            _("Ballots file"),
            _(
                "Where the heading's anonymised ballots are published, as a Pabulib file "
                "(pabulib.org): each voter numbered at random, with the projects chosen."
            ),
            required=True,
        ),
    ]
    return Table(fields, rows, primary_key=["process", "project"])


def _ward_names() -> dict[str, str]:
    from ecitizen.accounts.selectors import jurisdictions_by_code

    return {code: ward.name for code, ward in jurisdictions_by_code().items()}


def _service_kpis_description() -> str:
    from ecitizen.insights.performance import small_count_threshold

    return _(
        "For each of the city's services and each month that has ended: the number of "
        "transactions, the cost per transaction, user satisfaction, the completion rate "
        "and digital take-up — the figures of the public performance page. A figure "
        "built from fewer than %(limit)d people is not published: a count reads "
        "“<%(limit)d”, a rate or a cost “[c]”; a figure not measured that month (no "
        "costs entered, no ratings) reads “[x]”. Published automatically by the platform "
        "every day."
    ) % {"limit": small_count_threshold()}


DATASETS: tuple[PlatformDataset, ...] = (
    PlatformDataset(
        slug="service-performance",
        department="communications",
        title=_("Online services: use and time to a decision, by month"),
        description=_(
            "For each of the city's services and each month: how many applications were "
            "started, completed (online, with a helper, or at a counter) and decided, how "
            "long decisions took in working days (median and 90th percentile) and the share "
            "decided within the service's target. Counts below 10 are shown as “<10”, and "
            "enough others are hidden that the monthly totals cannot reveal them. Published "
            "automatically by the platform every day from its own records."
        ),
        resource_title=_("Service performance by month (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("GOVE",),
        keywords=("services", "performance", "digital take-up", "statistics"),
        frequency="MONTHLY",
        build=services_table,
    ),
    PlatformDataset(
        slug="street-reports",
        department="public-works",
        title=_("Street problems reported"),
        description=_(
            "Every street problem reported to the city and shown on its public map: the "
            "category, ward, location rounded to about 100 metres, the days it was reported "
            "and closed, and where it stands. Nothing about who reported it. Published "
            "automatically by the platform every day."
        ),
        resource_title=_("Street reports (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("REGI", "TRAN"),
        keywords=("street reports", "potholes", "fly-tipping", "open311"),
        frequency="MONTHLY",
        build=street_reports_table,
    ),
    PlatformDataset(
        slug="foi-requests",
        department="communications",
        title=_("Freedom of information requests and their outcomes"),
        description=_(
            "Every freedom of information request the city received: when it arrived and "
            "was answered, how many working days it took, whether the legal deadline was "
            "met, the outcome, and how many released documents are in the public archive. "
            "Nothing about who asked or what they asked for. Published automatically by "
            "the platform every day."
        ),
        resource_title=_("Freedom of information requests (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("GOVE", "JUST"),
        keywords=("foi", "freedom of information", "transparency"),
        frequency="MONTHLY",
        build=information_requests_table,
    ),
    PlatformDataset(
        slug="revenue-by-month",
        department="revenue",
        title=_("Money received by department, type of fee and month"),
        description=_(
            "Payments received by the city through its online services, per department, "
            "type of fee (service fees, property tax, fines...) and month, with refunds. "
            "Where a month had fewer than 10 payments of a kind, the number is shown as "
            "“<10” and the amounts are left empty. Published automatically by the platform "
            "every day."
        ),
        resource_title=_("Revenue by month (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("ECON", "GOVE"),
        keywords=("revenue", "payments", "fees", "fines", "finance"),
        frequency="MONTHLY",
        build=revenue_table,
    ),
    PlatformDataset(
        slug="property-tax-by-ward",
        department="revenue",
        title=_("Property tax billed and collected by ward"),
        description=_(
            "For each tax year and ward: how many properties were billed, the amount billed "
            "(adjustments included), the amount collected so far and the collection rate. "
            "Wards with fewer than 10 properties billed show “<10” and no amounts. "
            "Published automatically by the platform every day."
        ),
        resource_title=_("Property tax by ward and year (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("ECON", "REGI"),
        keywords=("property tax", "council tax", "collection", "wards"),
        frequency="ANNUAL",
        build=property_tax_table,
    ),
    PlatformDataset(
        slug="service-kpis",
        department="communications",
        title=_("Service performance indicators (KPIs)"),
        description=lazy(_service_kpis_description, str)(),
        resource_title=_("Service performance indicators by month (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("GOVE",),
        keywords=(
            "services",
            "performance",
            "kpi",
            "cost per transaction",
            "user satisfaction",
            "completion rate",
            "digital take-up",
        ),
        frequency="MONTHLY",
        build=service_kpis_table,
    ),
    PlatformDataset(
        slug="participatory-budget-results",
        department="communications",
        title=_("Participatory budgets: the projects, the votes and the winners"),
        description=_(
            "Every project residents voted on in the city's participatory budgets whose "
            "results are published: its ward heading, cost and votes, whether the usual "
            "count (most votes first, “greedy”) and the Method of Equal Shares (with and "
            "without its completion) would choose it, which of them the budget used, and "
            "how the funded projects' delivery stands. Each heading's anonymised ballots are "
            "published as a Pabulib file, at /participate/<process>/budget/pabulib/"
            "<heading>.pb (the address is in the column ballots_file), so anyone can count "
            "them again. Published automatically by the platform every day."
        ),
        resource_title=_("Participatory budget results by project (CSV)"),
        licence_id="OGL-UK-3.0",
        themes=("GOVE", "REGI"),
        keywords=(
            "participatory budgeting",
            "participation",
            "votes",
            "method of equal shares",
            "pabulib",
        ),
        frequency="ANNUAL",
        build=participatory_budgets_table,
    ),
)


# --- publishing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a refresh did to one dataset: ``created``, ``updated``, ``unchanged`` or
    ``skipped`` (its department does not exist), with the number of rows."""

    slug: str
    action: str
    rows: int
    revision: int = 0


def _process(resource: Any) -> None:
    """Check the file now (and load it into the DataStore) when the caller's transaction
    has not committed yet: the dataset is published in the same run, which needs the
    check's outcome. Outside a transaction the upload's own on-commit processing already
    ran, and this does nothing (``resource_process`` is idempotent)."""
    from ecitizen.opendata import services

    services.resource_process(resource_id=str(resource.id))


def dataset_refresh(definition: PlatformDataset) -> Outcome:
    """Build one dataset's table and publish it: create the dataset the first time, else
    replace its file if (and only if) the file's checksum changed, and keep its
    catalogue fields as the code says (no revision when nothing changed)."""
    from django.db import transaction

    from ecitizen.accounts.selectors import department_by_slug
    from ecitizen.opendata import services
    from ecitizen.opendata.selectors import datasets_by_source_key

    department = department_by_slug(slug=definition.department)
    if department is None:
        return Outcome(definition.slug, "skipped", 0)
    table = definition.build()
    content = table.content()
    checksum = hashlib.sha256(content).hexdigest()
    resource_names = _texts(definition.resource_title)
    with transaction.atomic():
        dataset = datasets_by_source_key(prefix=definition.source_key).get(definition.source_key)
        if dataset is None:
            dataset = services.dataset_create(
                actor=None,
                department=department,
                fields=definition.fields(),
                source_key=definition.source_key,
            )
            resource = services.resource_add(
                actor=None,
                dataset=dataset,
                filename=definition.filename,
                content=content,
                names=resource_names,
                schema=table.schema,
            )
            action = "created"
        else:
            dataset = services.dataset_update(
                actor=None, dataset=dataset, fields=_changeable(definition)
            )
            first = dataset.resources.order_by("position", "created").first()
            if first is None:
                resource = services.resource_add(
                    actor=None,
                    dataset=dataset,
                    filename=definition.filename,
                    content=content,
                    names=resource_names,
                    schema=table.schema,
                )
                action = "updated"
            elif first.checksum == checksum:
                resource, action = first, "unchanged"
            else:
                resource = services.resource_replace(
                    actor=None,
                    resource=first,
                    filename=definition.filename,
                    content=content,
                    schema=table.schema,
                )
                action = "updated"
    if action != "unchanged":
        _process(resource)
    dataset.refresh_from_db()
    if dataset.state == dataset.State.DRAFT:
        dataset = services.dataset_publish(actor=None, dataset=dataset)
    return Outcome(definition.slug, action, len(table.rows), dataset.revision)


def _changeable(definition: PlatformDataset) -> dict[str, Any]:
    fields = definition.fields()
    fields.pop("name")
    return fields


def publish_all(definitions: Iterable[PlatformDataset] = DATASETS) -> list[Outcome]:
    """Refresh every platform dataset (the job ``opendata.publish``). Idempotent."""
    return [dataset_refresh(definition) for definition in definitions]
