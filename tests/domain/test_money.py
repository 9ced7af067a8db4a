"""Amounts typed by people become integer minor units, or a clear refusal."""

import pytest

from ledger.domain.money import AmountFormatError, format_money, parse_amount


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", "EUR", 1234),
        ("12", "EUR", 1200),
        ("0.5", "EUR", 50),
        ("1,234.50", "EUR", 123450),
        (" 7 ", "USD", 700),
        ("1500", "JPY", 1500),
        ("1,000,000", "JPY", 1000000),
    ],
)
def test_plain_amounts_become_minor_units(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        ("-5", "greater than zero"),
        ("12.345", "at most 2 decimal places"),
        ("abc", "plain number"),
        ("NaN", "plain number"),
        ("Infinity", "plain number"),
        ("1e5", "plain number"),
        ("١٢٣", "plain number"),
        ("１２", "plain number"),
        ("12,34", "plain number"),
        ("1.2.3", "plain number"),
        ("9" * 65, "plain number"),
        ("0x10", "plain number"),
        ("+5", "plain number"),
    ],
)
def test_malformed_amounts_are_refused_with_a_reason(text, message):
    with pytest.raises(AmountFormatError, match=message):
        parse_amount(text, "EUR")


def test_yen_has_no_decimal_places():
    with pytest.raises(AmountFormatError, match="no decimal places"):
        parse_amount("10.5", "JPY")


def test_money_is_formatted_with_grouping_and_currency():
    assert format_money(123456789, "EUR") == "1,234,567.89 EUR"
    assert format_money(-50, "USD") == "-0.50 USD"
    assert format_money(1500, "JPY") == "1,500 JPY"
