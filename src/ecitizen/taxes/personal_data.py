"""What the taxes app holds about a resident, for their data rights (the ``privacy``
app): the properties they own on the tax roll (their share, never the other owners'
names) and the tax reminders sent to them. The tax bills are exported by ``payments``.
Registered as ``taxes`` in ``TaxesConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "taxes"


def export(user: Any) -> dict[str, Any]:
    """The ownerships of ``user`` (the property's address decrypted) and the tax notices
    sent to them."""
    from ecitizen.taxes.models import Ownership, TaxNotice

    items: list[dict[str, Any]] = []
    ownerships = Ownership.objects.filter(owner=user).select_related("property__ward")
    for ownership in ownerships.order_by("start", "pk"):
        place = ownership.property
        items.append(
            {
                "kind": "property_ownership",
                "parcel": place.parcel,
                "address": place.address,
                "ward": place.ward.name,
                "use_class": place.use_class,
                "assessed_value_minor": place.assessed_value_minor,
                "exemption": place.exemption,
                "name_on_the_roll": ownership.owner_name,
                "share": ownership.share,
                "owner_occupier": ownership.owner_occupier,
                "start": ownership.start,
                "end": ownership.end,
            }
        )
    notices = TaxNotice.objects.filter(recipient=user).select_related("bill")
    for notice in notices.order_by("sent_at", "pk"):
        items.append(
            {
                "kind": "tax_notice",
                "bill_reference": notice.bill.reference,
                "instalment": notice.instalment,
                "type": notice.kind,
                "amount_minor": notice.amount_minor,
                "due_date": notice.due_date,
                "sent_at": notice.sent_at,
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your property tax"),
    purpose=_("To assess and collect the property tax on the properties you own."),
    lawful_basis="legal_obligation",
    categories=(
        _("Properties you own, their address and value, your share"),
        _("Reliefs and exemptions"),
        _("Reminders and overdue notices"),
    ),
    recipients=_("Revenue officers of the authority; auditors of the accounts."),
    retention=_("As long as tax law requires, also after an account is closed."),
    export=export,
    order=50,
)
