"""National identity numbers: normalisation, validation and the blind index."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ecitizen.core import crypto

_BLIND_INDEX_CONTEXT = "accounts.residentprofile.national_id"
# Riverton's identity numbers are two letters and eight digits (e.g. RV12345678); spaces
# and hyphens that people type are ignored.
_PATTERN = re.compile(r"^[A-Z]{2}[0-9]{8}$")


def normalise_national_id(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def validate_national_id(value: str) -> str:
    """The normalised number, or a ``ValidationError`` that tells the person the format."""
    normalised = normalise_national_id(value)
    if not _PATTERN.fullmatch(normalised):
        raise ValidationError(
            _("Enter a national identity number in the correct format, like RV12345678"),
            code="invalid_national_id",
        )
    return normalised


def national_id_index(value: str) -> str:
    """The blind index stored beside an (encrypted) national identity number."""
    return crypto.blind_index(normalise_national_id(value), context=_BLIND_INDEX_CONTEXT)
