"""Street reports for residents and the public.

"Report a problem" (GOV.UK patterns, one question per page, answers kept in the session
by :class:`~ecitizen.reports.journey.Journey` so that nothing is lost, signed in or not):
what → where (a map with JavaScript; a street or postcode search always) → "is it one
of these?" (open reports of the same kind nearby, "me too") → describe → the category's
own questions → photos → about you → check your answers → sent (or "check your email"
for a reporter who is not signed in, whose link :func:`confirm` follows).

Public pages: reports around a place (a map and an accessible list), one report, its
photos, feeds per ward and per category (``feeds.py``); and a resident's own reports.
Nothing personal is shown but the name a reporter chose to show.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.timesince import timesince
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from ecitizen.accounts.selectors import jurisdictions_by_code
from ecitizen.cases.forms import QuestionPageForm
from ecitizen.cases.services import format_answer
from ecitizen.catalogue.spec import localised
from ecitizen.core.access import public, signed_in
from ecitizen.core.errors import DomainError
from ecitizen.core.listing import Addresses, day_month_year, list_page, sentence
from ecitizen.documents.http import bytes_response
from ecitizen.documents.services import sanitise_filename, upload_read
from ecitizen.reports import geo, selectors, services
from ecitizen.reports.forms import (
    AboutYouForm,
    CategoryForm,
    DescribeForm,
    ListFilterForm,
    PhotosForm,
    SearchForm,
    ShowNameForm,
    WhereForm,
)
from ecitizen.reports.journey import (
    SENT_KEY,
    Journey,
    Located,
    nearest_street,
    photo_held,
    photo_hold,
    photo_release,
    place_label,
    place_value,
    ward_name,
)
from ecitizen.reports.maps import map_settings
from ecitizen.reports.models import Report
from ecitizen.reports.photos import PhotoError, photo_prepare
from ecitizen.reports.presentation import report_cards

LIST_PAGE_SIZE = 20
#: "Reports around a place": within this distance of the street searched for.
AROUND_RADIUS_M = 1000
#: Public photos may be cached this long (seconds): an official hiding one is obeyed
#: within that time by every cache on the way.
PHOTO_MAX_AGE = 600
#: How long a second click of "Send report" waits for the first one to finish.
SUBMIT_WAIT_SECONDS = 10
_SUBMIT_LOCK_SECONDS = 600
_SENT_KEPT = 5
#: The page to send someone to, for each error :func:`services.report_submit` can raise.
_ERROR_STEPS = {
    "unknown_category": "category",
    "outside_area": "where",
    "title_missing": "describe",
    "title_too_long": "describe",
    "description_missing": "describe",
    "description_too_long": "describe",
    "too_many_photos": "photos",
    "bad_photo": "photos",
    # The documents app's refusals of a photo's file, as report_submit passes them on.
    "wrong_type": "photos",
    "too_big": "photos",
    "empty": "photos",
}


# --- helpers ---------------------------------------------------------------------------------


def _returning(request: HttpRequest) -> bool:
    """Whether the page was opened from "check your answers" (a "Change" link)."""
    return request.GET.get("return") == "check"


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _category_or_none(code: str) -> services.Category | None:
    try:
        return services.category_get(code)
    except services.ReportError:
        return None


def _categories_by_code() -> dict[str, services.Category]:
    return {category.code: category for category in services.categories()}


def _status_label(category: services.Category | None, state: str) -> str:
    return category.spec.state_label(state) if category is not None else state


def _status_tag(report: Report | _Listed, category: services.Category | None) -> str:
    """The GOV.UK tag colour of a report's status."""
    if report.is_open:
        return "govuk-tag--blue"
    if category is not None and category.spec.outcome(report.state) == "approved":
        return "govuk-tag--green"
    return "govuk-tag--grey"


def _distance_text(metres: float) -> str:
    if metres < 1000:
        rounded = max(10, round(metres / 10.0) * 10)
        return ngettext("%(count)s metre away", "%(count)s metres away", rounded) % {
            "count": rounded
        }
    return _("%(count)s km away") % {"count": number_format(metres / 1000, decimal_pos=1)}


def _search_hint() -> str:
    """The hint of a street search, with a street and a postcode of the authority's own
    gazetteer (its first row) as examples."""
    places = geo.gazetteer()
    if not places:
        return _("Enter a street name or a postcode")
    return _("For example, %(street)s or %(postcode)s") % {
        "street": places[0].street,
        "postcode": places[0].postcode,
    }


def _file_label(name: str) -> str:
    """A file's name as the person chose it, safe to show (its own extension kept)."""
    suffix = re.sub(r"[^a-z0-9]", "", name.rpartition(".")[2].lower())[:10] if "." in name else ""
    return sanitise_filename(name, extension=suffix).rstrip(".")


def _not_ready(journey: Journey) -> HttpResponse:
    """A page opened before the ones it needs were answered: the first of those, or the
    confirmation of a report just sent (the back button after sending)."""
    if not journey.started and journey.request.session.get("reports.last_sent"):
        return redirect("reports:sent")
    return redirect(journey.url(journey.first_incomplete()))


# --- the journey: what -------------------------------------------------------------------------


def _category_groups(
    categories: list[services.Category],
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The categories under their group's title (active language), groups and categories
    in alphabetical order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for category in categories:
        groups.setdefault(category.group() or _("Other problems"), []).append(
            (category.code, category.title())
        )
    return [
        (group, sorted(choices, key=lambda choice: choice[1].casefold()))
        for group, choices in sorted(groups.items(), key=lambda item: item[0].casefold())
    ]


@public
def start(request: HttpRequest) -> HttpResponse:
    """The first question: what kind of problem (``reports:start``, the nav item)."""
    journey = Journey(request)
    returning = _returning(request)
    categories = services.categories()
    groups = _category_groups(categories)
    form = CategoryForm(
        _posted(request), groups=groups, initial={"category": journey.data.get("category")}
    )
    if request.method == "POST" and form.is_valid():
        journey.set_category(form.cleaned_data["category"])
        category = journey.category
        if category is not None and "lat" in journey.data and "nearby_count" not in journey.data:
            # Another kind of problem: its own open reports near the place chosen.
            journey.data["nearby_count"] = len(
                selectors.reports_nearby_open(
                    category=category.code,
                    latitude=journey.data["lat"],
                    longitude=journey.data["lon"],
                    radius_m=category.duplicate_radius_m,
                )
            )
        journey.save()
        return redirect(journey.next_url("category", returning=returning))
    options = {option.data["value"]: option for option in form["category"]}
    summaries = {category.code: category.spec.summary() for category in categories}
    grouped = [
        (group, [(options[code], summaries.get(code, "")) for code, _title in choices])
        for group, choices in groups
    ]
    return render(
        request,
        "reports/start.html",
        {
            "form": form,
            "grouped": grouped,
            "back_url": journey.url("check") if returning else "",
        },
    )


# --- where -------------------------------------------------------------------------------------


def _locate(
    form: WhereForm, places: list[geo.Place], journey: Journey
) -> tuple[Located | None, str, str]:
    """The place the form names, or ``(None, message, the id the message links to)``."""
    chosen = form.cleaned_data.get("place")
    if chosen:
        place = next(place for place in places if place_value(place) == chosen)
        return _inside(place.lat, place.lon, place_label(place), target="id_place_0")
    lat_text, lon_text = form.cleaned_data.get("lat", ""), form.cleaned_data.get("lon", "")
    if not lat_text and not lon_text:
        if places:
            return None, _("Select the street"), "id_place_0"
        return (
            None,
            _("Select where the problem is on the map, or search for a street or postcode"),
            "id_q",
        )
    try:
        lat, lon = geo.parse_coordinates(lat_text, lon_text)
    except geo.GeoError as error:
        return None, error.message, "report-map"
    if (lat, lon) == (journey.data.get("lat"), journey.data.get("lon")):
        street = journey.data.get("street", "")  # the same point: keep the street chosen
    else:
        street = nearest_street(lat, lon)
    return _inside(lat, lon, street, target="report-map")


def _inside(lat: float, lon: float, street: str, *, target: str) -> tuple[Located | None, str, str]:
    """The point, if it is inside the area; else the message naming the area."""
    ward = geo.area().ward_at(lat, lon)
    if ward is None:
        return None, geo.outside_message(), target
    return Located(lat, lon, ward, street), "", ""


@public
def where(request: HttpRequest) -> HttpResponse:
    """Where the problem is: a pin on the map (with JavaScript), or a street found by
    name or postcode (always). A place outside the area is refused on this page."""
    journey = Journey(request)
    if not journey.ready_for("where"):
        return _not_ready(journey)
    category = journey.category
    assert category is not None  # ready_for("where") means a category was chosen
    returning = _returning(request)
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    places = geo.gazetteer_search(query) if query else []
    form = WhereForm(
        _posted(request),
        places=[(place_value(place), place_label(place)) for place in places],
        initial={
            "lat": journey.data.get("lat", ""),
            "lon": journey.data.get("lon", ""),
            "where": journey.data.get("where", ""),
        },
    )
    form.fields["place"].choice_hints = {  # type: ignore[attr-defined]
        place_value(place): _("%(ward)s ward") % {"ward": ward_name(place.ward)} for place in places
    }
    location_error, error_target = "", ""
    if request.method == "POST" and form.is_valid():
        located, location_error, error_target = _locate(form, places, journey)
        if located is not None:
            nearby = selectors.reports_nearby_open(
                category=category.code,
                latitude=located.lat,
                longitude=located.lon,
                radius_m=category.duplicate_radius_m,
            )
            journey.set_location(
                located, where=form.cleaned_data.get("where", ""), nearby_count=len(nearby)
            )
            journey.save()
            return redirect(journey.next_url("where", returning=returning))
        form.add_error(None, location_error)  # the page title says "Error:"
    errors = [{"text": location_error, "href": f"#{error_target}"}] if location_error else []
    for name, target in (("place", "id_place_0"), ("where", "id_where")):
        errors += [{"text": str(text), "href": f"#{target}"} for text in form.errors.get(name, [])]
    chosen = ""
    if "lat" in journey.data:
        street = journey.data.get("street") or _("A point on the map")
        chosen = _("%(place)s (%(ward)s ward)") % {
            "place": street,
            "ward": ward_name(journey.data.get("ward", "")),
        }
    return render(
        request,
        "reports/where.html",
        {
            "form": form,
            "search": search,
            "query": query,
            "searched": bool(query),
            "search_hint": _search_hint(),
            "errors": errors,
            "location_error": location_error,
            "chosen": chosen,
            "category": category,
            "returning": returning,
            "back_url": journey.previous_url("where", returning=returning),
            "pin": f"{journey.data['lat']},{journey.data['lon']}" if "lat" in journey.data else "",
            "map": map_settings(),
        },
    )


# --- is it one of these? -------------------------------------------------------------------------


@public
def nearby(request: HttpRequest) -> HttpResponse:
    """Open reports of the same kind near the point: "me too" instead of a duplicate, or
    "no, report a new problem"."""
    journey = Journey(request)
    if not journey.ready_for("nearby"):
        return _not_ready(journey)
    category = journey.category
    assert category is not None
    returning = _returning(request)
    found = selectors.reports_nearby_open(
        category=category.code,
        latitude=journey.data["lat"],
        longitude=journey.data["lon"],
        radius_m=category.duplicate_radius_m,
    )
    if request.method == "POST" or not found:
        # Nothing nearby any more (closed meanwhile) is a "no" too.
        journey.data["nearby_done"] = True
        journey.data["nearby_count"] = len(found)
        journey.save()
        return redirect(journey.next_url("nearby", returning=returning))
    supported: set[int] = set()
    if request.user.is_authenticated:
        supported = set(
            selectors.reports_for_reporter(user=request.user)
            .filter(pk__in=[report.pk for report, _metres in found])
            .values_list("pk", flat=True)
        )
    rows = [
        {
            "report": report,
            "distance": _distance_text(metres),
            "status": _status_label(category, report.state),
            "supporting": report.pk in supported,
        }
        for report, metres in found
    ]
    return render(
        request,
        "reports/nearby.html",
        {
            "rows": rows,
            "category": category,
            "back_url": journey.previous_url("nearby", returning=returning),
        },
    )


# --- describe, the category's questions, photos, about you ---------------------------------------


@public
def describe(request: HttpRequest) -> HttpResponse:
    journey = Journey(request)
    if not journey.ready_for("describe"):
        return _not_ready(journey)
    returning = _returning(request)
    form = DescribeForm(
        _posted(request),
        initial={
            "title": journey.data.get("title", ""),
            "description": journey.data.get("description", ""),
        },
    )
    if request.method == "POST" and form.is_valid():
        journey.data["title"] = form.cleaned_data["title"]
        journey.data["description"] = form.cleaned_data["description"]
        journey.save()
        return redirect(journey.next_url("describe", returning=returning))
    return render(
        request,
        "reports/describe.html",
        {
            "form": form,
            "category": journey.category,
            "back_url": journey.previous_url("describe", returning=returning),
        },
    )


@public
def questions(request: HttpRequest, page_id: str) -> HttpResponse:
    """One page of the category's own questions, built from its definition by the cases
    app's question forms (the same messages as every service's)."""
    journey = Journey(request)
    if not journey.ready_for("questions"):
        return _not_ready(journey)
    category = journey.category
    assert category is not None
    spec = category.spec
    pages = {page["id"]: page for page in journey.question_pages()}
    if page_id not in pages:
        return redirect(journey.url("questions"))
    page = pages[page_id]
    returning = _returning(request)
    answers = journey.answers
    shown = spec.visible_questions(page, answers)
    form = QuestionPageForm(
        _posted(request),
        page=page,
        questions=shown,
        files_present=set(),
        initial=QuestionPageForm.initial_from_answers(shown, answers),
    )
    if request.method == "POST" and form.is_valid():
        answers.update(form.answers())
        journey.data["answers"] = spec.relevant_answers(answers)
        journey.save()
        following = spec.page_after(page_id, journey.answers)
        while following is not None and following["id"] not in {
            p["id"] for p in journey.question_pages()
        }:
            following = spec.page_after(following["id"], journey.answers)
        if following is not None and not returning:
            return redirect("reports:questions", following["id"])
        return redirect(journey.next_url("questions", returning=returning))
    before = spec.page_before(page_id, answers)
    if returning:
        back_url = journey.url("check")
    elif before is not None and before["id"] in pages:
        back_url = reverse("reports:questions", args=[before["id"]])
    else:
        back_url = journey.previous_url("questions")
    title = ""
    if page.get("title") or len(shown) != 1:
        title = localised(page.get("title")) or _("Tell us more about the problem")
    return render(
        request,
        "reports/questions.html",
        {"form": form, "category": category, "page_title": title, "back_url": back_url},
    )


@public
def photos(request: HttpRequest) -> HttpResponse:
    """Up to :data:`services.MAX_PHOTOS` photos, each checked and stripped of its
    metadata as it arrives, then held until the report is sent (``journey.py``)."""
    journey = Journey(request)
    if not journey.ready_for("photos"):
        return _not_ready(journey)
    returning = _returning(request)
    held = journey.photos
    form = PhotosForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and request.POST.get("remove"):
        key = request.POST["remove"]
        journey.data["photos"] = [photo for photo in held if photo["key"] != key]
        journey.save()
        photo_release(key)
        return redirect(request.get_full_path())
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["photos"]
        if len(held) + len(chosen) > services.MAX_PHOTOS:
            form.add_error(
                "photos",
                ngettext(
                    "You can add up to %(count)s photos. You have already added %(added)s photo.",
                    "You can add up to %(count)s photos. You have already added %(added)s photos.",
                    len(held),
                )
                % {"count": services.MAX_PHOTOS, "added": len(held)}
                if held
                else _("You can add up to %(count)s photos") % {"count": services.MAX_PHOTOS},
            )
        else:
            for upload in chosen:
                name = _file_label(upload.name or "")
                try:
                    prepared = photo_prepare(upload)
                except PhotoError as error:
                    form.add_error(
                        "photos", _("%(file)s: %(problem)s") % {"file": name, "problem": error}
                    )
                    continue
                held.append(photo_hold(prepared, filename=name))
            journey.data["photos"] = held
            if not form.errors and request.POST.get("add_another") != "1":
                journey.data["photos_done"] = True
                journey.save()
                return redirect(journey.next_url("photos", returning=returning))
            journey.save()
            if not form.errors:
                return redirect(request.get_full_path())
    return render(
        request,
        "reports/photos.html",
        {
            "form": form,
            "held": journey.photos,
            "max_photos": services.MAX_PHOTOS,
            "may_add": len(journey.photos) < services.MAX_PHOTOS,
            "category": journey.category,
            "back_url": journey.previous_url("photos", returning=returning),
        },
    )


@public
@require_safe
def held_photo(request: HttpRequest, key: str) -> HttpResponse:
    """A photo this session added to its report in progress (nobody else's)."""
    journey = Journey(request)
    photo = next((photo for photo in journey.photos if photo["key"] == key), None)
    data = photo_held(key, "display") if photo is not None else None
    if photo is None or data is None:
        raise Http404
    return bytes_response(
        data,
        filename=f"photo.{photo['extension']}",
        content_type=photo["content_type"],
        inline=True,
    )


@public
def about(request: HttpRequest) -> HttpResponse:
    """Who is reporting: a signed-in resident only says whether their name is shown; anyone
    else gives an email address (the report is sent when they follow the link we email)."""
    journey = Journey(request)
    if not journey.ready_for("about"):
        return _not_ready(journey)
    returning = _returning(request)
    shown = journey.data.get("show_name")
    initial: dict[str, Any] = {"show_name": "" if shown is None else ("yes" if shown else "no")}
    form: ShowNameForm
    if request.user.is_authenticated:
        form = ShowNameForm(_posted(request), initial=initial)
    else:
        initial.update(name=journey.data.get("name", ""), email=journey.data.get("email", ""))
        form = AboutYouForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        journey.data["show_name"] = form.cleaned_data["show_name"] == "yes"
        if isinstance(form, AboutYouForm):
            journey.data["name"] = form.cleaned_data.get("name", "")
            journey.data["email"] = form.cleaned_data["email"]
        journey.save()
        return redirect(journey.next_url("about", returning=returning))
    return render(
        request,
        "reports/about.html",
        {
            "form": form,
            "category": journey.category,
            "back_url": journey.previous_url("about", returning=returning),
        },
    )


# --- check your answers, send ------------------------------------------------------------------


def _answer_rows(journey: Journey) -> list[dict[str, str]]:
    category = journey.category
    if category is None:
        return []
    spec = category.spec
    rows = []
    answers = journey.answers
    for page in journey.question_pages():
        for question in spec.visible_questions(page, answers):
            rows.append(
                {
                    "label": localised(question["label"]),
                    "value": format_answer(spec, question["id"], answers.get(question["id"])),
                    "url": reverse("reports:questions", args=[page["id"]]) + "?return=check",
                }
            )
    return rows


def _remember_sent(request: HttpRequest, token: str, result: dict[str, Any]) -> None:
    sent = dict(request.session.get(SENT_KEY) or {})
    sent[token] = result
    request.session[SENT_KEY] = dict(list(sent.items())[-_SENT_KEPT:])
    request.session["reports.last_sent"] = token


def _wait_for(token: str) -> dict[str, Any] | None:
    """The result of the submission of ``token`` that another request is making."""
    deadline = time.monotonic() + SUBMIT_WAIT_SECONDS
    while time.monotonic() < deadline:
        result = cache.get(f"reports:submitted:{token}")
        if result is not None:
            return dict(result)
        time.sleep(0.2)
    return None


def _report_input(journey: Journey) -> tuple[services.ReportInput | None, list[str]]:
    """The report to send, or the keys of held photos the cache lost."""
    data = journey.data
    uploads, lost = [], []
    for number, photo in enumerate(journey.photos, start=1):
        content = photo_held(photo["key"])
        if content is None:
            lost.append(photo["key"])
            continue
        uploads.append(
            SimpleUploadedFile(
                f"photo-{number}.{photo['extension']}", content, content_type=photo["content_type"]
            )
        )
    if lost:
        return None, lost
    return (
        services.ReportInput(
            category=data["category"],
            latitude=data["lat"],
            longitude=data["lon"],
            title=data["title"],
            description=data["description"],
            address=journey.address,
            answers=journey.answers,
            photos=uploads,
            show_name=bool(data.get("show_name")),
        ),
        [],
    )


def _send(
    request: HttpRequest, journey: Journey, report_input: services.ReportInput
) -> dict[str, Any]:
    """Send the report (one transaction: an anonymous reporter's account row is made only
    with their report). Raises :class:`DomainError` with nothing stored."""
    with transaction.atomic():
        if request.user.is_authenticated:
            reporter, confirmed = request.user, True
        else:
            reporter = services.reporter_for_email(
                email=journey.data["email"], name=journey.data.get("name", "")
            )
            confirmed = False
        report = services.report_submit(
            data=report_input, reporter=reporter, actor=reporter, confirmed=confirmed
        )
    category = journey.category
    return {
        "id": report.pk,
        "reference": report.reference or "",
        "confirmed": confirmed,
        "email": "" if confirmed else journey.data["email"],
        "category": category.title() if category else "",
    }


def _submit(request: HttpRequest, journey: Journey) -> list[dict[str, str]]:
    """Send the journey's report once; the errors to show when it cannot be sent (its
    result is then in the session, ``SENT_KEY``)."""
    token = journey.data["token"]
    report_input, lost = _report_input(journey)
    if report_input is None:
        # The cache let go of a held photo (evicted): ask for it again, keep the others.
        journey.data["photos"] = [photo for photo in journey.photos if photo["key"] not in lost]
        journey.data.pop("photos_done", None)
        journey.save()
        text = _("We could not keep your photos. Add them again, then send your report.")
        return [{"text": text, "href": journey.url("photos", returning=True)}]
    if not cache.add(f"reports:submitting:{token}", "1", _SUBMIT_LOCK_SECONDS):
        # Another request of this journey is sending it (a double click): its result.
        result = _wait_for(token)
        if result is None:
            text = _("We are still sending your report. Wait a minute, then try again.")
            return [{"text": text, "href": "#send"}]
    else:
        try:
            result = _send(request, journey, report_input)
        except DomainError as error:
            cache.delete(f"reports:submitting:{token}")
            step = _ERROR_STEPS.get(error.code, "questions")
            return [{"text": str(error.message), "href": journey.url(step, returning=True)}]
        cache.set(f"reports:submitted:{token}", result, _SUBMIT_LOCK_SECONDS)
    _remember_sent(request, token, result)
    journey.clear()
    return []


@public
def check(request: HttpRequest) -> HttpResponse:
    """Check your answers, then send. A second click (or a resubmitted form) of the same
    journey makes no second report: it finds the first one's result (``SENT_KEY``, or
    the shared cache while the first request is still running)."""
    journey = Journey(request)
    token = journey.data["token"]
    if token in (request.session.get(SENT_KEY) or {}):
        return redirect("reports:sent")
    if not journey.ready_for("check"):
        return _not_ready(journey)
    category = journey.category
    assert category is not None
    errors: list[dict[str, str]] = []
    if request.method == "POST":
        errors = _submit(request, journey)
        if not errors:
            return redirect("reports:sent")
    data = journey.data
    return render(
        request,
        "reports/check.html",
        {
            "journey": journey,
            "category": category,
            "data": data,
            "ward": ward_name(data.get("ward", "")),
            "answer_rows": _answer_rows(journey),
            "photos": journey.photos,
            "errors": errors,
            "back_url": journey.previous_url("check"),
            "signed_in": request.user.is_authenticated,
            "name": request.user.get_full_name() if request.user.is_authenticated else "",
            "map": map_settings(),
        },
    )


@public
def sent(request: HttpRequest) -> HttpResponse:
    """The report was sent (with its reference), or, for a reporter who is not signed in,
    "check your email"."""
    token = request.session.get("reports.last_sent")
    result = (request.session.get(SENT_KEY) or {}).get(token) if token else None
    if result is None:
        return redirect("reports:start")
    return render(
        request,
        "reports/sent.html",
        {"result": result, "hours": services.CONFIRMATION_HOURS},
    )


@public
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link emailed to a reporter who was not signed in. GET only shows a button:
    mail scanners open links, and must not send reports."""
    if request.method != "POST":
        return render(request, "reports/confirm.html", {})
    try:
        report = services.report_confirm(token=token)
    except services.ReportError as error:
        return render(request, "reports/confirm.html", {"error": error.message}, status=400)
    return render(request, "reports/confirmed.html", {"report": report})


# --- me too ------------------------------------------------------------------------------------


@signed_in
def support(request: HttpRequest, reference: str) -> HttpResponse:
    """ "Me too": counted on the report, and told of its updates. GET asks (the page a
    resident lands on after signing in to say it); POST says it."""
    report = selectors.report_get_public(reference=reference)
    if report.merged_into_id is not None and report.merged_into is not None:
        return redirect("reports:support", report.merged_into.reference)
    category = _category_or_none(report.category)
    if request.method == "POST":
        try:
            services.report_support(report=report, user=request.user)
        except services.ReportError as error:
            messages.error(request, str(error.message))
            return redirect("reports:detail", report.reference)
        if request.GET.get("from") == "journey":
            Journey(request).clear()  # the problem is reported already: this one ends
        if report.reporter_id == request.user.pk:
            messages.info(request, _("This is your report. We will tell you when it is updated."))
        else:
            messages.success(
                request,
                _(
                    "Thank you. You have said you have this problem too: we will tell you when "
                    "the report is updated."
                ),
            )
        return redirect("reports:detail", report.reference)
    return render(
        request,
        "reports/support.html",
        {
            "report": report,
            "category": category,
            "status": _status_label(category, report.state),
        },
    )


# --- public pages ---------------------------------------------------------------------------------


_REPORT = Addresses("reports:detail")


class _Listed(NamedTuple):
    """What the list reads of a report and its ward (not, among others, the answers of a
    report still being written, encrypted): rows, not models, which cost a hundred Python
    calls a report to make."""

    reference: str
    title: str
    address: str
    category: str
    state: str
    is_open: bool
    requested_at: datetime
    latitude: float
    longitude: float
    ward_name: str | None


_LISTED_COLUMNS = (*_Listed._fields[:-1], "ward__name")


@public
def report_list(request: HttpRequest) -> HttpResponse:
    """Reports around a place (a street or postcode searched for), newest first, on a map
    and in a table, filtered by category, status and ward; paged."""
    by_code = _categories_by_code()
    area = geo.area()
    ward_choices = sorted(
        ((ward.code, ward.name) for ward in area.wards), key=lambda item: item[1].casefold()
    )
    category_choices = sorted(
        ((code, category.title()) for code, category in by_code.items()),
        key=lambda item: item[1].casefold(),
    )
    # Without a query string nothing is filtered: no form to build only to read nothing.
    asked = (
        ListFilterForm(request.GET, categories=category_choices, wards=ward_choices)
        if request.GET
        else None
    )
    query, category_code, status, ward_code = (
        asked.value(name) if asked is not None else ""
        for name in ("q", "category", "status", "ward")
    )
    query = query.strip()
    matches = geo.gazetteer_search(query, limit=6) if query else []
    place = matches[0] if matches else None
    ward_id = None
    if ward_code:
        jurisdiction = jurisdictions_by_code().get(ward_code)
        ward_id = jurisdiction.pk if jurisdiction is not None else 0
    filters = selectors.ReportFilters(
        categories=[category_code] if category_code else (),
        is_open={"open": True, "closed": False}.get(status),
        ward_id=ward_id,
        bbox=geo.bbox_around(place.lat, place.lon, AROUND_RADIUS_M) if place else None,
    )
    page = list_page(
        lambda: selectors.reports_filtered(filters).values_list(*_LISTED_COLUMNS),
        request.GET.get("page"),
        LIST_PAGE_SIZE,
        first_rows=selectors.reports_first_page(
            filters, columns=_LISTED_COLUMNS, size=LIST_PAGE_SIZE
        ),
    )
    # Each row's values worked out here, and its card written by report_cards.
    in_ward, reported_on = _("%(ward)s ward"), _("reported on %(date)s")
    # A category's title and a state's label and colour, once per page for each.
    labels: dict[tuple[str, str, bool], tuple[str, str, str]] = {}
    rows = []
    pins = []
    # Once for the page: each lookup reads a context-local variable.
    language, zone = get_language(), timezone.get_current_timezone()
    for report in map(_Listed._make, page.object_list):
        key = (report.category, report.state, report.is_open)
        label = labels.get(key)
        if label is None:
            category = by_code.get(report.category)
            label = labels[key] = (
                category.title() if category else report.category,
                _status_label(category, report.state),
                _status_tag(report, category),
            )
        row = {
            "url": _REPORT(report.reference),
            "title": report.title,
            "reference": report.reference,
            "address": report.address,
            "category": label[0],
            "status": label[1],
            "tag": label[2],
            "ward": sentence(in_ward, ward=report.ward_name)
            if report.ward_name is not None
            else "",
            "reported": sentence(
                reported_on, date=day_month_year(report.requested_at, language, zone)
            ),
            "distance": _distance_text(
                geo.distance_m(place.lat, place.lon, report.latitude, report.longitude)
            )
            if place
            else "",
        }
        rows.append(row)
        pins.append(
            {
                "lat": report.latitude,
                "lon": report.longitude,
                "title": report.title,
                "reference": report.reference,
                "status": row["status"],
                "url": row["url"],
            }
        )
    kept = {
        key: value
        for key, value in (
            ("q", query),
            ("category", category_code),
            ("status", status),
            ("ward", ward_code),
        )
        if value
    }
    feeds = []
    if ward_code:
        name = ward_name(ward_code)
        feeds.append((name, "reports:feed_ward", "reports:feed_ward_atom", ward_code))
    if category_code and category_code in by_code:
        feeds.append(
            (
                by_code[category_code].title(),
                "reports:feed_category",
                "reports:feed_category_atom",
                category_code,
            )
        )
    shown = ListFilterForm(
        initial={"q": query, "category": category_code, "status": status, "ward": ward_code},
        categories=category_choices,
        wards=ward_choices,
        for_display=True,
    )
    return render(
        request,
        "reports/list.html",
        {
            "form": shown,
            "rows": rows,
            "cards": report_cards(rows),
            "page": page,
            "pins": pins,
            "place": place,
            "place_label": place_label(place) if place else "",
            "other_places": [
                (place_label(other), urlencode({**kept, "q": other.postcode}))
                for other in matches[1:]
            ],
            "query": query,
            "radius_km": AROUND_RADIUS_M / 1000,
            "filter_query": urlencode(kept),
            "filtered": bool(kept),
            "feeds": feeds,
            "centre": f"{place.lat},{place.lon}" if place else "",
            "map": map_settings(),
        },
    )


def _time_to_fix(report: Report, category: services.Category | None, updates: list[Any]) -> str:
    """How long a fixed report took, from its reporting to the update that closed it."""
    if report.is_open or category is None or category.spec.outcome(report.state) != "approved":
        return ""
    closing = next((update for update in reversed(updates) if not update.is_open), None)
    if closing is None:
        return ""
    return timesince(report.requested_at, closing.created_at, depth=1)


@public
def detail(request: HttpRequest, reference: str) -> HttpResponse:
    """One public report: what, where (a small map and words), photos, status, the public
    updates in order, supporters, "me too"; the reporter's name only if they chose."""
    report = selectors.report_get_public(reference=reference)
    category = _category_or_none(report.category)
    updates = selectors.report_updates_public(report)
    user = request.user
    supporting = bool(
        user.is_authenticated
        and selectors.reports_for_reporter(user=user).filter(pk=report.pk).exists()
    )
    merged_into = report.merged_into if report.merged_into_id is not None else None
    return render(
        request,
        "reports/detail.html",
        {
            "report": report,
            "category": category,
            "category_title": category.title() if category else report.category,
            "status": _status_label(category, report.state),
            "tag": _status_tag(report, category),
            "ward": report.ward.name if report.ward else "",
            "photos": selectors.report_photos_public(report),
            "updates": [
                {"update": update, "status": _status_label(category, update.state)}
                for update in updates
            ],
            "time_to_fix": _time_to_fix(report, category, updates),
            "reporter_name": selectors.reporter_display_name(report),
            "supporting": supporting,
            "own": user.is_authenticated and report.reporter_id == user.pk,
            "merged_into": merged_into
            if merged_into is not None and merged_into.is_public
            else None,
            "may_support": report.is_open and merged_into is None,
            "pin": f"{report.latitude},{report.longitude}",
            "map": map_settings(),
        },
    )


@public
@require_safe
def photo(request: HttpRequest, public_id: Any) -> HttpResponse:
    """The display copy of a public photo (metadata stripped), cacheable for a short while
    (:data:`PHOTO_MAX_AGE`); 404 once an official hides it or its report."""
    item = selectors.report_photo_get_public(public_id=public_id)
    etag = f'"{item.display.sha256}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = bytes_response(
            upload_read(upload=item.display),
            filename=f"photo-{item.position + 1}.{item.display.content_type.split('/')[-1]}",
            content_type=item.display.content_type,
            inline=True,
        )
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={PHOTO_MAX_AGE}"
    return response


@public
@require_safe
def wards(request: HttpRequest) -> HttpResponse:
    """The wards as GeoJSON, for the maps to draw (the same for everyone: cacheable)."""
    response = JsonResponse(geo.area().as_geojson())
    response["Cache-Control"] = "public, max-age=3600"
    return response


@signed_in
def mine(request: HttpRequest) -> HttpResponse:
    """A resident's own reports and those they said "me too" to."""
    by_code = _categories_by_code()
    page = Paginator(
        selectors.reports_for_reporter(user=request.user).select_related("ward"), LIST_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = []
    for report in page.object_list:
        category = by_code.get(report.category)
        rows.append(
            {
                "report": report,
                "category": category.title() if category else report.category,
                "status": _status_label(category, report.state),
                "tag": _status_tag(report, category),
                "own": report.reporter_id == request.user.pk,
            }
        )
    return render(request, "reports/mine.html", {"rows": rows, "page": page})
