"""Reading CKAN action parameters: integers, booleans, lists, JSON given as strings.

Every problem is CKAN's "Validation Error" naming the parameter, so a bad value never
reaches a query (and never becomes a 500).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from ecitizen.opendata.ckan.registry import ValidationError

TRUE = {"true", "1", "yes", "on", "t", "y"}
#: The largest integer any parameter takes (offsets, pages, limits): larger numbers would
#: only overflow the database's integers.
MAX_INTEGER = 10**9
FALSE = {"false", "0", "no", "off", "f", "n", ""}


def invalid(key: str, message: str) -> ValidationError:
    return ValidationError(fields={key: [message]})


def integer(
    data: Mapping[str, Any],
    key: str,
    default: int | None,
    *,
    minimum: int = 0,
    maximum: int | None = None,
) -> int | None:
    """``data[key]`` as an integer in [minimum, maximum] (``maximum`` defaults to
    :data:`MAX_INTEGER`), else ``default`` when absent."""
    value = data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(key, _("Invalid integer"))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise invalid(key, _("Invalid integer")) from None
    if number < minimum:
        raise invalid(
            key,
            _("Must be a natural number")
            if minimum == 0
            else _("Must be at least %(n)d") % {"n": minimum},
        )
    if maximum is None:
        maximum = MAX_INTEGER
    if number > maximum:
        raise invalid(key, _("Must be %(n)d or less") % {"n": maximum})
    return number


def boolean(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise invalid(key, _("Use true or false"))


def text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, list | dict):
        raise invalid(key, _("Give one value as text"))
    return str(value)


def json_value(data: Mapping[str, Any], key: str) -> Any:
    """A value that clients send as JSON inside a string (GET, form data) or as JSON."""
    value = data.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise invalid(key, _("Could not parse as valid JSON")) from None
    return value


def string_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings: a JSON list, a list (repeated GET parameter) or one string."""
    value = data.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            value = json_value(data, key)
        else:
            return [stripped]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(key, _("Give a list of names"))
    return list(value)


def required(data: Mapping[str, Any], key: str) -> str:
    """CKAN's ``get_or_bust``: a missing key is ``{key: "Missing value"}``."""
    value = data.get(key)
    if value is None or value == "" or isinstance(value, list | dict):
        raise ValidationError(fields={key: _("Missing value")})
    return str(value)
