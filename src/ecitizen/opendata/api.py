"""The open data catalogue in the public API (``/api/v1/datasets``): published public
datasets, read-only. The CKAN Action API (``/api/3/action/``) and DCAT-AP remain the
standard interfaces, with search and the DataStore; this is the same catalogue in the
shape of the rest of this API."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.opendata import selectors
from ecitizen.opendata.models import Dataset
from ecitizen.opendata.packages import resource_download_path

router = Router(auth=None)


class ResourceOut(Schema):
    id: str
    name: str
    format: str
    media_type: str
    download_url: str


class DatasetSummary(Schema):
    name: str
    title: str
    department: str
    licence: str
    keywords: list[str]
    modified: datetime.datetime


class DatasetDetail(DatasetSummary):
    description: str
    state: str
    resources: list[ResourceOut]


def _summary(dataset: Dataset) -> dict[str, Any]:
    return {
        "name": dataset.name,
        "title": dataset.title(),
        "department": str(dataset.department),
        "licence": dataset.licence_id,
        "keywords": [str(keyword) for keyword in dataset.keywords or []],
        "modified": dataset.modified,
    }


@router.get("", response=page_of(DatasetSummary), url_name="datasets_list")
def datasets_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The public datasets (published or withdrawn), by name."""
    datasets = selectors.datasets_visible(None, include_private=False).select_related("department")
    return paginate(request, datasets, page, ordering="name", transform=_summary)


@router.get("/{name}", response=DatasetDetail, url_name="dataset_detail")
def dataset_detail(request: HttpRequest, name: str) -> dict[str, Any]:
    """One public dataset with its resources; 404 for drafts, private and unknown ones."""
    try:
        dataset = selectors.dataset_for_reader(user=None, name_or_id=name)
    except selectors.DatasetNotFound as error:
        raise Http404 from error
    return {
        **_summary(dataset),
        "description": dataset.description(),
        "state": dataset.state,
        "resources": [
            {
                "id": str(resource.pk),
                "name": resource.name(),
                "format": resource.format,
                "media_type": resource.media_type,
                "download_url": request.build_absolute_uri(resource_download_path(resource)),
            }
            for resource in dataset.resources.all()
        ],
    }
