"""Template context for the header: how many inbox messages the person has not read.

Add ``"ecitizen.notifications.context_processors.inbox"`` to the template context
processors, then in a template::

    {% if inbox_unread_count %}... {{ inbox_unread_count }} unread ...{% endif %}

The count is computed on first use in a page, with one query, and cached for the rest of
that page; pages that do not use it, and signed-out visitors, cost no query.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest

from ecitizen.notifications.selectors import inbox_unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)

    @functools.cache
    def unread() -> int:
        return inbox_unread_count(user=user)

    # Django templates call a callable variable: the query runs only where it is used.
    return {"inbox_unread_count": unread}
