"""What an app POSTs: a new request (``requests``) or an update (``servicerequestupdates``),
read the way FixMyStreet and the specification send it, checked, and handed to the
reports app's services.

Form fields (``application/x-www-form-urlencoded`` or ``multipart/form-data``):
``api_key``, ``jurisdiction_id`` (ignored: this server has one jurisdiction),
``service_code``, ``lat``/``long`` or ``address_string`` (a street or postcode of the
authority's gazetteer; ``address_id`` alone cannot be placed), ``email`` (required),
``first_name``, ``last_name``, ``phone`` (not kept: the reporter's account holds their
contact details), ``description``, ``media_url``, ``device_id`` or FixMyStreet's
``deviceid``, ``account_id``, ``attribute[code]`` (``attribute[code][]`` repeated for a
multivaluelist) and photos as files named ``media`` or ``photo1``, ``photo2``...
Attributes this server does not define (FixMyStreet's ``fixmystreet_id``, ``easting``...)
are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _

from ecitizen.cases.forms import QuestionPageForm
from ecitizen.catalogue.spec import condition_met
from ecitizen.core.errors import DomainError
from ecitizen.core.text import UnsafeCharacters, clean_free_text, normalise_name
from ecitizen.reports import geo, services
from ecitizen.reports.models import ApiClient, Report, ReportUpdate
from ecitizen.reports.open311.documents import DATATYPES, NO, YES
from ecitizen.reports.open311.params import Open311Error, value
from ecitizen.reports.open311.queries import report_public_by_reference, seconds_until_allowed

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_PHOTO_FIELD = re.compile(r"^(media|photo\d+)$")
# FixMyStreet's "extended description" starts "title: <the report's title>".
_TITLE_PREFIX = re.compile(r"^\s*title:\s*", re.IGNORECASE)
_YES_NO = {YES: "yes", NO: "no", "yes": "yes", "no": "no", "1": "yes", "0": "no"}
MEDIA_URL_MAX_LENGTH = 500


def api_client(params: Mapping[str, Any], *, action: str) -> ApiClient:
    """The app whose ``api_key`` this is, within its hourly limit.

    Raises :class:`Open311Error`: 403 for a missing, unknown or revoked key, 429 (with
    ``Retry-After``) for an app past its limit."""
    key = value(params, "api_key")
    if not key:
        raise Open311Error(403, _("api_key is required to %(action)s.") % {"action": action})
    client = services.api_client_for_key(key)
    if client is None:
        raise Open311Error(
            403,
            _("Invalid api_key received -- can't proceed with %(action)s.") % {"action": action},
        )
    if not services.api_client_within_limit(client):
        wait = seconds_until_allowed(client)
        raise Open311Error(
            429,
            _("Too many requests: this key may post %(count)s reports an hour. Try again later.")
            % {"count": client.hourly_limit},
            headers={"Retry-After": str(wait)},
        )
    return client


def attributes(post: QueryDict) -> dict[str, list[str]]:
    """``attribute[code]`` and ``attribute[code][]`` fields, by code, as lists."""
    found: dict[str, list[str]] = {}
    for key in post:
        match = _ATTRIBUTE.match(key)
        if match:
            found.setdefault(match.group(1), []).extend(str(item) for item in post.getlist(key))
    return found


def _form_data(question: Mapping[str, Any], raw: list[str]) -> dict[str, Any]:
    """One question's answer as its page form receives it from a browser."""
    qid, kind = question["id"], question["type"]
    given = [item.strip() for item in raw if item.strip()]
    last = given[-1] if given else ""
    if kind == "multiple_choice":
        return {qid: given}
    if kind == "yes_no":
        return {qid: _YES_NO.get(last.lower(), last)}
    if kind == "date":
        # An ISO 8601 date, or the date of an ISO 8601 date and time. Anything else goes
        # to all three boxes, for the form's own "real date" message.
        match = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])", last)
        parts = (match.group(3), match.group(2), match.group(1)) if match else (last,) * 3
        names = (f"{qid}_day", f"{qid}_month", f"{qid}_year")
        return dict(zip(names, parts, strict=True))
    return {qid: last}


def answers(
    category: services.Category, given: Mapping[str, list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """The answers to the category's questions from the app's attributes, checked by
    the same forms as the website's (required answers, lengths, choices, numbers,
    dates), page by page so that a question shown only after some answer is asked only
    then. Returns the answers and the problems, each naming its attribute."""
    spec = category.spec
    found: dict[str, Any] = {}
    problems: list[str] = []
    for page in spec.pages:
        if not condition_met(page.get("show_if"), found):
            continue
        shown = spec.visible_questions(page, found)
        questions = [question for question in shown if question["type"] in DATATYPES]
        for question in shown:
            if question["type"] not in DATATYPES:  # a file: not offered to apps
                found[question["id"]] = []
        if not questions:
            continue
        data = QueryDict(mutable=True)
        for question in questions:
            for key, item in _form_data(question, given.get(question["id"], [])).items():
                if isinstance(item, list):
                    data.setlist(key, item)
                else:
                    data[key] = item
        form = QuestionPageForm(data, page=page, questions=questions, files_present=set())
        if form.is_valid():
            found.update(form.answers())
        else:
            for code, messages in form.errors.items():
                problems.append(f"attribute[{code}]: {messages[0]}")
    return found, problems


def _title(attribute_title: str, description: str) -> str:
    """The report's summary: ``attribute[title]`` when the app sent one (FixMyStreet
    does when the category asks for it), else the description's first line without
    FixMyStreet's ``title:`` label, cut to fit."""
    text = attribute_title.strip()
    if not text:
        first = next((line for line in description.split("\n") if line.strip()), "")
        text = _TITLE_PREFIX.sub("", first).strip()
    if len(text) > services.TITLE_MAX_LENGTH:
        text = text[: services.TITLE_MAX_LENGTH - 1].rstrip() + "…"
    return text


def _place(post: QueryDict, problems: list[str]) -> tuple[float, float, str] | None:
    """(lat, long, address) from ``lat``/``long``, else ``address_string`` looked up in
    the gazetteer; records the problem and returns ``None`` when there is no place."""
    lat, long, address = value(post, "lat"), value(post, "long"), value(post, "address_string")
    if lat or long:
        try:
            latitude, longitude = geo.parse_coordinates(lat, long)
        except geo.GeoError as error:
            problems.append(f"{'long' if error.field == 'lon' else error.field}: {error.message}")
            return None
        return latitude, longitude, address
    if address:
        places = geo.gazetteer_search(address, limit=1)
        if places:
            return places[0].lat, places[0].lon, address
        problems.append(
            "address_string: "
            + _("No street or postcode of the area matches it. Send lat and long instead.")
        )
        return None
    problems.append(_("lat and long are required (or an address_string of a street in the area)"))
    return None


def _photos(request: HttpRequest) -> list[UploadedFile]:
    """The uploaded photos: ``media`` first, then ``photo1``, ``photo2``..."""
    names = sorted(
        (name for name in request.FILES if _PHOTO_FIELD.match(name)),
        key=lambda name: (name != "media", len(name), name),
    )
    return [upload for name in names for upload in request.FILES.getlist(name)]


def _media_url(post: QueryDict, problems: list[str]) -> str:
    url = next((item.strip() for item in post.getlist("media_url") if item.strip()), "")
    if not url:
        return ""
    try:
        if len(url) > MEDIA_URL_MAX_LENGTH:
            raise ValidationError("too long")
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        problems.append(
            "media_url: "
            + _(
                "Enter the address of the photo, starting http:// or https://, in %(count)s "
                "characters or fewer"
            )
            % {"count": MEDIA_URL_MAX_LENGTH}
        )
        return ""
    return url


def _email(post: QueryDict, problems: list[str]) -> str:
    email = value(post, "email")
    if not email:
        problems.append(_("email is required: the reporter's email address"))
        return ""
    try:
        validate_email(email)
    except ValidationError:
        problems.append(
            "email: " + _("Enter an email address in the correct format, like name@example.com")
        )
        return ""
    return email


def _name(post: QueryDict, problems: list[str]) -> str:
    try:
        return normalise_name(f"{value(post, 'first_name')} {value(post, 'last_name')}")[:150]
    except UnsafeCharacters:
        problems.append(
            "first_name, last_name: "
            + _("The name must not contain control or invisible characters")
        )
        return ""


def _bad(problems: list[str]) -> Open311Error:
    return Open311Error(400, [(400, problem) for problem in problems])


@dataclass(frozen=True)
class Created:
    report: Report
    category: services.Category
    account_id: str


def request_create(request: HttpRequest, client: ApiClient) -> Created:
    """Check a POSTed request and record it: the report is confirmed at once (the app
    vouches for its user) and its case opened, under the account of the ``email``
    given (made if there is none). Everything is refused at once, with every problem
    found, and nothing is stored (not even the account) when something is wrong.

    Raises :class:`Open311Error`: 400 (missing or bad fields, a place outside the area,
    refused photos), 404 (unknown ``service_code``).
    """
    post = request.POST
    code = value(post, "service_code")
    if not code:
        raise Open311Error(400, _("service_code is required"))
    try:
        category = services.category_get(code)
    except services.ReportError:
        raise Open311Error(404, _("service_code %(code)s was not found") % {"code": code}) from None
    problems: list[str] = []
    place = _place(post, problems)
    if place is not None and not geo.area().contains(place[0], place[1]):
        problems.append(f"lat, long: {geo.outside_message()}")
    email = _email(post, problems)
    name = _name(post, problems)
    description = clean_free_text(value(post, "description")).strip()
    if not description:
        problems.append(_("description is required: what the problem is"))
    given = attributes(post)
    found, attribute_problems = answers(category, given)
    problems.extend(attribute_problems)
    media_url = _media_url(post, problems)
    if problems or place is None:
        raise _bad(problems)
    latitude, longitude, address = place
    title = _title(clean_free_text(" ".join(given.get("title", []))), description)
    account_id = value(post, "account_id")[:100]
    data = services.ReportInput(
        category=category.code,
        latitude=latitude,
        longitude=longitude,
        title=title,
        description=description,
        address=clean_free_text(address)[:300],
        answers=found,
        photos=_photos(request),
        media_url=media_url,
    )
    channel = services.Channel(
        source=Report.Source.OPEN311,
        api_client=client,
        device_id=(value(post, "device_id") or value(post, "deviceid"))[:100],
        account_id=account_id,
    )
    try:
        # The account made for a new address is rolled back with a refused report.
        with transaction.atomic():
            reporter = services.reporter_for_email(email=email, name=name)
            report = services.report_submit(
                data=data, reporter=reporter, actor=reporter, channel=channel, confirmed=True
            )
    except DomainError as error:
        raise _bad([str(error)]) from None
    return Created(report=report, category=category, account_id=account_id)


def update_create(request: HttpRequest) -> ReportUpdate:
    """Record an update an app POSTs (mySociety's ``servicerequestupdates``): the text
    becomes a public comment on the report, by the person of ``email``. The report's
    state is the authority's to change: ``status`` is accepted and not applied.

    Raises :class:`Open311Error`: 400 (missing fields), 404 (unknown report).
    """
    post = request.POST
    reference = value(post, "service_request_id")
    if not reference:
        raise Open311Error(400, _("service_request_id is required"))
    report = report_public_by_reference(reference)
    if report is None:
        raise Open311Error(404, _("service_request_id %(id)s was not found") % {"id": reference})
    problems: list[str] = []
    email = _email(post, problems)
    name = _name(post, problems)
    text = clean_free_text(value(post, "description")).strip()
    if not text:
        problems.append(_("description is required: the text of the update"))
    if problems:
        raise _bad(problems)
    try:
        with transaction.atomic():
            author = services.reporter_for_email(email=email, name=name)
            return services.report_comment_add(report=report, text=text, actor=author)
    except DomainError as error:
        raise _bad([str(error)]) from None
