"""Account numbers people can read and say: `TL` + 2 check digits + 10 digits, IBAN-style.

An account's number is a fixed scramble of the position of its AccountOpened event in the log.
Positions are unique and assigned by the event store when the account is opened, so numbers are
unique by construction and need no allocation: anything that has the events (a projection, the
history view, the event browser) can compute them, and a resubmitted "open account" (the same
command, so the same event) keeps its number. The scramble is an affine map modulo 10^10 with a
multiplier coprime to 10, a bijection on the ten-digit bodies, so consecutive accounts do not get
consecutive-looking numbers and `to_position` undoes it exactly.

The check digits are ISO 7064 MOD 97-10 as IBAN computes them (the body, then the letters as
numbers and the check digits, must leave 1 modulo 97). The whole number is 16 digits in that
arrangement and 10 has order 96 modulo 97, so any one digit changed, and any two different digits
swapped (adjacent or not), changes the remainder: every such typing error is caught.

Limit: 10^10 positions have a number; the ten-billionth event would need a longer body.
"""

from __future__ import annotations

import re

from ledger.domain.errors import DomainError

COUNTRY = "TL"
COUNTRY_DIGITS = "2921"  # T = 29, L = 21: the letters as ISO 7064 / IBAN turn them into digits
BODY_DIGITS = 10
CAPACITY = 10**BODY_DIGITS  # positions 0 .. CAPACITY - 1 have a number
LENGTH = len(COUNTRY) + 2 + BODY_DIGITS  # as stored: "TL" + check digits + body, no spaces
# Fixed for good: changing either renumbers every account. MULTIPLIER is odd and does not end in 5.
MULTIPLIER = 6_180_339_887
OFFSET = 3_141_592_653
_INVERSE = pow(MULTIPLIER, -1, CAPACITY)

# What a person may type around the digits: spaces (as the number is printed) and hyphens.
_SEPARATORS = re.compile(r"[\s-]+")
_WHOLE = re.compile(rf"(?:{COUNTRY})?([0-9]{{2}})([0-9]{{{BODY_DIGITS}}})")
_START = re.compile(rf"(?:{COUNTRY})?([0-9]{{1,{2 + BODY_DIGITS}}})")
_LONGEST_TYPED = 64  # more than any number with generous spacing; longer text is no number


class InvalidAccountNumber(DomainError):
    """Text that is not the number of any account: not shaped like one, or with a typing error."""


class MalformedAccountNumber(InvalidAccountNumber):
    def __init__(self) -> None:
        super().__init__(f"Enter a full account number, like {EXAMPLE}: {COUNTRY} followed by 12 digits.")


class MistypedAccountNumber(InvalidAccountNumber):
    def __init__(self, number: str) -> None:
        super().__init__(f"{grouped(number)} is not a valid account number: check the digits.")


def check_digits(body: str) -> str:
    return f"{98 - int(body + COUNTRY_DIGITS + '00') % 97:02d}"


def _valid(number: str) -> bool:
    body, check = number[4:], number[2:4]
    return int(body + COUNTRY_DIGITS + check) % 97 == 1


def from_position(position: int) -> str:
    """The number of the account opened by the event at `position`, as stored (no spaces)."""
    if not 0 <= position < CAPACITY:
        raise ValueError(f"position {position} has no account number (numbers cover positions below {CAPACITY})")
    body = f"{(MULTIPLIER * position + OFFSET) % CAPACITY:0{BODY_DIGITS}d}"
    return f"{COUNTRY}{check_digits(body)}{body}"


def to_position(number: str) -> int:
    """The position of the AccountOpened event of the account `number` (as typed) names."""
    body = parse(number)[4:]
    return (_INVERSE * (int(body) - OFFSET)) % CAPACITY


def grouped(number: str) -> str:
    """The number as printed and read aloud: in groups of four, `TL12 3456 7890 12`."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


EXAMPLE = grouped(from_position(0))  # position 0 is never an event's: the example is nobody's number


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text).upper()


def parse(text: str) -> str:
    """A number as a person typed it (spaces or hyphens anywhere, any case, with or without the
    leading TL) as stored; raises MalformedAccountNumber for text of another shape and
    MistypedAccountNumber for a number whose check digits do not match its body."""
    # ASCII digits only: [0-9] is not \d, which would take other scripts' digits.
    match = _WHOLE.fullmatch(_compact(text)) if len(text) <= _LONGEST_TYPED else None
    if match is None:
        raise MalformedAccountNumber()
    number = COUNTRY + match[1] + match[2]
    if not _valid(number):
        raise MistypedAccountNumber(number)
    return number


def search_start(text: str) -> str | None:
    """The start of a number that `text` could be, as stored, for a search by prefix ("tl12 34" and
    "1234" both give "TL1234"); None when no number starts so (a name, a word, too many digits).
    Digits without TL are read from the check digits on, as the number is printed after TL."""
    match = _START.fullmatch(_compact(text)) if len(text) <= _LONGEST_TYPED else None
    return COUNTRY + match[1] if match else None


def is_whole(start: str) -> bool:
    """Whether a search_start is a whole number's length (so it names one account, or none)."""
    return len(start) == LENGTH
