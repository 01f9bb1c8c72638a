""" "You said, we did" in the public API (``/api/v1/you-said-we-did/<service>``): what
residents' feedback changed in a service, public like its page. Sending feedback stays on
the website (an email confirmation guards it against abuse)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.feedback import selectors
from ecitizen.feedback.models import ServiceChange

router = Router(auth=None)


class ServiceChangeOut(Schema):
    you_said: str
    we_did: str
    language: str
    published_at: datetime.datetime


def _change(change: ServiceChange) -> dict[str, Any]:
    return {
        "you_said": change.you_said,
        "we_did": change.we_did,
        "language": change.language,
        "published_at": change.published_at,
    }


@router.get("/{slug}", response=page_of(ServiceChangeOut), url_name="service_changes_list")
def service_changes_list(request: HttpRequest, slug: str, page: Query[PageQuery]) -> dict[str, Any]:
    """The changes made to a service after residents' feedback, newest first; 404 for a
    service not published."""
    service = selectors.service_for_changes(slug=slug)
    return paginate(request, selectors.changes_published(service=service), page, transform=_change)
