"""Forms of the notifications pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ecitizen.notifications.models import Channel, Status


class DeliveryFilterForm(forms.Form):
    """Filters of the staff delivery page (a GET form; empty means any)."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Status.choices, ("stuck", _("Stuck in the queue"))],
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("Any channel")), *Channel.choices],
    )
