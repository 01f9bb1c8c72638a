"""Participation processes in the public API (``/api/v1/processes``): the published
processes, public and read-only like their pages. Taking part (responding, supporting,
voting) stays on the website, where who takes part is checked."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.participation.models import Process
from ecitizen.participation.selectors import processes as selectors

router = Router(auth=None)


class ProcessOut(Schema):
    slug: str
    title: str
    summary: str
    description: str
    department: str
    wards: list[str]
    created_at: datetime.datetime


def _process(process: Process) -> dict[str, Any]:
    return {
        "slug": process.slug,
        "title": process.title,
        "summary": process.summary,
        "description": process.description,
        "department": str(process.department),
        "wards": [ward.code for ward in process.wards.all()],
        "created_at": process.created_at,
    }


@router.get("", response=page_of(ProcessOut), url_name="participation_processes")
def participation_processes(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """Published participation processes (consultations, proposals, budgets), newest
    first."""
    return paginate(request, selectors.processes_published(), page, transform=_process)
