"""The publishers' pages: their datasets, a dataset's metadata, its files and their checks,
publishing and withdrawing, and the API tokens of the CKAN API.

Every page needs the capability ``opendata.publish`` and reads the dataset through
:func:`~ecitizen.opendata.selectors.dataset_for_publisher`: a dataset outside the
publisher's remit (another department, another ward) is 404, like one that does not exist.
Forms post, then redirect (a reload does not post again); forms that create something carry
a one-off key, so that the same submission sent twice is done once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ecitizen.accounts.selectors import jurisdictions_by_code
from ecitizen.core.access import staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.forms import submission_already_done, submission_remember
from ecitizen.opendata import selectors, services, validation
from ecitizen.opendata.models import ApiToken, Dataset, Resource
from ecitizen.opendata.staff_forms import (
    DatasetForm,
    SchemaForm,
    SubmissionForm,
    TokenForm,
    UploadForm,
    WithdrawForm,
    language_name,
)
from ecitizen.opendata.vocabularies import FREQUENCIES, LICENCES, THEMES

PUBLISH = services.OPENDATA_PUBLISH
#: The session key under which a new token's secret waits for the page that shows it once.
NEW_TOKEN_SESSION = "opendata.new_token"  # noqa: S105 (a session key, not a secret)
#: The session key of the submissions already acted on: one-off key -> where it led.
SUBMITTED_SESSION = "opendata.submitted"
#: Rows of a loaded table shown on the resource page.
PREVIEW_ROWS = 20
#: Problems listed in the error summary at the top (all are in the table below it).
SUMMARY_PROBLEMS = 10


# --- helpers -------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _dataset(request: HttpRequest, name: str) -> Dataset:
    try:
        return selectors.dataset_for_publisher(user=request.user, name=name)
    except selectors.DatasetNotFound:
        raise Http404 from None


def _resource(request: HttpRequest, name: str, resource_id: Any) -> Resource:
    dataset = _dataset(request, name)
    for resource in dataset.resources.all():
        if str(resource.id) == str(resource_id):
            resource.dataset = dataset
            return resource
    raise Http404


def _already_done(request: HttpRequest, form: SubmissionForm) -> HttpResponse | None:
    """Where the first of the same submission led, when this one was sent again."""
    return submission_already_done(request, form, session_key=SUBMITTED_SESSION)


def _remember(request: HttpRequest, form: SubmissionForm, url: str) -> None:
    submission_remember(request, form, url, session_key=SUBMITTED_SESSION)


def _dataset_url(dataset: Dataset) -> str:
    return reverse("staff:opendata_dataset", args=[dataset.name])


def _resource_url(resource: Resource) -> str:
    return reverse("staff:opendata_resource", args=[resource.dataset.name, resource.id])


@dataclass
class Check:
    """How a file's check and its load into the DataStore are going, in words."""

    label: str
    tag: str  # the GOV.UK tag colour modifier
    checking: bool = False
    problems: int = 0
    rows: int = 0
    loaded: int = 0
    percent: int = 0
    checked: int = 0  # rows checked so far, while the check runs
    store: str = ""  # the DataStore's state, in words ("" for a document)


def check_of(resource: Resource) -> Check:
    """The state of a file's check and load, in words."""
    check = _check(resource)
    if resource.is_tabular:
        check.store = (
            _("Not loaded: the file has problems")
            if check.problems
            else str(resource.get_datastore_state_display())
        )
    return check


def _check(resource: Resource) -> Check:  # noqa: PLR0911 (one return per state)
    report = resource.validation or {}
    state = resource.datastore_state
    if not resource.is_tabular:
        return Check(_("Not a table"), "grey")
    if not report:
        if state in {Resource.DatastoreState.PENDING, Resource.DatastoreState.LOADING}:
            # While the check runs, the progress counts the rows checked so far.
            return Check(
                _("Being checked"),
                "blue",
                checking=True,
                checked=int(resource.datastore_progress or 0),
            )
        return Check(_("Not checked"), "grey")
    rows = int(report.get("rows") or 0)
    if not report.get("valid"):
        count = len(report.get("errors") or [])
        label = ngettext("%(count)d problem", "%(count)d problems", count) % {"count": count}
        if report.get("truncated"):
            label = _("%(count)d problems or more") % {"count": count}
        return Check(label, "red", problems=max(count, 1), rows=rows)
    if state in {Resource.DatastoreState.LOADING, Resource.DatastoreState.PENDING}:
        loaded = int(resource.datastore_progress or 0)
        percent = min(100, loaded * 100 // rows) if rows else 0
        return Check(
            _("Valid: loading"), "blue", checking=True, rows=rows, loaded=loaded, percent=percent
        )
    if state == Resource.DatastoreState.FAILED:
        return Check(_("Valid: not loaded"), "orange", rows=rows)
    return Check(_("Valid"), "green", rows=rows, loaded=int(resource.datastore_rows or 0))


def problem_text(problem: dict[str, Any]) -> str:
    """ "Row 3, column 2 (name): this column needs a value in every row"."""
    row, column = problem.get("row"), problem.get("column")
    field, message = problem.get("field") or "", problem.get("message") or ""
    values = {"row": row, "column": column, "field": field, "message": message}
    if row and column:
        if field:
            return _("Row %(row)s, column %(column)s (%(field)s): %(message)s") % values
        return _("Row %(row)s, column %(column)s: %(message)s") % values
    if row:
        return _("Row %(row)s: %(message)s") % values
    if column:
        if field:
            return _("Column %(column)s (%(field)s): %(message)s") % values
        return _("Column %(column)s: %(message)s") % values
    return str(message)


def _state_tags(dataset: Dataset) -> list[tuple[str, str]]:
    tags: dict[str, tuple[str, str]] = {
        Dataset.State.DRAFT: (_("Draft"), "grey"),
        Dataset.State.PUBLISHED: (_("Published"), "green"),
        Dataset.State.WITHDRAWN: (_("Withdrawn"), "red"),
    }
    result = [tags.get(dataset.state, (dataset.state, "grey"))]
    if dataset.private:
        result.append((_("Private"), "purple"))
    return result


def _user(request: HttpRequest) -> Any:
    return request.user


# --- the publisher's datasets ------------------------------------------------------------


@staff_only(PUBLISH)
def home(request: HttpRequest) -> HttpResponse:
    """The datasets of the publisher's remit, last changed first, with their state."""
    datasets = selectors.datasets_for_publisher(user=request.user).annotate(
        files=Count("resources")
    )
    rows = [{"dataset": d, "tags": _state_tags(d)} for d in datasets]
    return render(request, "opendata/staff/home.html", {"rows": rows})


def _dataset_form(request: HttpRequest, *, creating: bool, dataset: Dataset | None) -> DatasetForm:
    departments = selectors.publisher_departments(user=request.user) if creating else None
    return DatasetForm(
        _posted(request),
        initial=DatasetForm.initial_for(dataset) if dataset is not None else None,
        departments=departments,
        wards=jurisdictions_by_code(),
    )


@staff_only(PUBLISH)
def dataset_new(request: HttpRequest) -> HttpResponse:
    """Describe a new dataset; it starts as a draft, seen by the department only."""
    form = _dataset_form(request, creating=True, dataset=None)
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            department = next(
                d
                for d in selectors.publisher_departments(user=request.user)
                if d.slug == form.cleaned_data["department"]
            )
            try:
                dataset = services.dataset_create(
                    actor=_user(request), department=department, fields=form.service_fields()
                )
            except services.DatasetInvalid as error:
                form.add_service_errors(error.errors)
            except DomainError as error:  # outside the publisher's ward
                form.add_error("ward", str(error.message))
            else:
                url = _dataset_url(dataset)
                _remember(request, form, url)
                messages.success(
                    request,
                    _("The dataset is saved as a draft. Add a file, then publish it."),
                )
                return redirect(url)
    return render(
        request, "opendata/staff/dataset_form.html", {"form": form, "dataset": None}, status=status
    )


@staff_only(PUBLISH)
def dataset_edit(request: HttpRequest, name: str) -> HttpResponse:
    """Change a dataset's metadata: a new revision of its public history."""
    dataset = _dataset(request, name)
    form = _dataset_form(request, creating=False, dataset=dataset)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                dataset = services.dataset_update(
                    actor=_user(request), dataset=dataset, fields=form.service_fields()
                )
            except services.DatasetInvalid as error:
                form.add_service_errors(error.errors)
            except DomainError as error:
                form.add_error("ward", str(error.message))
            else:
                messages.success(request, _("The dataset's details are saved."))
                return redirect(_dataset_url(dataset))
    return render(
        request,
        "opendata/staff/dataset_form.html",
        {"form": form, "dataset": dataset},
        status=status,
    )


def _metadata(dataset: Dataset) -> list[tuple[str, Any]]:
    """The dataset's metadata as (label, value) rows of a summary list."""
    rows: list[tuple[str, Any]] = [
        (_("Department"), str(dataset.department)),
        (_("Web address name"), dataset.name),
    ]
    main = settings.LANGUAGE_CODE
    for code, _label in settings.LANGUAGES:
        title = dataset.titles.get(code, "")
        label = (
            _("Title")
            if code == main
            else _("Title in %(language)s") % {"language": language_name(code)}
        )
        rows.append((label, {"text": title, "lang": code}))
    description = dataset.descriptions.get(main, "")
    rows.append((_("Description"), {"text": description, "lang": main, "long": True}))
    licence = LICENCES.get(dataset.licence_id)
    rows.append((_("Licence"), licence.title if licence else dataset.licence_id))
    rows.append((_("Themes"), ", ".join(str(THEMES.get(code, code)) for code in dataset.themes)))
    rows.append((_("Keywords"), ", ".join(dataset.keywords)))
    rows.append(
        (_("Area covered"), str(dataset.ward) if dataset.ward else _("The whole authority"))
    )
    if dataset.temporal_start or dataset.temporal_end:
        rows.append(
            (_("Period covered"), {"start": dataset.temporal_start, "end": dataset.temporal_end})
        )
    else:
        rows.append((_("Period covered"), ""))
    rows.append((_("How often it is updated"), str(FREQUENCIES.get(dataset.frequency, ""))))
    rows.append((_("Version"), dataset.version))
    rows.append(
        (_("Contact"), ", ".join(p for p in (dataset.contact_name, dataset.contact_email) if p))
    )
    rows.append(
        (_("Private"), _("Yes: only the department can see it") if dataset.private else _("No"))
    )
    return rows


@staff_only(PUBLISH)
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    """A dataset as its publisher sees it: metadata, files and their checks, and what can
    be done next (add a file, publish, withdraw)."""
    dataset = _dataset(request, name)
    resources: list[dict[str, Any]] = [
        {"resource": r, "check": check_of(r)} for r in dataset.resources.all()
    ]
    # What stops publication: a table whose check has not passed (yet).
    blocking = [
        r for r in dataset.resources.all() if r.is_tabular and not (r.validation or {}).get("valid")
    ]
    return render(
        request,
        "opendata/staff/dataset.html",
        {
            "dataset": dataset,
            "tags": _state_tags(dataset),
            "metadata": _metadata(dataset),
            "resources": resources,
            "blocking": blocking,
            "checking": any(row["check"].checking for row in resources),
            "withdrawn": dataset.state == Dataset.State.WITHDRAWN,
        },
    )


@staff_only(PUBLISH)
@require_POST
def dataset_publish(request: HttpRequest, name: str) -> HttpResponse:
    """Publish the draft (or the withdrawn dataset again); the reason it cannot be, else."""
    dataset = _dataset(request, name)
    if dataset.state == Dataset.State.PUBLISHED:
        return redirect(_dataset_url(dataset))
    try:
        services.dataset_publish(actor=_user(request), dataset=dataset)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        if dataset.private:
            text = _("The dataset is published, privately: only the department can see it.")
        else:
            text = _("The dataset is published: anyone can find, read and download it.")
        messages.success(request, text)
    return redirect(_dataset_url(dataset))


@staff_only(PUBLISH)
def dataset_withdraw(request: HttpRequest, name: str) -> HttpResponse:
    """Ask why, then withdraw the dataset: it leaves search and harvests; its page and
    history stay, with the reason. Nothing is deleted."""
    dataset = _dataset(request, name)
    form = WithdrawForm(_posted(request))
    status = 200
    if request.method == "POST" and dataset.state == Dataset.State.WITHDRAWN:
        return redirect(_dataset_url(dataset))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.dataset_withdraw(
                    actor=_user(request), dataset=dataset, reason=form.cleaned_data["reason"]
                )
            except services.DatasetInvalid as error:
                for message in error.errors.get("reason", []) or [str(error.message)]:
                    form.add_error("reason", message)
            except DomainError as error:
                form.add_error("reason", str(error.message))
            else:
                messages.success(
                    request,
                    _("The dataset is withdrawn. Its page and history stay, with your reason."),
                )
                return redirect(_dataset_url(dataset))
    return render(
        request,
        "opendata/staff/withdraw.html",
        {"form": form, "dataset": dataset},
        status=status,
    )


# --- files -------------------------------------------------------------------------------


def _upload_errors(form: UploadForm, error: DomainError) -> None:
    if isinstance(error, services.ResourceInvalid):
        form.add_error(
            "upload" if error.field in {"upload", "schema"} else None, str(error.message)
        )
    elif isinstance(error, services.DatasetInvalid):
        for key, texts in error.errors.items():
            for text in texts:
                form.add_error("title" if key == "name" and "title" in form.fields else None, text)
    else:
        form.add_error(None, str(error.message))


@staff_only(PUBLISH)
def resource_new(request: HttpRequest, name: str) -> HttpResponse:
    """Add a file to the dataset. A table is checked at once when it is small, by a
    worker when it is large; its page shows the outcome."""
    dataset = _dataset(request, name)
    form = UploadForm(_posted(request), request.FILES if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["upload"]
            title = form.cleaned_data.get("title") or ""
            try:
                resource = services.resource_add(
                    actor=_user(request),
                    dataset=dataset,
                    filename=upload.name,
                    content=upload,
                    names={settings.LANGUAGE_CODE: title} if title else None,
                )
            except DomainError as error:
                _upload_errors(form, error)
            else:
                resource.dataset = dataset
                url = _resource_url(resource)
                _remember(request, form, url)
                return redirect(url)
    return render(
        request,
        "opendata/staff/upload.html",
        {"form": form, "dataset": dataset, "resource": None},
        status=status,
    )


def _preview(resource: Resource) -> dict[str, Any] | None:
    """The first rows of a loaded table: its column names and rows of cells."""
    if resource.datastore_state != Resource.DatastoreState.LOADED:
        return None
    from ecitizen.opendata import datastore

    try:
        result = datastore.table_preview(resource=resource, limit=PREVIEW_ROWS)
    except datastore.DatastoreError:
        return None
    columns = [str(field["id"]) for field in result.fields]
    rows = [
        ["" if record.get(c) is None else record.get(c) for c in columns]
        for record in result.records
    ]
    return {"columns": columns, "rows": rows}


def _schema_rows(resource: Resource) -> list[dict[str, Any]]:
    rows = []
    for field in (resource.schema or {}).get("fields", []):
        constraints = field.get("constraints") or {}
        rules = []
        if constraints.get("required"):
            rules.append(_("required"))
        if constraints.get("unique"):
            rules.append(_("unique"))
        if constraints.get("minimum") is not None:
            rules.append(_("at least %(value)s") % {"value": constraints["minimum"]})
        if constraints.get("maximum") is not None:
            rules.append(_("at most %(value)s") % {"value": constraints["maximum"]})
        rows.append(
            {
                "name": field.get("name", ""),
                "type": str(validation.FIELD_TYPES.get(field.get("type"), field.get("type"))),
                "rules": ", ".join(rules),
                "description": field.get("description", ""),
            }
        )
    return rows


@staff_only(PUBLISH)
def resource_detail(request: HttpRequest, name: str, resource_id: Any) -> HttpResponse:
    """A file as its publisher sees it: the check's report (every problem, with its row and
    column), a preview of the first rows once loaded, and its fields."""
    resource = _resource(request, name, resource_id)
    report = resource.validation or {}
    problems = [
        {**problem, "text": problem_text(problem), "number": index}
        for index, problem in enumerate(report.get("errors") or [], start=1)
    ]
    check = check_of(resource)
    return render(
        request,
        "opendata/staff/resource.html",
        {
            "dataset": resource.dataset,
            "resource": resource,
            "check": check,
            "problems": problems,
            "summary_problems": problems[:SUMMARY_PROBLEMS],
            "more_problems": max(0, len(problems) - SUMMARY_PROBLEMS),
            "truncated": bool(report.get("truncated")),
            "preview": _preview(resource),
            "schema_rows": _schema_rows(resource),
            "withdrawn": resource.dataset.state == Dataset.State.WITHDRAWN,
        },
    )


@staff_only(PUBLISH)
def resource_replace(request: HttpRequest, name: str, resource_id: Any) -> HttpResponse:
    """A new file for a resource. A table keeps its fields, so a file that does not match
    them is reported."""
    resource = _resource(request, name, resource_id)
    form = UploadForm(
        _posted(request), request.FILES if request.method == "POST" else None, replacing=True
    )
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["upload"]
            try:
                services.resource_replace(
                    actor=_user(request), resource=resource, filename=upload.name, content=upload
                )
            except DomainError as error:
                _upload_errors(form, error)
            else:
                url = _resource_url(resource)
                _remember(request, form, url)
                return redirect(url)
    return render(
        request,
        "opendata/staff/upload.html",
        {"form": form, "dataset": resource.dataset, "resource": resource},
        status=status,
    )


@staff_only(PUBLISH)
def resource_fields(request: HttpRequest, name: str, resource_id: Any) -> HttpResponse:
    """A table's fields (its Table Schema) as a form: a change checks the file again."""
    resource = _resource(request, name, resource_id)
    if not resource.is_tabular:
        raise Http404
    form = SchemaForm(_posted(request), schema=resource.schema or {"fields": []})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            before = resource.schema
            try:
                updated = services.resource_update(
                    actor=_user(request), resource=resource, schema=form.new_schema()
                )
            except DomainError as error:
                form.add_error(None, str(error.message))
            else:
                if updated.schema != before:
                    messages.success(
                        request, _("The fields are saved, and the file is checked against them.")
                    )
                return redirect(_resource_url(resource))
    return render(
        request,
        "opendata/staff/fields.html",
        {"form": form, "dataset": resource.dataset, "resource": resource},
        status=status,
    )


# --- API tokens ----------------------------------------------------------------------------


def _token(request: HttpRequest, token_id: int) -> ApiToken:
    token = selectors.api_tokens_of(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404
    return token


@staff_only(PUBLISH)
def tokens(request: HttpRequest) -> HttpResponse:
    """The publisher's API tokens: name, first characters, created, last used, revoked."""
    return render(
        request,
        "opendata/staff/tokens.html",
        {"tokens": list(selectors.api_tokens_of(user=request.user))},
    )


@staff_only(PUBLISH)
def token_new(request: HttpRequest) -> HttpResponse:
    """Create a token; its secret is shown once, on the next page."""
    form = TokenForm(_posted(request))
    status = 200
    if request.method == "POST":
        again = _already_done(request, form)
        if again is not None:
            return again
        status = 400
        if form.is_valid():
            try:
                token, secret = services.api_token_create(
                    actor=_user(request), name=form.cleaned_data["name"]
                )
            except services.DatasetInvalid as error:
                for text in error.errors.get("name", []) or [str(error.message)]:
                    form.add_error("name", text)
            except DomainError as error:
                form.add_error("name", str(error.message))
            else:
                # Kept in the session only until the next page shows it (and forgets it).
                request.session[NEW_TOKEN_SESSION] = {"token": token.pk, "secret": secret}
                url = reverse("staff:opendata_token", args=[token.pk])
                _remember(request, form, url)
                return redirect(url)
    return render(request, "opendata/staff/token_new.html", {"form": form}, status=status)


@staff_only(PUBLISH)
def token_show(request: HttpRequest, token_id: int) -> HttpResponse:
    """A new token's secret, once: the session forgets it as this page is shown."""
    token = _token(request, token_id)
    waiting = request.session.get(NEW_TOKEN_SESSION) or {}
    if waiting.get("token") != token.pk:
        messages.warning(
            request,
            _(
                "The token “%(name)s” was shown once, when it was created, and cannot be "
                "shown again. If it is lost, revoke it and create a new one."
            )
            % {"name": token.name},
        )
        return redirect("staff:opendata_tokens")
    del request.session[NEW_TOKEN_SESSION]
    response = render(
        request,
        "opendata/staff/token_show.html",
        {
            "token": token,
            "secret": waiting["secret"],
            "site_url": request.build_absolute_uri("/").rstrip("/"),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@staff_only(PUBLISH)
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """Ask, then refuse the token from now on."""
    token = _token(request, token_id)
    if request.method == "POST":
        if token.revoked_at is None:
            services.api_token_revoke(actor=_user(request), token=token)
            messages.success(
                request,
                _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name},
            )
        return redirect("staff:opendata_tokens")
    return render(request, "opendata/staff/token_revoke.html", {"token": token})
