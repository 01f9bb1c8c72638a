"""Downloads: a resource's file as uploaded, and its DataStore table as CSV, JSON or
Parquet, streamed. Anyone who may read the dataset may download; drafts and private
datasets answer 404 to everyone else."""

from __future__ import annotations

from typing import Any

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseBase,
    HttpResponseNotModified,
)
from django.utils.http import content_disposition_header

from ecitizen.core.access import public
from ecitizen.opendata import datastore, selectors
from ecitizen.opendata.models import Resource


def _resource(request: HttpRequest, name: str, resource_id: str) -> Resource:
    try:
        return selectors.resource_for_reader(
            user=request.user, dataset_name=name, resource_id=str(resource_id)
        )
    except selectors.DatasetNotFound:
        raise Http404 from None


def _not_modified(request: HttpRequest, etag: str) -> bool:
    sent = request.headers.get("If-None-Match", "")
    return etag in {tag.strip() for tag in sent.split(",")} or sent.strip() == "*"


def _cached(response: HttpResponseBase, etag: str, *, public_data: bool) -> HttpResponseBase:
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300" if public_data else "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@public
def resource_download(
    request: HttpRequest, name: str, resource_id: str, filename: str
) -> Any:  # HttpResponse, FileResponse (streaming) or 304
    """The uploaded file as it is, streamed, with its checksum as ETag."""
    resource = _resource(request, name, resource_id)
    if not resource.file:
        raise Http404
    stored = resource.file.name.rsplit("/", 1)[-1]
    if filename != stored:
        raise Http404
    etag = f'"{resource.checksum}"' if resource.checksum else ""
    public_data = resource.dataset.is_public
    if etag and _not_modified(request, etag):
        return _cached(HttpResponseNotModified(), etag, public_data=public_data)
    try:
        handle = resource.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=stored, content_type=resource.media_type or None
    )
    return _cached(response, etag, public_data=public_data) if etag else response


@public
def resource_export(
    request: HttpRequest, name: str, resource_id: str, fmt: str
) -> Any:  # FileResponse (streaming) or 304
    """The DataStore table as ``fmt`` (csv, json, parquet), streamed; 404 for another
    format or a table not loaded."""
    if fmt not in datastore.EXPORTS:
        raise Http404
    resource = _resource(request, name, resource_id)
    if resource.datastore_state != Resource.DatastoreState.LOADED:
        raise Http404
    etag = f'"{resource.datastore_table.rsplit("/", 1)[-1].removesuffix(".duckdb")}-{fmt}"'
    public_data = resource.dataset.is_public
    if _not_modified(request, etag):
        return _cached(HttpResponseNotModified(), etag, public_data=public_data)
    try:
        path = datastore.export_path(resource=resource, fmt=fmt)
    except datastore.TableMissing:
        raise Http404 from None
    stem = (resource.file.name.rsplit("/", 1)[-1].rsplit(".", 1)[0] if resource.file else "") or (
        resource.dataset.name
    )
    response = FileResponse(path.open("rb"), content_type=datastore.EXPORTS[fmt][0])
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}.{fmt}") or ""
    return _cached(response, etag, public_data=public_data)
