"""The roll: properties and their owners."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.core.services import audit_record
from ecitizen.taxes.models import Exemption, Ownership, Property, UseClass
from ecitizen.taxes.services.common import TaxError


@dataclass(frozen=True)
class OwnerSpec:
    name: str
    owner_id: int | None = None
    share: Decimal = Decimal(1)
    owner_occupier: bool = False
    start: date | None = None  # default: the day of registration


@dataclass(frozen=True)
class PropertySpec:
    parcel: str
    address_line_1: str
    town: str
    postcode: str
    ward_id: int
    use_class: str
    assessed_value_minor: int
    address_line_2: str = ""
    exemption: str = ""
    owners: Sequence[OwnerSpec] = field(default_factory=tuple)


def _check_property(spec: PropertySpec) -> None:
    if spec.use_class not in UseClass.values:
        raise TaxError(_("Unknown use class %(value)s.") % {"value": spec.use_class})
    if spec.exemption not in Exemption.values:
        raise TaxError(_("Unknown exemption %(value)s.") % {"value": spec.exemption})
    if spec.assessed_value_minor < 0:
        raise TaxError(_("An assessed value cannot be negative."))
    if sum((owner.share for owner in spec.owners), Decimal(0)) > 1:
        raise TaxError(_("The owners' shares add up to more than the whole property."))


@transaction.atomic
def properties_register_bulk(
    *, properties: Iterable[PropertySpec], actor: Any, batch_size: int = 2000
) -> int:
    """Add properties (and their owners) to the roll; parcels already on it are left as
    they are. One audit event for the whole import. Returns how many were added.

    For imports from the land registry and for the demo; raises :class:`TaxError` on an
    unknown use class or exemption, a negative value, or shares over 1.
    """
    specs = list(properties)
    for spec in specs:
        _check_property(spec)
    existing = set(
        Property.objects.filter(parcel__in=[spec.parcel for spec in specs]).values_list(
            "parcel", flat=True
        )
    )
    todo = [spec for spec in specs if spec.parcel not in existing]
    if not todo:
        return 0
    now = timezone.now()
    today = timezone.localdate()
    created = Property.objects.bulk_create(
        [
            Property(
                parcel=spec.parcel,
                address_line_1=spec.address_line_1,
                address_line_2=spec.address_line_2,
                town=spec.town,
                postcode=spec.postcode,
                ward_id=spec.ward_id,
                use_class=spec.use_class,
                assessed_value_minor=spec.assessed_value_minor,
                exemption=spec.exemption,
                created_at=now,
                updated_at=now,
            )
            for spec in todo
        ],
        batch_size=batch_size,
    )
    if any(prop.pk is None for prop in created):  # backends that return no ids
        ids = dict(
            Property.objects.filter(parcel__in=[spec.parcel for spec in todo]).values_list(
                "parcel", "pk"
            )
        )
    else:
        ids = {prop.parcel: prop.pk for prop in created}
    Ownership.objects.bulk_create(
        [
            Ownership(
                property_id=ids[spec.parcel],
                owner_id=owner.owner_id,
                owner_name=owner.name,
                share=owner.share,
                owner_occupier=owner.owner_occupier,
                start=owner.start or today,
            )
            for spec in todo
            for owner in spec.owners
        ],
        batch_size=batch_size,
    )
    audit_record(
        action="taxes.properties_registered",
        actor=actor,
        object_type="taxes.property",
        object_id=f"{todo[0].parcel}..{todo[-1].parcel}",
        changes={"count": len(todo)},
    )
    return len(todo)


def property_register(*, spec: PropertySpec, actor: Any) -> Property:
    """Add one property (and its owners) to the roll; raises :class:`TaxError` if its
    parcel number is on the roll already."""
    with transaction.atomic():
        if Property.objects.filter(parcel=spec.parcel).exists():
            raise TaxError(_("Parcel %(parcel)s is on the roll already.") % {"parcel": spec.parcel})
        properties_register_bulk(properties=[spec], actor=actor)
        return Property.objects.get(parcel=spec.parcel)


@transaction.atomic
def ownership_record(
    *,
    property: Property,
    owner_name: str,
    start: date,
    actor: Any,
    owner: User | None = None,
    share: Decimal = Decimal(1),
    owner_occupier: bool = False,
) -> Ownership:
    """Record that someone owns (a share of) ``property`` from ``start``. Raises
    :class:`TaxError` when the current shares would add up to more than 1."""
    Property.objects.select_for_update().filter(pk=property.pk).first()
    current = sum(
        (o.share for o in Ownership.objects.filter(property=property, end__isnull=True)),
        Decimal(0),
    )
    if current + share > 1:
        raise TaxError(_("The owners' shares add up to more than the whole property."))
    ownership = Ownership.objects.create(
        property=property,
        owner=owner,
        owner_name=owner_name,
        share=share,
        owner_occupier=owner_occupier,
        start=start,
    )
    audit_record(
        action="taxes.ownership_recorded",
        actor=actor,
        obj=ownership,
        subject_user_id=owner.pk if owner is not None else None,
        changes={"parcel": property.parcel, "share": share, "owner_occupier": owner_occupier},
    )
    return ownership


@transaction.atomic
def ownership_end(*, ownership: Ownership, end: date, actor: Any) -> Ownership:
    """Record that an ownership ended on ``end`` (a sale, a death)."""
    if end < ownership.start:
        raise TaxError(_("An ownership cannot end before it started."))
    ownership.end = end
    ownership.save(update_fields=["end"])
    audit_record(
        action="taxes.ownership_ended",
        actor=actor,
        obj=ownership,
        subject_user_id=ownership.owner_id,
        changes={"end": end},
    )
    return ownership
