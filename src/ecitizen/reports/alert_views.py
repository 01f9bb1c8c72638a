"""Email alerts of new street reports: "tell me about new reports near me".

Anyone sets one up (``alert_new``): first where — a ward, or a street or postcode from the
authority's gazetteer, or the place of a report (``?ward=``, ``?place=lat,lon``,
``?near=<reference>``; all GET, so nothing typed is lost by a search) — then the details:
how far from a place, which problems, and, for someone not signed in, an email address.
A signed-in resident with a verified address has the alert at once; anyone else follows
the emailed link (``alert_confirm``: GET shows a button, POST confirms, since mail
scanners open links). Every alert email has a one-click link that stops it
(``alert_unsubscribe``, the same GET-then-POST); residents list and stop theirs on "Your
alerts" (``alerts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecitizen.accounts.selectors import jurisdictions_by_code
from ecitizen.core.access import public, signed_in
from ecitizen.reports import geo, selectors, services
from ecitizen.reports.alert_forms import AlertForm, AlertWardForm
from ecitizen.reports.forms import SearchForm
from ecitizen.reports.journey import nearest_street, place_label

#: The session key of the address a confirmation link was just sent to (shown once).
SENT_EMAIL_KEY = "reports.alert_email"
#: A place is named by the gazetteer entry this close to it (a search result's own point).
_PLACE_MATCH_M = 5.0
#: The form field each refusal of :func:`services.report_alert_subscribe` is about.
_ERROR_FIELDS = {
    "radius_missing": "radius",
    "unknown_category": "category",
    "email_missing": "email",
    "too_many_pending": "email",
}


@dataclass(frozen=True)
class _Where:
    """Where the alert being set up looks, as the address's query names it."""

    ward_code: str = ""
    lat: float | None = None
    lon: float | None = None
    label: str = ""
    #: The query parameters that name it, kept in the page's links.
    query: dict[str, str] = field(default_factory=dict)


def _ward_label(code: str) -> str:
    """The ward's name in the active language (the name the ward file gives otherwise)."""
    jurisdiction = jurisdictions_by_code().get(code)
    return str(jurisdiction) if jurisdiction is not None else geo.area().ward_name(code)


def _place_name(lat: float, lon: float) -> str:
    """A point in words: the gazetteer's street and postcode when it is one of its places,
    else the nearest street, else its ward."""
    for place in geo.gazetteer():
        if geo.distance_m(lat, lon, place.lat, place.lon) <= _PLACE_MATCH_M:
            return place_label(place)
    street = nearest_street(lat, lon)
    if street:
        return street
    code = geo.area().ward_at(lat, lon) or ""
    return _("a point in %(ward)s ward") % {"ward": _ward_label(code)}


def _where_ward(code: str) -> tuple[_Where | None, str, str]:
    if code in geo.area().ward_codes:
        return _Where(ward_code=code, label=_ward_label(code), query={"ward": code}), "", ""
    return None, _("Select a ward"), "id_ward"


def _where_near(reference: str) -> tuple[_Where | None, str, str]:
    """Around a public report's point (the link on its page)."""
    try:
        report = selectors.report_get_public(reference=reference)
    except Http404:
        return None, _("We could not find that report. Choose a ward or a place."), "id_ward"
    label = report.address or _place_name(report.latitude, report.longitude)
    where = _Where(
        lat=report.latitude, lon=report.longitude, label=label, query={"near": reference}
    )
    return where, "", ""


def _where_place(value: str) -> tuple[_Where | None, str, str]:
    """Around a point given as "lat,lon" (a gazetteer search's result, or the list's place)."""
    lat_text, _comma, lon_text = value.partition(",")
    try:
        lat, lon = geo.parse_coordinates(lat_text, lon_text)
    except geo.GeoError as error:
        return None, error.message, "id_q"
    if not geo.area().contains(lat, lon):
        return None, geo.outside_message(), "id_q"
    query = {"place": f"{lat},{lon}"}
    return _Where(lat=lat, lon=lon, label=_place_name(lat, lon), query=query), "", ""


def _where(request: HttpRequest) -> tuple[_Where | None, str, str]:
    """Where the address's query says the alert looks, or ``(None, message, the id the
    message links to)`` (message "" when the query names no place yet)."""
    params = request.GET
    if "ward" in params:
        return _where_ward(params["ward"].strip())
    if "near" in params:
        return _where_near(params["near"].strip())
    if "place" in params:
        return _where_place(params["place"])
    return None, "", ""


def _search_hint() -> str:
    places = geo.gazetteer()
    if not places:
        return _("Enter a street name or a postcode")
    return _("For example, %(street)s or %(postcode)s") % {
        "street": places[0].street,
        "postcode": places[0].postcode,
    }


def _choose_where(request: HttpRequest, *, error: str, target: str, category: str) -> HttpResponse:
    """The first page: a ward, or a street or postcode searched for (both GET forms)."""
    wards = sorted(
        ((ward.code, _ward_label(ward.code)) for ward in geo.area().wards),
        key=lambda item: item[1].casefold(),
    )
    ward_form = AlertWardForm(request.GET if "ward" in request.GET else None, wards=wards)
    errors = []
    if ward_form.is_bound and not ward_form.is_valid():
        ward_form.govuk_error_summary_shown = True  # type: ignore[attr-defined]
        errors += [{"text": str(text), "href": "#id_ward"} for text in ward_form.errors["ward"]]
    elif error:
        errors.append({"text": error, "href": f"#{target}"})
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    extra = {"category": category} if category else {}
    places = [
        {
            "label": place_label(place),
            "ward": _ward_label(place.ward),
            "query": urlencode({"place": f"{place.lat},{place.lon}", **extra}),
        }
        for place in (geo.gazetteer_search(query) if query else [])
    ]
    return render(
        request,
        "reports/alerts/where.html",
        {
            "ward_form": ward_form,
            "errors": errors,
            "query": query,
            "places": places,
            "category": category,
            "search_hint": _search_hint(),
            "every_minutes": int(services.ALERT_EVERY.total_seconds() // 60),
        },
    )


@public
def alert_new(request: HttpRequest) -> HttpResponse:
    """Set up an email alert: where (:func:`_choose_where`), then the details. A signed-in
    resident whose address is verified goes to "Your alerts" with it set up; anyone else
    is told to check their email (a visitor is never told what alerts an address has)."""
    by_code = {category.code: category for category in services.categories()}
    category = request.GET.get("category", "")
    category = category if category in by_code else ""
    where, error, target = _where(request)
    if where is None:
        return _choose_where(request, error=error, target=target, category=category)
    anonymous = not request.user.is_authenticated
    choices = sorted(
        ((code, item.title()) for code, item in by_code.items()),
        key=lambda item: item[1].casefold(),
    )
    form = AlertForm(
        request.POST if request.method == "POST" else None,
        area=not where.ward_code,
        anonymous=anonymous,
        categories=choices,
        initial={"category": category},
    )
    if request.method == "POST" and form.is_valid():
        spec = services.AlertSpec(
            ward_code=where.ward_code,
            latitude=where.lat,
            longitude=where.lon,
            label=where.label,
            radius_m=form.cleaned_data.get("radius"),
            category=form.cleaned_data["category"],
        )
        try:
            alert = services.report_alert_subscribe(
                spec=spec,
                user=None if anonymous else request.user,
                email=form.cleaned_data.get("email", ""),
            )
        except services.ReportError as refusal:
            form.add_error(_ERROR_FIELDS.get(refusal.code), str(refusal.message))
        else:
            if anonymous or not alert.is_active:
                email = form.cleaned_data.get("email") or getattr(request.user, "email", "")
                request.session[SENT_EMAIL_KEY] = email
                return redirect("reports:alert_sent")
            messages.success(
                request,
                _("Your alert is set up: we will email you about new problems reported %(area)s.")
                % {"area": services.alert_area_text(alert)},
            )
            return redirect("reports:alerts")
    change = reverse("reports:alert_new") + (
        f"?{urlencode({'category': category})}" if category else ""
    )
    return render(
        request,
        "reports/alerts/new.html",
        {
            "form": form,
            "where": where,
            "area": not where.ward_code,
            "change_url": change,
            "signed_in": not anonymous,
            "every_minutes": int(services.ALERT_EVERY.total_seconds() // 60),
        },
    )


@public
def alert_sent(request: HttpRequest) -> HttpResponse:
    """ "Check your email": the confirmation link was sent (to the address just given)."""
    email = request.session.get(SENT_EMAIL_KEY)
    if not email:
        return redirect("reports:alert_new")
    return render(
        request,
        "reports/alerts/sent.html",
        {"email": email, "hours": services.CONFIRMATION_HOURS},
    )


@public
def alert_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link that starts an alert. GET only shows a button: mail scanners open
    links, and must not start alerts."""
    if request.method != "POST":
        return render(request, "reports/alerts/confirm.html", {})
    try:
        alert = services.report_alert_confirm(token=token)
    except services.ReportError as refusal:
        return render(
            request, "reports/alerts/confirm.html", {"error": refusal.message}, status=400
        )
    return render(
        request,
        "reports/alerts/confirmed.html",
        {
            "title": services.alert_title(alert),
            "area": services.alert_area_text(alert),
            "problems": services.alert_problems_text(alert),
            "every_minutes": int(services.ALERT_EVERY.total_seconds() // 60),
        },
    )


@public
def alert_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click link in every alert email: GET asks (mail scanners open links), POST
    stops the alert. A second click says it has stopped; a made-up link is refused."""
    try:
        alert = services.report_alert_from_link(token)
    except services.ReportError as refusal:
        return render(
            request,
            "reports/alerts/unsubscribe.html",
            {"state": "error", "error": refusal.message},
            status=400,
        )
    if alert is None:
        return render(request, "reports/alerts/unsubscribe.html", {"state": "gone"})
    context = {
        "title": services.alert_title(alert),
        "area": services.alert_area_text(alert),
        "problems": services.alert_problems_text(alert),
    }
    if request.method != "POST":
        return render(request, "reports/alerts/unsubscribe.html", {"state": "ask", **context})
    services.report_alert_unsubscribe(token=token)
    return render(request, "reports/alerts/unsubscribe.html", {"state": "done", **context})


@signed_in
def alerts(request: HttpRequest) -> HttpResponse:
    """ "Your alerts": a resident's email alerts, each with a button that stops it."""
    rows = [
        {
            "alert": alert,
            "title": services.alert_title(alert),
            "problems": services.alert_problems_text(alert),
        }
        for alert in selectors.report_alerts_for_user(user=request.user)
    ]
    return render(request, "reports/alerts/mine.html", {"rows": rows})


@signed_in
@require_POST
def alert_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    """Stop one of the resident's alerts (404 for anyone else's)."""
    alert = selectors.report_alert_get_for_user(user=request.user, public_id=public_id)
    area = services.alert_area_text(alert)
    services.report_alert_delete(alert=alert, actor=request.user)
    messages.success(
        request,
        _("You will not get alerts about new problems reported %(area)s any more.")
        % {"area": area},
    )
    return redirect("reports:alerts")
