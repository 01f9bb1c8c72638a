"""DCAT-AP 3 for harvesters: the catalogue (paged with Hydra) and each dataset, in Turtle,
JSON-LD and RDF/XML; each tabular resource's Table Schema as JSON.

The catalogue lists the public datasets only (published, not private, not withdrawn: a
withdrawn dataset leaves harvests). One dataset is read as its page is: a draft or private
dataset exists only for its department's publishers, and is "not found" to anyone else.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Max, Min, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from ecitizen.core.access import public
from ecitizen.opendata import selectors
from ecitizen.opendata.dcat.graph import FORMATS_RDF, DcatGraph, Paging, serialise
from ecitizen.opendata.models import Dataset, DatasetRevision, Resource

#: Datasets per page of the catalogue (ckanext-dcat's default is 100).
DEFAULT_PAGE_SIZE = 100


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _rdf_response(graph: DcatGraph, fmt: str) -> HttpResponse:
    _rdflib_format, media_type = FORMATS_RDF[fmt]
    response = HttpResponse(
        serialise(graph.graph, fmt), content_type=f"{media_type}; charset=utf-8"
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _page_size() -> int:
    return max(1, int(getattr(settings, "OPENDATA_DCAT_PAGE_SIZE", DEFAULT_PAGE_SIZE)))


def _since(value: str) -> datetime | None:
    """``modified_since`` as a date or date-time (ISO 8601); ValueError if it is neither."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _catalogue_datasets() -> QuerySet[Dataset]:
    """The datasets of the public catalogue (harvested): public, not withdrawn."""
    return selectors.datasets_visible(None, include_private=False).exclude(
        state=Dataset.State.WITHDRAWN
    )


def _version_notes(datasets: list[Dataset]) -> dict[Any, str]:
    """What the latest change of each dataset was (its revision's summary)."""
    wanted = {(d.pk, d.revision) for d in datasets}
    rows = DatasetRevision.objects.filter(
        dataset__in=[d.pk for d in datasets], number__in={n for _pk, n in wanted}
    ).values_list("dataset_id", "number", "summary")
    return {pk: summary for pk, number, summary in rows if (pk, number) in wanted}


@public
def catalog_root(request: HttpRequest) -> HttpResponse:
    """The catalogue's URI: 303 to the serialisation the client accepts (Turtle unless
    it asks for JSON-LD or RDF/XML), or to the search page for a browser."""
    accept = request.headers.get("Accept", "")
    for fmt in ("jsonld", "rdf", "ttl"):
        if FORMATS_RDF[fmt][1] in accept:
            break
    else:
        if "text/html" in accept:
            return redirect(reverse("opendata:search"), permanent=False)
        fmt = "ttl"
    query = request.META.get("QUERY_STRING", "")
    target = reverse("opendata:dcat_catalog", kwargs={"fmt": fmt})
    response = HttpResponse(status=303)
    response["Location"] = f"{target}?{query}" if query else target
    response["Vary"] = "Accept"
    return response


@public
def catalog(request: HttpRequest, fmt: str) -> HttpResponse:
    """One page of the catalogue (``?page=N``, from 1); ``?modified_since=`` (a date or
    date-time) keeps the datasets changed since then, as ckanext-dcat's does."""
    page_text = request.GET.get("page", "1").strip() or "1"
    if not page_text.isdigit() or int(page_text) < 1:
        return _bad_request(_("“page” must be a whole number from 1."))
    page = int(page_text)
    datasets = _catalogue_datasets()
    filters: dict[str, str] = {}
    since_text = request.GET.get("modified_since", "").strip()
    if since_text:
        try:
            since = _since(since_text)
        except ValueError:
            return _bad_request(
                _("“modified_since” must be a date or date-time such as 2026-01-31.")
            )
        datasets = datasets.filter(modified__gte=since)
        filters["modified_since"] = since_text
    total = datasets.count()
    per_page = _page_size()
    paging = Paging(
        page=page,
        per_page=per_page,
        total=total,
        page_url=lambda number: request.build_absolute_uri(
            reverse("opendata:dcat_catalog", kwargs={"fmt": fmt})
            + "?"
            + urlencode({**filters, "page": number})
        ),
    )
    if page > paging.last:
        raise Http404
    rows = list(
        datasets.select_related("department", "ward")
        .prefetch_related(
            Prefetch("resources", queryset=Resource.objects.order_by("position", "created"))
        )
        .order_by("name")[(page - 1) * per_page : page * per_page]
    )
    dates = _catalogue_datasets().aggregate(issued=Min("issued"), modified=Max("modified"))
    graph = DcatGraph(base_url=_base_url(request))
    graph.catalog(
        rows,
        issued=dates["issued"],
        modified=dates["modified"],
        version_notes=_version_notes(rows),
    )
    graph.paging(paging)
    return _rdf_response(graph, fmt)


@public
def dataset(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """One dataset (and its distributions) as DCAT-AP."""
    try:
        found = selectors.dataset_for_reader(user=request.user, name_or_id=name)
    except selectors.DatasetNotFound as error:
        raise Http404 from error
    graph = DcatGraph(base_url=_base_url(request))
    graph.dataset(found, version_notes=_version_notes([found]).get(found.pk, ""))
    response = _rdf_response(graph, fmt)
    if not found.is_public:  # a publisher's draft or private dataset
        response["Cache-Control"] = "private, no-store"
        del response["Access-Control-Allow-Origin"]
    return response


@public
def resource_schema(request: HttpRequest, name: str, resource_id: str) -> HttpResponse:
    """A tabular resource's Frictionless Table Schema (what its distribution
    ``dct:conformsTo``)."""
    try:
        resource = selectors.resource_for_reader(
            user=request.user, dataset_name=name, resource_id=str(resource_id)
        )
    except selectors.DatasetNotFound as error:
        raise Http404 from error
    if resource.schema is None:
        raise Http404
    response = JsonResponse(resource.schema, json_dumps_params={"ensure_ascii": False})
    if resource.dataset.is_public:
        response["Access-Control-Allow-Origin"] = "*"
    else:
        response["Cache-Control"] = "private, no-store"
    return response
