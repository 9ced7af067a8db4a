"""Money: integer minor units plus an ISO 4217 currency; parsing and formatting, never floats."""

from __future__ import annotations

import re
from decimal import Decimal

# Supported currencies and their minor-unit exponent (ISO 4217).
CURRENCIES: dict[str, int] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "JPY": 0}

# A single movement may not exceed this many minor units; a balance may not exceed MAX_BALANCE.
# Both keep every figure far inside Postgres' bigint and catch fat-fingered amounts.
MAX_AMOUNT = 10**11
MAX_BALANCE = 10**15

# ASCII digits only (re.ASCII): "١٢٣" or full-width digits are not amounts.
_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", re.ASCII)


class AmountFormatError(ValueError):
    """A typed amount that is not a plain decimal number with the currency's precision."""


def exponent(currency: str) -> int:
    return CURRENCIES[currency]


def parse_amount(text: str, currency: str) -> int:
    """Turn what a person typed ("1,234.50") into minor units (123450) for `currency`."""
    cleaned = text.strip()
    if not cleaned:
        raise AmountFormatError("Enter an amount.")
    if cleaned.startswith("-"):
        raise AmountFormatError("The amount must be greater than zero.")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None or len(cleaned) > 64:
        raise AmountFormatError("Enter the amount as a plain number, for example 1250.00.")
    decimals = match.group(1) or ""
    places = exponent(currency)
    if len(decimals) > places:
        if places == 0:
            raise AmountFormatError(f"{currency} amounts have no decimal places.")
        raise AmountFormatError(f"{currency} amounts have at most {places} decimal places.")
    return int(Decimal(cleaned.replace(",", "")).scaleb(places))


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str) -> str:
    """1234550, "EUR" -> "12,345.50 EUR"."""
    places = exponent(currency)
    return f"{to_decimal(minor, currency):,.{places}f} {currency}"
