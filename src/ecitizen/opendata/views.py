"""The catalogue's public pages: search with facets, a dataset (metadata, files, a preview
of its first rows, a chart of a time series, the API calls that fetch it), a file and its
data dictionary, a dataset's public history and any earlier version, the organisations.

Paths follow CKAN's (``/dataset/<name>``, ``/organization/<name>``). Readers see public
datasets; a publisher also sees the drafts and private datasets of their remit (the
selectors decide; anything else is "not found"). Pages work without JavaScript.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.catalogue.spec import localised
from ecitizen.core.access import public
from ecitizen.core.authority import localised_name
from ecitizen.core.forms import html_text
from ecitizen.core.listing import Addresses, day_month_year, first_words, sentence
from ecitizen.opendata import charts, selectors
from ecitizen.opendata.forms import (
    FACET_FILTERS,
    SORT_CHOICES,
    SearchWordsForm,
    filters_html,
    read_search,
)
from ecitizen.opendata.models import Dataset, Resource
from ecitizen.opendata.packages import resource_download_path
from ecitizen.opendata.presentation import result_items
from ecitizen.opendata.vocabularies import EU_FREQUENCY, FREQUENCIES, LICENCES, THEMES

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_PAGE = 100_000
HISTORY_PAGE_SIZE = 50
PREVIEW_ROWS = 10
CHART_ROWS = 500
EXPORT_FORMATS = (("csv", "CSV"), ("json", "JSON"), ("parquet", "Parquet"))

#: Table Schema types in words (the data dictionary).
FIELD_TYPE_WORDS = {
    "string": gettext_lazy("Text"),
    "integer": gettext_lazy("Whole number"),
    "number": gettext_lazy("Number"),
    "boolean": gettext_lazy("Yes or no"),
    "date": gettext_lazy("Date"),
    "datetime": gettext_lazy("Date and time"),
    "time": gettext_lazy("Time of day"),
    "year": gettext_lazy("Year"),
    "yearmonth": gettext_lazy("Year and month"),
    "duration": gettext_lazy("Duration"),
    "geopoint": gettext_lazy("Geographic point"),
    "geojson": gettext_lazy("GeoJSON geometry"),
    "object": gettext_lazy("JSON object"),
    "array": gettext_lazy("JSON list"),
    "any": gettext_lazy("Any value"),
}


# --- helpers -----------------------------------------------------------------------------


def _dataset_or_404(request: HttpRequest, name: str) -> Dataset:
    try:
        return selectors.dataset_for_reader(user=request.user, name_or_id=name)
    except selectors.DatasetNotFound as error:
        raise Http404(_("There is no dataset at this address.")) from error


def _absolute(request: HttpRequest, path: str, params: dict[str, Any] | None = None) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return request.build_absolute_uri(path + query)


def _action(request: HttpRequest, action: str, params: dict[str, Any]) -> str:
    path = reverse("opendata:ckan_action", kwargs={"logic_function": action})
    return _absolute(request, path, params)


def _api_calls(request: HttpRequest, dataset: Dataset, resource: Resource | None) -> dict[str, Any]:
    """The exact requests that fetch this dataset (and this table) by the API, and its
    DCAT-AP documents."""
    package_show = _action(request, "package_show", {"id": dataset.name})
    search = ""
    if _loaded(resource) and resource is not None:
        search = _action(request, "datastore_search", {"resource_id": str(resource.id), "limit": 5})
    base = request.build_absolute_uri("/").rstrip("/")

    def dcat(fmt: str) -> str:
        path = reverse("opendata:dcat_dataset", kwargs={"name": dataset.name, "fmt": fmt})
        return _absolute(request, path)

    return {
        "package_show": package_show,
        "datastore_search": search,
        "resource_show": _action(request, "resource_show", {"id": str(resource.id)})
        if resource is not None
        else "",
        "schema": reverse(
            "opendata:resource_schema",
            kwargs={"name": dataset.name, "resource_id": resource.id},
        )
        if resource is not None and resource.is_tabular
        else "",
        "curl": f"curl '{search or package_show}'",
        "ckanapi": f"ckanapi action package_show id={dataset.name} -r {base}",
        "dcat": [
            ("Turtle", "text/turtle", dcat("ttl")),
            ("JSON-LD", "application/ld+json", dcat("jsonld")),
            ("RDF/XML", "application/rdf+xml", dcat("rdf")),
        ],
    }


def _loaded(resource: Resource | None) -> bool:
    return resource is not None and resource.datastore_state == Resource.DatastoreState.LOADED


@dataclass
class Preview:
    caption: str
    columns: list[dict[str, Any]]
    rows: list[list[dict[str, Any]]]
    total: int | None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def _preview(resource: Resource | None) -> tuple[Preview | None, str]:
    """The first rows of a loaded table, or why there are none."""
    if resource is None:
        return None, ""
    if not _loaded(resource):
        return None, str(Resource.DatastoreState(resource.datastore_state).label)
    from ecitizen.opendata import datastore

    try:
        result = datastore.table_preview(resource=resource, limit=PREVIEW_ROWS)
    except datastore.DatastoreError as error:
        logger.warning("preview of %s failed: %s", resource.id, error)
        return None, _("The preview is not available at the moment.")
    numeric = {"int", "numeric", "integer", "number"}
    columns: list[dict[str, Any]] = [
        {"id": str(f["id"]), "numeric": f.get("type") in numeric}
        for f in result.fields
        if not str(f["id"]).startswith("_")
    ]
    rows = [
        [{"value": _cell(record.get(c["id"])), "numeric": c["numeric"]} for c in columns]
        for record in result.records
    ]
    total = resource.datastore_rows or getattr(result, "total", None)
    caption = _("The first %(count)d rows of “%(name)s”") % {
        "count": len(rows),
        "name": resource.name(),
    }
    return Preview(caption=caption, columns=columns, rows=rows, total=total), ""


def _chart(resource: Resource | None, id_prefix: str) -> charts.Chart | None:
    """A line chart when the table is a time series (its data from the DataStore): its
    numbers against time or, when each point in time has several rows, its first number
    as one series per value of a text column that has few values (a site, a ward)."""
    if not _loaded(resource) or resource is None:
        return None
    found = charts.time_series_fields(resource.schema)
    if found is None:
        return None
    time_field, kind, numbers = found
    texts = charts.text_fields(resource.schema)
    from ecitizen.opendata import datastore

    try:
        result = datastore.table_search(
            resource=resource,
            fields=[time_field, *numbers, *texts],
            sort=f"{time_field} asc",
            limit=CHART_ROWS,
            include_total=False,
        )
    except datastore.DatastoreError as error:
        logger.warning("chart of %s failed: %s", resource.id, error)
        return None
    labels = {
        str(f.get("name")): str(f.get("title") or f.get("name"))
        for f in (resource.schema or {}).get("fields", [])
    }
    title = _("%(name)s over time") % {"name": resource.name()}
    chart = charts.line_chart(
        records=result.records,
        time_field=time_field,
        time_kind=kind,
        value_fields=numbers,
        title=title,
        id_prefix=id_prefix,
        labels=labels,
    )
    for category in texts if chart is None else ():
        split = charts.series_by_category(
            result.records, time_field=time_field, category_field=category, value_field=numbers[0]
        )
        if split is not None:
            rows, categories = split
            return charts.line_chart(
                records=rows,
                time_field=time_field,
                time_kind=kind,
                value_fields=categories,
                title=_("%(value)s by %(category)s over time")
                % {"value": labels.get(numbers[0], numbers[0]), "category": labels[category]},
                id_prefix=id_prefix,
                labels={time_field: labels.get(time_field, time_field)},
            )
    return chart


def _first_chart(resources: list[Resource], id_prefix: str) -> charts.Chart | None:
    """The chart of the first of the dataset's tables that is a time series."""
    for resource in resources:
        if resource.is_tabular and (chart := _chart(resource, id_prefix)) is not None:
            return chart
    return None


def _resource_row(resource: Resource) -> dict[str, Any]:
    dataset_name = resource.dataset.name
    exports = []
    if _loaded(resource):
        exports = [
            (
                label,
                reverse(
                    "opendata:resource_export",
                    kwargs={"name": dataset_name, "resource_id": resource.id, "fmt": fmt},
                ),
            )
            for fmt, label in EXPORT_FORMATS
        ]
    return {
        "resource": resource,
        "name": resource.name(),
        "download": resource_download_path(resource) if (resource.file or resource.url) else "",
        "external": bool(resource.url and not resource.file),
        "exports": exports,
        "url": reverse(
            "opendata:resource", kwargs={"name": dataset_name, "resource_id": resource.id}
        ),
        "state": str(Resource.DatastoreState(resource.datastore_state).label)
        if resource.is_tabular and not _loaded(resource)
        else "",
    }


def _constraints(field: dict[str, Any]) -> list[str]:
    constraints = field.get("constraints") or {}
    words: list[str] = []
    if constraints.get("unique"):
        words.append(_("Every value is different"))
    if "minimum" in constraints:
        words.append(_("At least %(value)s") % {"value": constraints["minimum"]})
    if "maximum" in constraints:
        words.append(_("At most %(value)s") % {"value": constraints["maximum"]})
    if "minLength" in constraints:
        words.append(_("At least %(count)s characters") % {"count": constraints["minLength"]})
    if "maxLength" in constraints:
        words.append(_("At most %(count)s characters") % {"count": constraints["maxLength"]})
    if "pattern" in constraints:
        words.append(_("Matches the pattern %(pattern)s") % {"pattern": constraints["pattern"]})
    if "enum" in constraints:
        words.append(
            _("One of: %(values)s") % {"values": ", ".join(str(v) for v in constraints["enum"])}
        )
    return words


def _dictionary(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The Table Schema as rows of the data dictionary."""
    rows = []
    for field in (schema or {}).get("fields", []):
        kind = str(field.get("type") or "any")
        rows.append(
            {
                "name": field.get("name", ""),
                "title": field.get("title", ""),
                "type": FIELD_TYPE_WORDS.get(kind, kind),
                "format": field.get("format", "")
                if field.get("format") not in ("", "default")
                else "",
                "required": bool((field.get("constraints") or {}).get("required")),
                "description": field.get("description", ""),
                "constraints": _constraints(field),
            }
        )
    return rows


def _theme_rows(codes: list[str]) -> list[tuple[str, str]]:
    return [(str(THEMES[code]), code.lower()) for code in codes if code in THEMES]


def _search_url(**params: str) -> str:
    return f"{reverse('opendata:search')}?{urlencode(params)}"


@dataclass
class PageLink:
    number: int | None  # None: an ellipsis
    url: str = ""
    current: bool = False


def _pagination(number: int, pages: int, query: list[tuple[str, str]]) -> dict[str, Any]:
    """GOV.UK pagination: previous, next, and the page numbers around this one."""

    def url(n: int) -> str:
        return "?" + urlencode([*query, ("page", str(n))])

    wanted = sorted({1, pages, number - 1, number, number + 1} & set(range(1, pages + 1)))
    items: list[PageLink] = []
    for n in wanted:
        if items and items[-1].number is not None and n - (items[-1].number or 0) > 1:
            items.append(PageLink(None))
        items.append(PageLink(n, url(n), n == number))
    return {
        "pages": pages,
        "number": number,
        "items": items if pages > 1 else [],
        "previous": url(number - 1) if number > 1 else "",
        "next": url(number + 1) if number < pages else "",
    }


def _page_number(raw: str | None, notices: list[str]) -> int:
    if raw in (None, ""):
        return 1
    try:
        number = int(str(raw))
    except ValueError:
        number = 0
    number = min(number, MAX_PAGE)  # past the end anyway; keeps the offset in range
    if number < 1:
        notices.append(
            _("“%(page)s” is not a page number: the first page is shown.") % {"page": str(raw)[:20]}
        )
        return 1
    return number


def _search_page(
    request: HttpRequest, query: selectors.SearchQuery, notices: list[str]
) -> tuple[selectors.SearchResult, int, int]:
    """One page of a search, the page past the end clamped to the last (with a notice)."""
    number = _page_number(request.GET.get("page"), notices)
    query.start, query.rows = (number - 1) * PAGE_SIZE, PAGE_SIZE
    result = selectors.dataset_search(user=request.user, query=query)
    pages = max(1, math.ceil(result.count / PAGE_SIZE))
    if number > pages:
        notices.append(
            _("There is no page %(page)d: the last page, %(last)d, is shown.")
            % {"page": number, "last": pages}
        )
        number = pages
        query.start = (number - 1) * PAGE_SIZE
        query.facet_fields = ()
        facets = result.facets
        result = selectors.dataset_search(user=request.user, query=query)
        result.facets = facets
    return result, number, pages


_DATASET = Addresses("opendata:dataset")


def _format_tags(formats: list[str]) -> SafeString:
    """A grey tag for each format, each followed by a space (a result's formats)."""
    return SafeString(
        "".join(
            f'<strong class="govuk-tag govuk-tag--grey">{html_text(name)}</strong> '
            for name in formats
        )
    )


def _result_rows(result: selectors.SearchResult) -> list[dict[str, Any]]:
    """The rows of ``opendata/_results.html`` for a listing's result, each value worked
    out here: ``url``, ``title``, ``department``, ``description`` (its first forty
    words), ``formats`` (its resources' formats as tags) and ``updated`` (when it last
    changed, in a sentence)."""
    last_updated = _("Last updated %(date)s")
    # Looked up once for the page, not once a value (each reads a context-local variable).
    language, zone = get_language(), timezone.get_current_timezone()
    rows = []
    for dataset in result.datasets:
        department = dataset.department
        modified = day_month_year(dataset.modified, language, zone)
        rows.append(
            {
                "url": _DATASET(dataset.name),
                "title": dataset.title(language),
                "description": first_words(dataset.description(language), 40),
                "department": localised_name(department.name, department.names, language),
                "formats": _format_tags(result.formats[dataset.pk]),
                "updated": sentence(last_updated, date=modified),
            }
        )
    return rows


# --- search --------------------------------------------------------------------------------


@public
def dataset_search(request: HttpRequest) -> HttpResponse:
    """Search the catalogue: words, facet filters (with counts), an order, pages."""
    asked = read_search(request.GET)
    notices: list[str] = []
    sort = asked["sort"]
    if sort not in dict(SORT_CHOICES):
        notices.append(
            _("The datasets cannot be sorted by “%(sort)s”: they are shown last updated first.")
            % {"sort": sort[:50]}
        )
        sort = ""
    terms = [(name, value) for name, values in asked["terms"].items() for value in values]
    query = selectors.SearchQuery(
        q=asked["q"],
        terms=terms,
        sort=sort,
        facet_fields=tuple(FACET_FILTERS),
        facet_limit=50,
        listing=True,
    )
    try:
        result, number, pages = _search_page(request, query, notices)
    except selectors.SearchInvalid:  # not reached: the sort is one of ours
        raise Http404 from None
    labels = selectors.facet_labels()
    kept: list[tuple[str, str]] = []
    if asked["q"]:
        kept.append(("q", asked["q"]))
    kept += terms
    if sort:
        kept.append(("sort", sort))
    filters = filters_html(facets=result.facets, labels=labels, chosen=asked["terms"], sort=sort)
    chosen = [
        {
            "label": FACET_FILTERS[name],
            "value": labels.get(name, {}).get(value, value),
            "remove": "?" + urlencode([pair for pair in kept if pair != (name, value)]),
        }
        for name, value in terms
    ]
    return render(
        request,
        "opendata/search.html",
        {
            "form": SearchWordsForm(initial={"q": asked["q"]}),
            "filters": filters,
            "query": asked["q"],
            "count": result.count,
            "results": result_items(_result_rows(result)),
            "pagination": _pagination(number, pages, kept),
            "start": (number - 1) * PAGE_SIZE + 1,
            "notices": notices,
            "chosen": chosen,
            "filtered": bool(kept),
        },
    )


# --- a dataset -----------------------------------------------------------------------------


def _temporal(dataset: Dataset) -> dict[str, Any]:
    return {"start": dataset.temporal_start, "end": dataset.temporal_end}


@public
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _dataset_or_404(request, name)
    resources = list(dataset.resources.all())
    tabular = next((r for r in resources if r.is_tabular and _loaded(r)), None)
    tabular = tabular or next((r for r in resources if r.is_tabular), None)
    preview, preview_note = _preview(tabular)
    licence = LICENCES.get(dataset.licence_id)
    return render(
        request,
        "opendata/dataset.html",
        {
            "dataset": dataset,
            "title": dataset.title(),
            "description": dataset.description(),
            "licence": licence,
            "themes": _theme_rows(dataset.themes),
            "keywords": [(word, _search_url(tags=word)) for word in dataset.keywords],
            "frequency": FREQUENCIES.get(dataset.frequency, ""),
            "temporal": _temporal(dataset),
            "resources": [_resource_row(r) for r in resources],
            "tabular": tabular,
            "preview": preview,
            "preview_note": preview_note,
            "chart": _first_chart(resources, "chart-dataset"),
            "api": _api_calls(request, dataset, tabular),
            "withdrawn": dataset.state == Dataset.State.WITHDRAWN,
            "draft": dataset.state == Dataset.State.DRAFT,
        },
    )


@public
def resource_detail(request: HttpRequest, name: str, resource_id: Any) -> HttpResponse:
    try:
        resource = selectors.resource_for_reader(
            user=request.user, dataset_name=name, resource_id=str(resource_id)
        )
    except selectors.DatasetNotFound as error:
        raise Http404(_("There is no file at this address.")) from error
    dataset = resource.dataset
    preview, preview_note = _preview(resource) if resource.is_tabular else (None, "")
    return render(
        request,
        "opendata/resource.html",
        {
            "dataset": dataset,
            "dataset_title": dataset.title(),
            "resource": resource,
            "row": _resource_row(resource),
            "dictionary": _dictionary(resource.schema),
            "validation": resource.validation or {},
            "preview": preview,
            "preview_note": preview_note,
            "chart": _chart(resource, "chart-resource"),
            "api": _api_calls(request, dataset, resource),
            "withdrawn": dataset.state == Dataset.State.WITHDRAWN,
        },
    )


# --- history -------------------------------------------------------------------------------


@public
def dataset_history(request: HttpRequest, name: str) -> HttpResponse:
    dataset = _dataset_or_404(request, name)
    page = Paginator(
        selectors.dataset_revisions(dataset=dataset, user=request.user).only(
            "number", "at", "summary"
        ),
        HISTORY_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "opendata/history.html",
        {
            "dataset": dataset,
            "title": dataset.title(),
            "page": page,
            "summary_language": settings.LANGUAGE_CODE,
            "withdrawn": dataset.state == Dataset.State.WITHDRAWN,
        },
    )


def _when(value: Any) -> datetime | None:
    """A snapshot's naive UTC timestamp (CKAN's form) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _snapshot_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What a revision's snapshot (a CKAN package dict) shows."""
    extras = {
        e.get("key"): e.get("value") for e in snapshot.get("extras", []) if isinstance(e, dict)
    }
    frequency = str(extras.get("frequency") or "").removeprefix(EU_FREQUENCY)
    ward_code = extras.get("spatial_uri")
    ward = Jurisdiction.objects.filter(code=ward_code).first() if ward_code else None
    organization = snapshot.get("organization") or {}
    return {
        "title": localised(snapshot.get("title_translated")) or snapshot.get("title", ""),
        "description": localised(snapshot.get("notes_translated")) or snapshot.get("notes") or "",
        "organization": organization.get("title", ""),
        "organization_name": organization.get("name", ""),
        "licence_title": snapshot.get("license_title") or "",
        "licence_url": snapshot.get("license_url") or "",
        "themes": [
            str(THEMES[g["name"].upper()])
            for g in snapshot.get("groups", [])
            if g.get("name", "").upper() in THEMES
        ],
        "keywords": [t.get("name", "") for t in snapshot.get("tags", [])],
        "spatial": str(ward) if ward else (ward_code or ""),
        "temporal_start": extras.get("temporal_start") or "",
        "temporal_end": extras.get("temporal_end") or "",
        "frequency": FREQUENCIES.get(frequency, ""),
        "version": snapshot.get("version") or "",
        "contact_name": extras.get("contact_name") or "",
        "contact_email": extras.get("contact_email") or "",
        "issued": _when(extras.get("issued")),
        "modified": _when(snapshot.get("metadata_modified")),
        "withdrawn_reason": extras.get("withdrawn_reason") or "",
        "state": snapshot.get("state", ""),
        "resources": [
            {
                "id": r.get("id", ""),
                "name": localised(r.get("name_translated")) or r.get("name") or r.get("format", ""),
                "format": r.get("format", ""),
                "size": r.get("size"),
                "hash": str(r.get("hash") or "").removeprefix("sha256:"),
            }
            for r in snapshot.get("resources", [])
            if isinstance(r, dict)
        ],
    }


@public
def dataset_revision(request: HttpRequest, name: str, number: int) -> HttpResponse:
    dataset = _dataset_or_404(request, name)
    revision = (
        selectors.dataset_revisions(dataset=dataset, user=request.user)
        .filter(number=number)
        .only("number", "at", "summary", "snapshot")
        .first()
    )
    if revision is None:
        raise Http404(_("This dataset has no such version."))
    current_ids = {str(r.id) for r in dataset.resources.all()}
    snapshot = _snapshot_view(revision.snapshot or {})
    for item in snapshot["resources"]:
        item["url"] = (
            reverse("opendata:resource", kwargs={"name": dataset.name, "resource_id": item["id"]})
            if item["id"] in current_ids
            else ""
        )
    return render(
        request,
        "opendata/revision.html",
        {
            "dataset": dataset,
            "title": dataset.title(),
            "revision": revision,
            "snapshot": snapshot,
            "latest": revision.number == dataset.revision,
            "summary_language": settings.LANGUAGE_CODE,
        },
    )


# --- organisations ---------------------------------------------------------------------------


@public
def organization_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "opendata/organizations.html",
        {"organizations": selectors.organizations_with_counts(user=request.user)},
    )


@public
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise Http404(_("There is no organisation at this address."))
    notices: list[str] = []
    query = selectors.SearchQuery(terms=[("organization", department.slug)], listing=True)
    result, number, pages = _search_page(request, query, notices)
    return render(
        request,
        "opendata/organization.html",
        {
            "department": department,
            "count": result.count,
            "results": result_items(_result_rows(result)),
            "pagination": _pagination(number, pages, []),
            "start": (number - 1) * PAGE_SIZE + 1,
            "notices": notices,
            "search_url": _search_url(organization=department.slug),
        },
    )
