"""A tax year's configuration file: reading and checking it.

One YAML file per year (``taxes/config/2027.yaml``)::

    year: 2027
    department: revenue          # the department issuing the bills (its slug)
    starts_on: 2027-04-01        # optional: 1 April of the year to 31 March after
    ends_on: 2028-03-31
    rates:                       # tax per unit of assessed value, for every use class
      residential: "0.0068"
      commercial: "0.0125"
      ...
    reliefs:                     # a property gets the most generous one it qualifies for
      - kind: owner_occupier
        percent: "10"
        use_classes: [residential]
        owner_occupier_only: true
      - kind: small_property
        percent: "25"
        max_value: "150000.00"   # in the currency, not minor units
    instalments: [2027-04-30, 2027-07-31, 2027-10-31, 2028-01-31]

Numbers are best quoted: they are read as Decimal text, never as floats.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ecitizen.core.errors import DomainError
from ecitizen.payments.money import currency_precision, to_minor
from ecitizen.taxes.models import Relief, UseClass

CONFIG_DIR = Path(__file__).resolve().parent / "config"
MAX_INSTALMENTS = 12
KNOWN_KEYS = {"year", "department", "starts_on", "ends_on", "rates", "reliefs", "instalments"}
RELIEF_KEYS = {"kind", "percent", "use_classes", "owner_occupier_only", "max_value"}


class TaxConfigError(DomainError):
    """The configuration file is malformed; the message names the key and the problem."""

    code = "tax_config_invalid"


@dataclass(frozen=True)
class ReliefConfig:
    kind: str
    percent: str  # Decimal text
    use_classes: tuple[str, ...]
    owner_occupier_only: bool
    max_value_minor: int | None


@dataclass(frozen=True)
class YearConfig:
    year: int
    department: str
    starts_on: date
    ends_on: date
    rates: dict[str, str]  # use class -> Decimal text
    reliefs: tuple[ReliefConfig, ...]
    instalments: tuple[date, ...]

    def canonical(self) -> dict[str, Any]:
        data = asdict(self)
        data["starts_on"] = self.starts_on.isoformat()
        data["ends_on"] = self.ends_on.isoformat()
        data["instalments"] = [due.isoformat() for due in self.instalments]
        data["reliefs"] = sorted(data["reliefs"], key=lambda relief: relief["kind"])
        return data

    @property
    def checksum(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TaxConfigError(f"{where} must be a number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise TaxConfigError(f"{where} must be a number.") from None
    if not number.is_finite() or number < 0:
        raise TaxConfigError(f"{where} must be zero or more.")
    return number


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise TaxConfigError(f"{where} must be a date written YYYY-MM-DD.") from None


def _text(value: Decimal) -> str:
    """Canonical Decimal text: ``0.00650`` and ``.0065`` both read ``0.0065``."""
    text = format(value.normalize(), "f")
    return text


def _reliefs(items: Any) -> tuple[ReliefConfig, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise TaxConfigError("reliefs must be a list.")
    out: list[ReliefConfig] = []
    for index, item in enumerate(items):
        where = f"reliefs[{index}]"
        if not isinstance(item, dict):
            raise TaxConfigError(f"{where} must be a mapping.")
        unknown = set(item) - RELIEF_KEYS
        if unknown:
            raise TaxConfigError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        kind = item.get("kind")
        if kind not in Relief.Kind.values:
            raise TaxConfigError(f"{where}.kind must be one of {', '.join(Relief.Kind.values)}.")
        if kind in {relief.kind for relief in out}:
            raise TaxConfigError(f"{where} repeats the relief {kind}.")
        percent = _decimal(item.get("percent"), f"{where}.percent")
        if not 0 < percent <= 100:
            raise TaxConfigError(f"{where}.percent must be more than 0 and at most 100.")
        classes = item.get("use_classes") or []
        if not isinstance(classes, list) or not set(classes) <= set(UseClass.values):
            raise TaxConfigError(
                f"{where}.use_classes must list use classes among {', '.join(UseClass.values)}."
            )
        only_occupier = item.get("owner_occupier_only", False)
        if not isinstance(only_occupier, bool):
            raise TaxConfigError(f"{where}.owner_occupier_only must be true or false.")
        max_value_minor = None
        if item.get("max_value") is not None:
            try:
                max_value_minor = to_minor(_decimal(item["max_value"], f"{where}.max_value"))
            except ValueError:
                raise TaxConfigError(
                    f"{where}.max_value has more than {currency_precision()} decimal places."
                ) from None
        out.append(
            ReliefConfig(
                kind=kind,
                percent=_text(percent),
                use_classes=tuple(sorted(set(classes))),
                owner_occupier_only=only_occupier,
                max_value_minor=max_value_minor,
            )
        )
    return tuple(out)


def year_config_parse(data: Any) -> YearConfig:
    """Check a year's configuration (the YAML file's content) and return it.
    Raises :class:`TaxConfigError` naming the first problem."""
    if not isinstance(data, dict):
        raise TaxConfigError("The file must hold a mapping.")
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise TaxConfigError(f"Unknown keys: {', '.join(sorted(unknown))}.")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2200:
        raise TaxConfigError("year must be a year such as 2027.")
    department = data.get("department")
    if not isinstance(department, str) or not department:
        raise TaxConfigError("department must be the slug of a department.")
    starts_on = _date(data.get("starts_on", date(year, 4, 1)), "starts_on")
    ends_on = _date(data.get("ends_on", date(year + 1, 3, 31)), "ends_on")
    if ends_on <= starts_on:
        raise TaxConfigError("ends_on must be after starts_on.")

    rates = data.get("rates")
    if not isinstance(rates, dict):
        raise TaxConfigError("rates must map each use class to its rate.")
    missing = set(UseClass.values) - set(rates)
    extra = set(rates) - set(UseClass.values)
    if missing or extra:
        raise TaxConfigError(
            f"rates must give exactly these use classes: {', '.join(UseClass.values)}."
        )
    rate_texts = {
        use_class: _text(_decimal(rate, f"rates.{use_class}")) for use_class, rate in rates.items()
    }
    for use_class, text in rate_texts.items():
        if Decimal(text) >= 1:
            raise TaxConfigError(
                f"rates.{use_class} must be less than 1 (it is tax per unit of value)."
            )

    instalments = data.get("instalments")
    if not isinstance(instalments, list) or not 1 <= len(instalments) <= MAX_INSTALMENTS:
        raise TaxConfigError(f"instalments must list 1 to {MAX_INSTALMENTS} due dates.")
    dates = tuple(_date(value, f"instalments[{i}]") for i, value in enumerate(instalments))
    if any(later <= earlier for earlier, later in itertools.pairwise(dates)):
        raise TaxConfigError("instalments must be in order, each after the one before.")

    return YearConfig(
        year=year,
        department=department,
        starts_on=starts_on,
        ends_on=ends_on,
        rates=dict(sorted(rate_texts.items())),
        reliefs=_reliefs(data.get("reliefs")),
        instalments=dates,
    )


def year_config_read(path: Path) -> YearConfig:
    """Read and check a configuration file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TaxConfigError(f"Cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise TaxConfigError(f"{path} is not valid YAML: {error}") from None
    try:
        return year_config_parse(data)
    except TaxConfigError as error:
        raise TaxConfigError(f"{path.name}: {error.message}") from None
