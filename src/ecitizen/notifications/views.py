"""The resident's inbox; staff pages for deliveries and the development SMS outbox."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecitizen.core.access import signed_in, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.notifications import selectors, services
from ecitizen.notifications.forms import DeliveryFilterForm
from ecitizen.notifications.models import Status

#: Who may see deliveries and send a failed one again, and read the SMS outbox.
#: Notification delivery is the operators' concern: messages of every department and
#: their recipients (notifications carry no department), so it is held by platform
#: administrators only.
DELIVERIES = selectors.DELIVERIES


@signed_in
def inbox(request: HttpRequest) -> HttpResponse:
    page = selectors.inbox_page(user=request.user, page_number=request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@signed_in
def inbox_message(request: HttpRequest, notification_id: int) -> HttpResponse:
    message = selectors.inbox_message_get_for_user(
        user=request.user, notification_id=notification_id
    )
    services.notification_mark_read(notification=message, actor=request.user)
    return render(request, "notifications/inbox_message.html", {"message": message})


# --- Staff ------------------------------------------------------------------------------


@staff_only(DELIVERIES)
def deliveries(request: HttpRequest) -> HttpResponse:
    """Notifications by status and channel; failed ones when no filter is chosen, with a
    link to those stuck in the queue."""
    filtered = "status" in request.GET or "channel" in request.GET
    form = DeliveryFilterForm(request.GET if filtered else {"status": Status.FAILED})
    status = channel = None
    if form.is_valid():
        status = form.cleaned_data["status"] or None
        channel = form.cleaned_data["channel"] or None
    notifications = selectors.notifications_for_staff(status=status, channel=channel)
    page = Paginator(notifications, selectors.STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "notifications/staff_deliveries.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "stuck_count": selectors.notification_stuck_count(),
            "stuck_minutes": settings.NOTIFICATION_STUCK_MINUTES,
        },
    )


@staff_only(DELIVERIES)
@require_POST
def delivery_retry(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notification_get_for_staff(notification_id=notification_id)
    try:
        services.notification_retry(
            notification=notification, actor=request.user, ip_address=client_ip(request)
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("Notification %(number)s has been queued to be sent again.")
            % {"number": notification.pk},
        )
    back = reverse("staff:notifications")
    next_url = request.POST.get("next", "")
    # Back to the same filtered page; anything else goes to the page itself.
    return redirect(next_url if next_url.startswith(back + "?") else back)


@staff_only(DELIVERIES)
def sms_outbox(request: HttpRequest) -> HttpResponse:
    page = selectors.sms_outbox_page_for_staff(
        actor=request.user, page_number=request.GET.get("page"), ip_address=client_ip(request)
    )
    return render(request, "notifications/staff_sms_outbox.html", {"page": page})
