"""Account numbers: one per position of an AccountOpened event, readable, and every single typing
error (a digit changed, two digits swapped) caught by the check digits."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.domain import account_number as n

POSITIONS = st.integers(min_value=0, max_value=n.CAPACITY - 1)
DIGITS = "0123456789"


@given(POSITIONS)
@example(0)
@example(1)
@example(n.CAPACITY - 1)
def test_a_number_leads_back_to_its_position(position):
    number = n.from_position(position)

    assert len(number) == n.LENGTH and number.startswith("TL") and number[2:].isascii() and number[2:].isdigit()
    assert n.to_position(number) == position
    assert n.parse(n.grouped(number)) == number


@given(POSITIONS, POSITIONS)
def test_two_positions_never_share_a_number(first, second):
    assert (n.from_position(first) == n.from_position(second)) == (first == second)


def test_positions_next_to_each_other_get_numbers_that_look_unrelated():
    bodies = [n.from_position(p)[4:] for p in range(1, 6)]

    assert len({b[:4] for b in bodies}) == 5  # no common start to misread one account for the next


@given(POSITIONS, st.data())
def test_any_one_digit_typed_wrong_is_caught(position, data):
    number = n.from_position(position)
    index = data.draw(st.integers(min_value=2, max_value=n.LENGTH - 1), label="index")
    wrong = data.draw(st.sampled_from(DIGITS.replace(number[index], "")), label="digit")
    typed = number[:index] + wrong + number[index + 1 :]

    with pytest.raises(n.MistypedAccountNumber, match="is not a valid account number: check the digits"):
        n.parse(n.grouped(typed))


@given(POSITIONS, st.data())
def test_any_two_neighbouring_digits_swapped_are_caught(position, data):
    number = n.from_position(position)
    index = data.draw(st.integers(min_value=2, max_value=n.LENGTH - 2), label="index")
    typed = number[:index] + number[index + 1] + number[index] + number[index + 2 :]

    if typed == number:  # the same digit twice: swapping them is no error
        assert n.parse(typed) == number
    else:
        with pytest.raises(n.MistypedAccountNumber):
            n.parse(typed)


@given(POSITIONS, st.data())
def test_any_two_digits_swapped_even_apart_are_caught(position, data):
    number = n.from_position(position)
    i, j = sorted(data.draw(st.lists(st.integers(2, n.LENGTH - 1), min_size=2, max_size=2, unique=True)))
    typed = number[:i] + number[j] + number[i + 1 : j] + number[i] + number[j + 1 :]

    if typed != number:
        with pytest.raises(n.MistypedAccountNumber):
            n.parse(typed)


@given(POSITIONS, st.sampled_from(["{}", "{} ", " {}", "{}\t"]), st.booleans(), st.booleans(), st.booleans())
def test_a_number_is_read_however_it_is_spaced_cased_or_prefixed(position, around, lower, no_country, hyphens):
    number = n.from_position(position)
    typed = n.grouped(number[2:] if no_country else number)
    typed = typed.replace(" ", "-") if hyphens else typed
    typed = around.format(typed.lower() if lower else typed)

    assert n.parse(typed) == number


def test_a_mistyped_number_says_so_in_words_and_shows_what_was_typed():
    number = n.from_position(42)
    typed = number[:-1] + str((int(number[-1]) + 1) % 10)

    with pytest.raises(n.MistypedAccountNumber) as refused:
        n.parse(typed.lower())

    assert refused.value.message == f"{n.grouped(typed)} is not a valid account number: check the digits."


@pytest.mark.parametrize(
    "text",
    ["", "TL", "Ada Lovelace", "TL12 3456 7890 1", "TL12 3456 7890 123", "XX12 3456 7890 12", "TL1234567890１２",
     "١٢٣٤٥٦٧٨٩٠١٢", "TL12.3456.7890.12", "6f1c0e2a-3b4d-4c5e-8f90-1a2b3c4d5e6f", "1" * 200],
)  # fmt: skip
def test_text_not_shaped_like_a_number_is_refused_with_an_example(text):
    with pytest.raises(n.MalformedAccountNumber, match=f"like {n.EXAMPLE}"):
        n.parse(text)


def test_the_example_in_messages_is_a_valid_number_of_no_account():
    assert n.to_position(n.EXAMPLE) == 0  # the log's positions start at 1


def test_positions_beyond_ten_digits_have_no_number():
    with pytest.raises(ValueError, match="no account number"):
        n.from_position(n.CAPACITY)


@pytest.mark.parametrize(
    ("text", "start"),
    [("TL12", "TL12"), ("tl12 34", "TL1234"), ("1234", "TL1234"), (" 12-34 ", "TL1234"),
     ("TL12 3456 7890 12", "TL123456789012"), ("Ada", None), ("TL", None), ("", None), ("TL12 3456 7890 123", None),
     ("12a", None), ("١٢", None)],
)  # fmt: skip
def test_the_start_of_a_number_is_read_for_searches(text, start):
    assert n.search_start(text) == start


@given(st.text(max_size=80))
def test_any_text_is_a_number_or_refused_with_a_domain_error_never_a_crash(text):
    try:
        number = n.parse(text)
    except n.InvalidAccountNumber as refused:
        number, message = None, refused.message
    assert number is None or n.from_position(n.to_position(number)) == number
    assert number is not None or message
    start = n.search_start(text)
    assert start is None or (start.startswith("TL") and start[2:].isdigit())
