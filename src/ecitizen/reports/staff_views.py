"""Officials' pages of street reports.

Reports are cases (ADR 0015): officials work them in the case queue and on the staff case
page, where this app adds a panel (:func:`case_panel_context`,
``reports/staff/_case_panel.html``) with what only a report has — where it is, its
photos, supporters, merged duplicates and public updates — and the forms below.

Every page names its capability (``staff_only``) and checks the remit of the report's
case: the department and the ward of one of the official's role assignments holding that
capability. Anything outside it is 404, like a report that does not exist. A report whose
case has not opened yet (an anonymous reporter who has not confirmed) is in no queue and
on none of these pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecitizen.accounts.models import Jurisdiction, User
from ecitizen.accounts.selectors import jurisdictions_by_code, remit_covers, remit_filter
from ecitizen.cases import services as cases
from ecitizen.cases.selectors import case_defined_with, case_get_for_staff
from ecitizen.catalogue.spec import localised
from ecitizen.core.access import staff_only
from ecitizen.core.errors import DomainError
from ecitizen.documents.http import upload_response
from ecitizen.reports import selectors, services
from ecitizen.reports.maps import map_settings
from ecitizen.reports.models import ApiClient, Report, ReportPhoto
from ecitizen.reports.staff_forms import (
    ApiClientForm,
    BulkActionForm,
    HideForm,
    MergeForm,
    PhotoHideForm,
)

LIST_PAGE_SIZE = 50
#: The session key under which a new app's key waits for the page that shows it once.
NEW_KEY_SESSION = "reports.new_api_key"
#: The session key under which the outcome of a bulk update waits for its page.
BULK_SESSION = "reports.bulk_outcome"
#: Thumbnails on the case page: small enough for a phone's screen.
THUMBNAIL_WIDTH = 200


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _posted(request: HttpRequest) -> QueryDict | None:
    """The form's data on POST (even empty, so that it is validated); nothing on GET."""
    return request.POST if request.method == "POST" else None


# --- reads within the official's remit ----------------------------------------------------


def _reports_in_remit(user: User) -> QuerySet[Report]:
    """Reports whose case the official may work (``cases.work``): each role assignment
    contributes its department and, when ward-limited, its ward, as the case queue does."""
    return Report.objects.filter(case__isnull=False).filter(
        remit_filter(
            user, cases.CASES_WORK, department_field="case__department", ward_field="case__ward"
        )
    )


def _report_for_staff(user: User, reference: str, capability: str) -> Report:
    """The report with this reference, if the official may use ``capability`` on its
    case; 404 otherwise (outside the remit, not opened yet, or no such report).

    ``cases.work`` is the case engine's own check (:func:`case_get_for_staff`: the
    service's department, or one an action names, and the ward); another capability is
    checked against the case's department and ward. A reference typed in lower case is
    found too (references are written in capitals), through the unique index."""
    typed = reference.strip()
    report = (
        Report.objects.select_related("case", "ward", "merged_into", "api_client")
        .filter(reference__in={typed, typed.upper()}, case__isnull=False)
        .first()
    )
    if report is None or report.case is None:
        raise Http404
    if capability == cases.CASES_WORK:
        # The case as the case engine reads it for staff (its service version, applicant...).
        report.case = case_get_for_staff(user=user, reference=report.case.reference)
    elif not remit_covers(
        user, capability, departments=report.case.department_id, ward_id=report.case.ward_id
    ):
        raise Http404
    return report


def _photo_for_staff(user: User, reference: str, photo_id: int, capability: str) -> ReportPhoto:
    report = _report_for_staff(user, reference, capability)
    photo = report.photos.select_related("original").filter(pk=photo_id).first()
    if photo is None:
        raise Http404
    photo.report = report
    return photo


def _may_moderate(user: User, report: Report) -> bool:
    case = report.case
    return case is not None and remit_covers(
        user, services.REPORTS_MODERATE, departments=case.department_id, ward_id=case.ward_id
    )


def _public_url(report: Report) -> str:
    """The report's public page, while it is public and the public pages exist."""
    if not report.is_public or not report.reference:
        return ""
    try:
        return reverse("reports:detail", args=[report.reference])
    except NoReverseMatch:
        return ""


def _osm_url(report: Report) -> str:
    lat, lon = f"{report.latitude:.6f}", f"{report.longitude:.6f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


# --- the panel on the staff case page ----------------------------------------------------------


def case_panel_context(context: Any) -> dict[str, Any]:
    """The variables of ``reports/staff/_case_panel.html`` on the staff case page: the
    case's report (``None`` for a case that is not a street report, and the panel shows
    nothing) and what the panel lists and offers.

    Precondition: the page showing ``case`` has checked that the official may work it
    (the staff case page reads it with ``case_get_for_staff``).
    """
    case = context.get("case")
    request = context.get("request")
    # A case opened under a definition without the report block is no street report's.
    if case is None or request is None or not case_defined_with(case, services.EXTENSION):
        return {"report": None}
    report = selectors.report_of_case(case_id=case.pk)
    if report is None:
        return {"report": None}
    user = _user(request)
    category = _categories().get(report.category)
    photos = [
        {
            "photo": photo,
            "number": index,
            "height": round(THUMBNAIL_WIDTH * photo.height / photo.width) if photo.width else 0,
            "form": PhotoHideForm(prefix=f"photo-{photo.pk}"),
        }
        for index, photo in enumerate(report.photos.all(), start=1)
    ]
    updates = [
        {
            "update": update,
            "status": category.spec.state_label(update.state) if category else update.state,
        }
        for update in report.updates.all()
    ]
    return {
        "report": report,
        "report_category": category.title() if category else report.category,
        "report_photos": photos,
        "report_updates": updates,
        "report_merged": list(
            report.merged.order_by("reference").values_list("reference", flat=True)
        ),
        "report_public_url": _public_url(report),
        "report_osm_url": _osm_url(report),
        "report_pin": f"{report.latitude},{report.longitude}",
        "map": map_settings(),
        "report_may_moderate": _may_moderate(user, report),
        "report_hide_form": HideForm(prefix="hide"),
        "report_merge_form": MergeForm(prefix="merge"),
        "thumbnail_width": THUMBNAIL_WIDTH,
    }


# --- photos --------------------------------------------------------------------------------


@staff_only(cases.CASES_WORK)
def report_photo(request: HttpRequest, report: str, photo_id: int) -> HttpResponse:
    """The original of a report's photo (metadata stripped, full size), for officials who
    may work its case, opened in the browser."""
    photo = _photo_for_staff(_user(request), report, photo_id, cases.CASES_WORK)
    return upload_response(photo.original, inline=True)


# --- hiding from the public ------------------------------------------------------------------


@staff_only(services.REPORTS_MODERATE)
def report_hide(request: HttpRequest, report: str) -> HttpResponse:
    """Take a report off the public pages and Open311, with the reason (audited). It
    stays in the queue."""
    found = _report_for_staff(_user(request), report, services.REPORTS_MODERATE)
    form = HideForm(_posted(request), prefix="hide")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and found.hidden_at is None:
            try:
                services.report_hide(
                    report=found, reason=form.cleaned_data["reason"], actor=_user(request)
                )
            except DomainError as error:
                form.add_error("reason", str(error.message))
                status = 409
            else:
                messages.success(
                    request,
                    _("Report %(reference)s is hidden from the public.")
                    % {"reference": found.reference},
                )
                return redirect("staff:case_detail", found.case.reference)  # type: ignore[union-attr]
        elif found.hidden_at is not None:
            status = 409
    return render(
        request, "reports/staff/hide.html", {"report": found, "form": form}, status=status
    )


@staff_only(services.REPORTS_MODERATE)
def report_photo_hide(request: HttpRequest, report: str, photo_id: int) -> HttpResponse:
    """Stop showing one photo to the public (a face, a number plate), audited."""
    photo = _photo_for_staff(_user(request), report, photo_id, services.REPORTS_MODERATE)
    found = photo.report
    form = PhotoHideForm(_posted(request), prefix=f"photo-{photo.pk}")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid() and photo.hidden_at is None:
            try:
                services.report_photo_hide(
                    photo=photo, reason=form.cleaned_data["reason"], actor=_user(request)
                )
            except DomainError as error:
                form.add_error("reason", str(error.message))
                status = 409
            else:
                messages.success(
                    request,
                    _("Photo %(number)s of report %(reference)s is hidden from the public.")
                    % {"number": photo.position + 1, "reference": found.reference},
                )
                return redirect("staff:case_detail", found.case.reference)  # type: ignore[union-attr]
        elif photo.hidden_at is not None:
            status = 409
    return render(
        request,
        "reports/staff/photo_hide.html",
        {
            "report": found,
            "photo": photo,
            "number": photo.position + 1,
            "form": form,
            "thumbnail_width": THUMBNAIL_WIDTH,
            "thumbnail_height": round(THUMBNAIL_WIDTH * photo.height / photo.width)
            if photo.width
            else 0,
        },
        status=status,
    )


# --- merging duplicates ----------------------------------------------------------------------


@staff_only(cases.CASES_WORK)
def report_merge(request: HttpRequest, report: str) -> HttpResponse:
    """Fold this report into another one, given by its reference: its reporter and
    supporters follow the other report from then on. Both must be within the official's
    remit. The duplicate's case is then closed through its own workflow."""
    user = _user(request)
    duplicate = _report_for_staff(user, report, cases.CASES_WORK)
    form = MergeForm(_posted(request), prefix="merge")
    status = 200
    if request.method == "POST":
        status = 400
        if duplicate.merged_into_id is not None:
            status = 409
        elif form.is_valid():
            try:
                into = _report_for_staff(user, form.cleaned_data["into"], cases.CASES_WORK)
            except Http404:
                # The same words for a report that does not exist and one outside the
                # remit: the form must not tell which references exist.
                form.add_error(
                    "into", _("There is no report with that reference that you can work on")
                )
            else:
                try:
                    services.report_merge(duplicate=duplicate, into=into, actor=user)
                except DomainError as error:
                    form.add_error("into", str(error.message))
                    status = 409
                else:
                    messages.success(
                        request,
                        _(
                            "Report %(duplicate)s is merged into %(into)s: its reporter and "
                            "supporters now follow %(into)s. Close this case as a duplicate."
                        )
                        % {"duplicate": duplicate.reference, "into": into.reference},
                    )
                    return redirect("staff:case_detail", duplicate.case.reference)  # type: ignore[union-attr]
    return render(
        request,
        "reports/staff/merge.html",
        {"report": duplicate, "form": form},
        status=status,
    )


# --- the list of reports, and one action on several -----------------------------------------


@dataclass(frozen=True)
class ListFilters:
    category: str = ""
    state: str = ""
    ward: str = ""
    include_closed: bool = False

    @classmethod
    def from_query(cls, query: QueryDict) -> ListFilters:
        return cls(
            category=query.get("category", "")[:63],
            state=query.get("state", "")[:63],
            ward=query.get("ward", "")[:63],
            include_closed=query.get("closed") == "1",
        )


def _categories() -> dict[str, services.Category]:
    return {category.code: category for category in services.categories()}


def _state_options(categories: dict[str, services.Category]) -> list[tuple[str, str]]:
    """Every state a category has, once, named in officials' words (Riverton's
    categories share one workflow; another category's own states are added)."""
    options: dict[str, str] = {}
    for category in categories.values():
        for code in category.spec.states:
            options.setdefault(code, category.spec.staff_state_label(code))
    return list(options.items())


def _action_options(
    categories: dict[str, services.Category],
) -> tuple[list[tuple[str, str]], set[str]]:
    """The officials' actions of every category (by id, named as the first category
    names it), and those that require a reason."""
    options: dict[str, str] = {}
    reason_required: set[str] = set()
    for category in categories.values():
        for action_id, action in category.spec.actions.items():
            if action["by"].get("roles"):
                options.setdefault(action_id, localised(action["label"]))
            if action.get("reason_required"):
                reason_required.add(action_id)
    return list(options.items()), reason_required


def _bulk_form(data: QueryDict | None, categories: dict[str, services.Category]) -> BulkActionForm:
    actions, reason_required = _action_options(categories)
    return BulkActionForm(data, actions=actions, reason_required=reason_required)


def _list_page(
    request: HttpRequest,
    query: QueryDict,
    *,
    form: BulkActionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    filters = ListFilters.from_query(query)
    categories = _categories()
    reports = _reports_in_remit(user).select_related("ward")
    if not filters.include_closed:
        reports = reports.filter(is_open=True)
    if filters.category:
        reports = reports.filter(category=filters.category)
    if filters.state:
        reports = reports.filter(state=filters.state)
    if filters.ward:
        reports = reports.filter(ward__code=filters.ward)
    page = Paginator(reports.order_by("-requested_at", "-pk"), LIST_PAGE_SIZE).get_page(
        query.get("page")
    )
    rows = [
        {
            "report": report,
            "category": categories[report.category].title()
            if report.category in categories
            else report.category,
            "status": categories[report.category].spec.staff_state_label(report.state)
            if report.category in categories
            else report.state,
        }
        for report in page.object_list
    ]
    # The map's pins: the reports on this page, each opening its case.
    pins = [
        {
            "lat": row["report"].latitude,
            "lon": row["report"].longitude,
            "url": reverse("staff:case_detail", args=[row["report"].reference]),
            "title": row["report"].title,
            "reference": row["report"].reference,
            "status": str(row["status"]),
        }
        for row in rows
    ]
    filter_query = query.copy()
    filter_query.pop("page", None)
    if form is None:
        form = _bulk_form(None, categories)
        form.initial["filters"] = query.urlencode()
    return render(
        request,
        "reports/staff/list.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "categories": sorted(categories.values(), key=lambda c: c.title()),
            "states": _state_options(categories),
            "wards": [
                ward
                for ward in jurisdictions_by_code().values()
                if ward.kind == Jurisdiction.Kind.WARD
            ],
            "filter_query": filter_query.urlencode(),
            "map": map_settings(),
            "pins": pins,
            "form": form,
            # The reports ticked before a form with an error came back: still ticked.
            "selected": set(form.data.getlist("reports"))
            if isinstance(form.data, QueryDict)
            else set(),
        },
        status=status,
    )


@staff_only(cases.CASES_WORK)
def reports_list(request: HttpRequest) -> HttpResponse:
    """The reports in the official's remit, filtered by category, status and ward, newest
    first, with the form that takes one action on the reports ticked."""
    return _list_page(request, request.GET)


def _bulk_one(user: User, reference: str, action_id: str, text: str) -> tuple[bool, str]:
    """Take ``action_id`` on the case of one report: (done, what to tell the official).
    Each case moves in its own transaction (``case_transition``): a report either moves
    with its public update or not at all."""
    try:
        case = _report_for_staff(user, reference, cases.CASES_WORK).case
    except Http404:
        case = None
    if case is None:
        return False, _("Not found among the reports you can work on.")
    if not any(action["id"] == action_id for action in cases.actions_for(user, case)):
        spec = cases.spec_for(case.service_version)
        return False, _("This action is not possible now: the report is “%(status)s”.") % {
            "status": spec.staff_state_label(case.state)
        }
    try:
        moved = cases.case_transition(
            case=case, action_id=action_id, actor=user, given=cases.ActionInput(text=text)
        )
    except DomainError as error:
        return False, str(error.message)
    return True, cases.spec_for(moved.service_version).staff_state_label(moved.state)


@staff_only(cases.CASES_WORK)
@require_POST
def reports_bulk(request: HttpRequest) -> HttpResponse:
    """One workflow action, with one public update, on the case of every report ticked
    in the list ("for the same fix"). Each report succeeds or fails on its own, and the
    next page says which. A form with nothing ticked or no action shows the list again,
    with the error."""
    categories = _categories()
    form = _bulk_form(request.POST, categories)
    if not form.is_valid():
        query = QueryDict(request.POST.get("filters", "")[:500])
        return _list_page(request, query, form=form, status=400)
    user = _user(request)
    action_id = form.cleaned_data["action"]
    outcome = []
    for reference in form.cleaned_data["reports"]:
        done, said = _bulk_one(user, reference, action_id, form.cleaned_data["text"])
        outcome.append({"reference": reference, "done": done, "message": said})
    action_label = dict(form.fields["action"].choices).get(action_id, action_id)  # type: ignore[attr-defined]
    request.session[BULK_SESSION] = {
        "action": str(action_label),
        "text": form.cleaned_data["text"],
        "rows": outcome,
        "filters": form.cleaned_data["filters"],
    }
    return redirect("staff:reports_bulk_done")


@staff_only(cases.CASES_WORK)
def reports_bulk_done(request: HttpRequest) -> HttpResponse:
    """What a bulk update did, report by report (shown once; the list afterwards)."""
    outcome = request.session.pop(BULK_SESSION, None)
    if not outcome:
        return redirect("staff:reports")
    rows = outcome["rows"]
    return render(
        request,
        "reports/staff/bulk_done.html",
        {
            "outcome": outcome,
            "done": [row for row in rows if row["done"]],
            "failed": [row for row in rows if not row["done"]],
            "back_query": outcome.get("filters", ""),
        },
    )


# --- Open311 apps ------------------------------------------------------------------------------


def _client_for_staff(client_id: int) -> ApiClient:
    client = selectors.api_clients().filter(pk=client_id).first()
    if client is None:
        raise Http404
    return client


@staff_only(services.REPORTS_API_CLIENTS)
def api_clients(request: HttpRequest) -> HttpResponse:
    """The apps allowed to send reports through Open311: their key's first characters,
    when issued or revoked, and how many reports they sent in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    clients = selectors.api_clients().annotate(
        last_hour=Count("reports", filter=Q(reports__requested_at__gte=since))
    )
    return render(request, "reports/staff/api_clients.html", {"clients": clients})


@staff_only(services.REPORTS_API_CLIENTS)
def api_client_new(request: HttpRequest) -> HttpResponse:
    """Register an app and issue its key. The key is shown once, on the next page."""
    form = ApiClientForm(_posted(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                client, key = services.api_client_issue(
                    name=form.cleaned_data["name"],
                    contact_email=form.cleaned_data["contact_email"],
                    hourly_limit=form.cleaned_data["hourly_limit"],
                    actor=_user(request),
                )
            except DomainError as error:
                form.add_error("name", str(error.message))
                status = 409
            else:
                # Kept in the session only until the next page shows it (and forgets it):
                # a reload of this page's POST would otherwise issue a second key.
                request.session[NEW_KEY_SESSION] = {"client": client.pk, "key": key}
                return redirect("staff:reports_api_client_key", client.pk)
    return render(request, "reports/staff/api_client_new.html", {"form": form}, status=status)


@staff_only(services.REPORTS_API_CLIENTS)
def api_client_key(request: HttpRequest, client_id: int) -> HttpResponse:
    """The new key, once: the session forgets it as this page is shown."""
    client = _client_for_staff(client_id)
    waiting = request.session.get(NEW_KEY_SESSION) or {}
    if waiting.get("client") != client.pk:
        messages.warning(
            request,
            _(
                "The key of %(name)s was shown once, when it was issued, and cannot be shown "
                "again. If it is lost, revoke it and issue a new one."
            )
            % {"name": client.name},
        )
        return redirect("staff:reports_api_clients")
    del request.session[NEW_KEY_SESSION]
    return render(
        request, "reports/staff/api_client_key.html", {"client": client, "key": waiting["key"]}
    )


@staff_only(services.REPORTS_API_CLIENTS)
def api_client_revoke(request: HttpRequest, client_id: int) -> HttpResponse:
    """Ask, then refuse the app's key from now on (its reports stay)."""
    client = _client_for_staff(client_id)
    if request.method == "POST":
        if client.revoked_at is None:
            services.api_client_revoke(client=client, actor=_user(request))
            messages.success(
                request,
                _("The key of %(name)s is revoked: the app can no longer send reports.")
                % {"name": client.name},
            )
        return redirect("staff:reports_api_clients")
    return render(request, "reports/staff/api_client_revoke.html", {"client": client})
