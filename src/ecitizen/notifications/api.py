"""The resident's inbox in the public API (``/api/v1/messages``, scope
``notifications:read``). Reading through the API does not mark a message read."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema

from ecitizen.api.auth import OAuth2, principal_of
from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.notifications import selectors
from ecitizen.notifications.models import Notification

router = Router()


class MessageSummary(Schema):
    id: int
    subject: str
    created_at: datetime.datetime
    read: bool


class Message(MessageSummary):
    body: str


def _summary(message: Notification) -> dict[str, Any]:
    return {
        "id": message.pk,
        "subject": message.subject,
        "created_at": message.created_at,
        "read": message.read_at is not None,
    }


@router.get(
    "",
    response=page_of(MessageSummary),
    auth=OAuth2(["notifications:read"]),
    url_name="messages_list",
)
def messages_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The resident's inbox, newest first."""
    user = principal_of(request).user
    return paginate(request, selectors.inbox_messages(user=user), page, transform=_summary)


@router.get(
    "/{message_id}",
    response=Message,
    auth=OAuth2(["notifications:read"]),
    url_name="message_detail",
)
def message_detail(
    request: HttpRequest, message_id: int = Path(..., ge=1, le=2**63 - 1)
) -> dict[str, Any]:
    """One message of the resident's inbox; 404 for anyone else's."""
    user = principal_of(request).user
    message = selectors.inbox_message_get_for_user(user=user, notification_id=message_id)
    return {**_summary(message), "body": message.body}
