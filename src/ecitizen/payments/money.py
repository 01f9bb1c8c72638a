"""Amounts in the platform's currency (``settings.CURRENCY``): minor units in storage and
arithmetic, written the reader's way on the page (Unicode CLDR conventions, by Babel).

A currency's minor unit is its own (ISO 4217, as Babel knows it): pence and cents are
hundredths, but a yen has none and a Kuwaiti dinar has a thousand fils. Nothing in the
platform assumes 100: convert with :func:`to_minor` and :func:`from_minor`, and ask
:func:`currency_precision` for the number of decimals.
"""

from __future__ import annotations

import functools
from decimal import Decimal, DecimalTuple

from babel import Locale
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)
from django.conf import settings
from django.utils import translation

from ecitizen.core.processcache import Kept, babel_locale

#: The symbol of the currency in each language, read once (a list of bills or of payments
#: writes an amount per cell).
_symbols: Kept[str] = Kept()


def _symbol(locale: Locale) -> str:
    """The symbol of the site's currency in ``locale``."""
    return _symbols.get_or_make(
        (str(locale), settings.CURRENCY),
        lambda: str(get_currency_symbol(settings.CURRENCY, locale=locale)),
    )


def currency_precision(currency: str | None = None) -> int:
    """How many decimals ``currency`` (default: ``settings.CURRENCY``) has: GBP 2,
    JPY 0, KWD 3."""
    return int(get_currency_precision(currency or settings.CURRENCY))


def minor_quantum(currency: str | None = None) -> Decimal:
    """The smallest amount of ``currency`` in major units, to round to:
    ``Decimal("0.01")`` for GBP, ``Decimal("1")`` for JPY, ``Decimal("0.001")`` for KWD."""
    return Decimal(1).scaleb(-currency_precision(currency))


def from_minor(amount_minor: int, currency: str | None = None) -> Decimal:
    """``123450`` → ``Decimal("1234.50")`` for GBP; ``1234`` → ``Decimal("1234")`` for
    JPY (exact: no rounding, no float)."""
    return Decimal(int(amount_minor)).scaleb(-currency_precision(currency))


def to_minor(amount: Decimal, currency: str | None = None) -> int:
    """An amount of ``currency`` (default: the platform's) in minor units: exact, it
    refuses a fraction of the minor unit (``Decimal("0.005")`` of a pound)."""
    precision = currency_precision(currency)
    value = Decimal(amount).scaleb(precision)
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {precision} decimal places")
    return int(value)


def currency_symbol() -> str:
    """The symbol the site writes for its currency, in every language:
    ``CURRENCY_SYMBOL`` when set, else the one of the authority's own language
    (``LANGUAGE_CODE``): ``£`` for GBP in English.

    Why one symbol: a locale's own symbol tells currencies of the same name apart for
    readers abroad (Arabic writes the pound sterling ``UK£``, French ``£GB``), which
    on a site that charges in a single currency only adds letters of another script to
    an Arabic page. The digits, separators and the place of the symbol stay the
    reader's."""
    configured = str(getattr(settings, "CURRENCY_SYMBOL", "") or "")
    if configured:
        return configured
    return _symbol(babel_locale(settings.LANGUAGE_CODE))


def format_money(amount: Decimal | int | str, *, language: str | None = None) -> str:
    """An amount in major units, in ``language`` (default: the active one), with the
    currency's own number of decimals: for GBP, ``1234.5`` → en ``£1,234.50``,
    fr ``1 234,50 £``, ar ``1,234.50 £`` (after a right-to-left mark); JPY ``¥1,235``;
    KWD ``KWD 1,234.500``. Negative amounts keep their sign (``-£1,234.50``)."""
    value = Decimal(amount)
    return _money_text(
        value.as_tuple(),
        language or translation.get_language() or settings.LANGUAGE_CODE,
        settings.CURRENCY,
        str(getattr(settings, "CURRENCY_SYMBOL", "") or ""),
        settings.LANGUAGE_CODE,
    )


@functools.lru_cache(maxsize=4096)
def _money_text(
    exact: DecimalTuple,
    language: str,
    currency: str,
    _configured_symbol: str,
    _site_language: str,
) -> str:
    """:func:`format_money`'s text, kept by everything it depends on: the amount, the
    language and the settings that choose the currency and its symbol
    (:func:`currency_symbol`). Babel takes some sixty microseconds an amount, and lists
    write the same amounts again and again (instalments, fees). ``exact`` is the
    amount's ``as_tuple()``, which tells apart what ``Decimal`` equality does not (``-0``
    and ``0``, ``35`` and ``35.00``). Bounded, since amounts are people's data."""
    locale = babel_locale(language)
    # Decimal() takes back any as_tuple(); typeshed leaves out a special value's lettered
    # exponent (NaN, Infinity), hence the ignore.
    amount = Decimal(exact)  # type: ignore[arg-type]
    text = str(format_currency(amount, currency, locale=locale, currency_digits=True))
    own = _symbol(locale)
    symbol = currency_symbol()
    return text.replace(own, symbol, 1) if own != symbol else text


def format_minor(amount_minor: int, *, language: str | None = None) -> str:
    """``123450`` → ``£1,234.50`` for GBP, ``123450`` → ``¥123,450`` for JPY (see
    :func:`format_money`)."""
    return format_money(from_minor(amount_minor), language=language)


def format_minor_in(amount_minor: int, currency: str, *, language: str | None = None) -> str:
    """An amount in minor units of any ``currency`` (what a provider reported), with that
    currency's own number of decimals and the reader's symbol for it (it may not be the
    site's currency): ``(7000, "EUR")`` → ``€70.00``. Something that is not a currency
    code is not interpreted: the bare number and what was reported (``7000 ??``)."""
    code = currency.upper()
    if not code.isascii() or not code.isalpha() or len(code) != 3:
        return f"{int(amount_minor)} {currency}".strip()
    amount = from_minor(amount_minor, code)
    return str(format_currency(amount, code, locale=babel_locale(language), currency_digits=True))


def format_number(value: Decimal | int, *, language: str | None = None) -> str:
    """A number that is not an amount (a tax rate, a percentage) in ``language``
    (default: the active one), written the way the amounts are: ``0.62`` in English,
    ``0,62`` in French. Every digit is kept (``0.012345``)."""
    return str(
        format_decimal(Decimal(value), locale=babel_locale(language), decimal_quantization=False)
    )


def minor_to_text(amount_minor: int, currency: str | None = None) -> str:
    """An amount in minor units as plain decimal text with the currency's decimals, for
    machines (CSV files): ``123450`` → ``"1234.50"`` (GBP), ``"123450"`` (JPY),
    ``"123.450"`` (KWD)."""
    return f"{from_minor(amount_minor, currency):f}"
