"""Helpers to build a tax roll in tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ecitizen.taxes import services
from ecitizen.taxes.models import Exemption, Property, UseClass
from ecitizen.taxes.services import OwnerSpec, PropertySpec

POUND = 100


def make_property(
    parcel: str,
    ward,
    *,
    use_class: str = UseClass.RESIDENTIAL,
    value_pounds: int = 250_000,
    owners=(),
    exemption: str = "",
    postcode: str = "RV1 2AB",
) -> Property:
    return services.property_register(
        spec=PropertySpec(
            parcel=parcel,
            address_line_1=f"{parcel[-2:]} Mill Lane",
            town="Riverton",
            postcode=postcode,
            ward_id=ward.pk,
            use_class=use_class,
            assessed_value_minor=value_pounds * POUND,
            exemption=exemption,
            owners=tuple(owners),
        ),
        actor=None,
    )


def owner(user=None, *, name: str = "Sam Owner", occupier: bool = False, share: str = "1"):
    return OwnerSpec(
        name=name,
        owner_id=user.pk if user is not None else None,
        share=Decimal(share),
        owner_occupier=occupier,
        start=date(2020, 1, 1),
    )


#: (use class, value in pounds, owner-occupied, exemption) of the roll's properties,
#: cycled to build as many as a test asks for.
ROLL_PATTERN = [
    (UseClass.RESIDENTIAL, 250_000, True, ""),
    (UseClass.RESIDENTIAL, 180_500, False, ""),
    (UseClass.COMMERCIAL, 140_000, False, ""),  # small property relief
    (UseClass.COMMERCIAL, 620_000, False, ""),
    (UseClass.INDUSTRIAL, 1_250_000, False, ""),
    (UseClass.AGRICULTURAL, 410_000, False, ""),
    (UseClass.CHARITY, 300_000, False, ""),  # fully relieved: no bill
    (UseClass.RESIDENTIAL, 95_333, True, ""),
    (UseClass.RESIDENTIAL, 400_000, False, Exemption.UNINHABITABLE),  # exempt: no bill
]


def make_roll(wards, count: int) -> list[Property]:
    """``count`` properties following :data:`ROLL_PATTERN`, alternating wards."""
    specs = []
    for index in range(count):
        use_class, value, occupied, exemption = ROLL_PATTERN[index % len(ROLL_PATTERN)]
        specs.append(
            PropertySpec(
                parcel=f"RV{index:06d}",
                address_line_1=f"{index + 1} River Walk",
                town="Riverton",
                postcode="RV2 4CD",
                ward_id=wards[index % 2].pk,
                use_class=use_class,
                assessed_value_minor=value * POUND,
                exemption=exemption,
                owners=(owner(name=f"Owner {index}", occupier=occupied),),
            )
        )
    services.properties_register_bulk(properties=specs, actor=None)
    return list(Property.objects.order_by("pk"))


def taxable(count: int) -> int:
    """How many of ``make_roll(count)``'s properties owe tax."""
    return sum(
        1
        for index in range(count)
        if ROLL_PATTERN[index % len(ROLL_PATTERN)][0] != UseClass.CHARITY
        and not ROLL_PATTERN[index % len(ROLL_PATTERN)][3]
    )
