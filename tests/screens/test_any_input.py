"""Any text a client can send, in any query parameter or HTMX header of any screen that answers a GET,
as any role, gets an answer below 500 and records nothing.

The text is of every kind a probe tries: control characters (NUL), other scripts' digits, numbers
past what Python or Postgres count, malformed URLs and moments, valid values of the wrong field,
and lone surrogates where a client can send them (as the raw bytes a URL or a header carries: a
URL's are decoded with replacement characters, a header's arrive as Latin-1). Task POSTs with
these headers are tested in tests/screens/test_task_defects.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, quote_plus
from uuid import UUID, uuid4

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.commands import Deposit, Transfer
from ledger.domain.events import EVENT_TYPES
from ledger.domain.money import CURRENCIES
from ledger.execute import execute
from ledger.models import Event
from ledger.roles import Role
from projections import queries, runner
from tests.write.helpers import open_account

pytestmark = [
    pytest.mark.usefixtures("committed"),
    # A client may send a date filter without a time zone; Django reads it in the current one, and says so.
    pytest.mark.filterwarnings("ignore:DateTimeField Event.recorded_at received a naive datetime:RuntimeWarning"),
]

EXAMPLES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- what a client can send ----------------------------------------------------------------------

EDGES = [
    "",
    " ",
    "\x00",
    "%00",
    "\t\n",
    "-1",
    "0",
    "+1",
    "1.0",
    "1e309",
    "NaN",
    "inf",
    "0x10",
    "１２",
    "١٢",
    "²",
    "½",
    "9" * 19,
    "9" * 4_301,
    str(2**63),
    str(-(2**63) - 1),
    "1.2.3",
    ".",
    "..",
    "1.",
    "2026-02-30T10:00",
    "2026-03-01T25:00",
    "2026-03-01T10:00+99:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01",
    "9999-12-31",
    "2026-13-01",
    str(uuid4()),
    "not-a-uuid",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\\",
    "%",
    "%zz",
    "&",
    "=",
    "#",
    "?",
    "\u202e",
    "\ufeff",
]
MALFORMED_URLS = [
    "http://[",
    "http://[::1",
    "http://a:b:c/",
    "http://:99999999/",
    "//",
    "///",
    "http://%00/",
    "javascript:alert(1)",
    "http://testserver/accounts/\x00/",
    "ftp://",
    "http://\u2028/",
    "::::",
    "http://testserver/accounts/" + "a" * 3_000,
]
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


def evenly(*strategies: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One of `strategies`, each as often as the others (st.one_of flattens nested one_ofs and
    shares its draws among all their branches, so a kind nested in another would come up rarely)."""
    return st.sampled_from(strategies).flatmap(lambda strategy: strategy)


def _with(inserted: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text with `inserted` somewhere in it."""
    return st.tuples(st.text(max_size=6), inserted, st.text(max_size=6)).map("".join)


CONTROLS = st.one_of(st.just("\x00"), st.characters(categories=["Cc", "Cf", "Zl", "Zp"]))
# Digits of other scripts and numbers that are not digits: str.isdigit() takes some, int() others.
NOT_ASCII_DIGITS = st.text(
    st.one_of(st.sampled_from("²³¹١٢٣१२३１２Ⅻ½"), st.characters(categories=["Nd", "No", "Nl"])), min_size=1, max_size=6
)
HUGE_NUMBERS = evenly(
    st.integers(min_value=2**62, max_value=2**64).map(str),  # about where bigint ends
    st.integers(min_value=2**64).map(str),
    st.integers(max_value=-(2**63)).map(str),
    st.integers(min_value=4_300, max_value=5_000).map(lambda digits: "9" * digits),  # past int()
    st.floats().map(repr),
)
# Moments on and off the calendar, near its ends, with offsets of a day or more (or a 60th second).
MOMENTS = st.builds(
    "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}{}".format,
    st.sampled_from([1, 2, 2026, 9998, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["T", " "]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.sampled_from(
        ["", "Z", "+00:00", "+01:00", "-01:00", "+23:59", "-23:59", "+24:00", "+99:00", "-99:99", ":60.9999999"]
    ),
)
# Each kind of trouble about as often as the others, so a few examples reach each one.
any_text = evenly(
    _with(st.just("\x00")),
    _with(CONTROLS),
    NOT_ASCII_DIGITS,
    HUGE_NUMBERS,
    MOMENTS,
    _with(SURROGATES),
    st.sampled_from(EDGES),
    st.sampled_from(MALFORMED_URLS),
    st.text(max_size=24),
)
TROUBLE = st.one_of(st.just("\x00"), CONTROLS, SURROGATES, NOT_ASCII_DIGITS, st.sampled_from(["%", "&", "=", " "]))
CHECKPOINTS = st.builds("{}.{}".format, HUGE_NUMBERS | st.integers(), HUGE_NUMBERS | st.integers())
# Where a parameter is a number or a moment, more of its examples are numbers or moments that are not.
KINDS = dict.fromkeys(("page", "p", "version", "before", "o"), HUGE_NUMBERS)
KINDS |= dict.fromkeys(("at", "recorded_at__gte", "recorded_at__lt", "recorded_from", "recorded_to"), MOMENTS)
KINDS |= {"after": CHECKPOINTS}


def value_for(name: str, valid: list[str]) -> st.SearchStrategy[str]:
    """A value as meant, one with trouble inside it (it reaches the code behind the valid value),
    one of the wrong kind for the parameter, or anything at all."""
    meant = st.sampled_from(valid or [""])
    spoilt = st.tuples(meant, TROUBLE, st.integers(0, 40)).map(lambda v: v[0][: v[2]] + v[1] + v[0][v[2] :])
    return evenly(spoilt, KINDS.get(name, any_text), any_text, meant)


def _raw(text: str) -> bytes:
    """The bytes a client sends for `text`; a lone surrogate as the three bytes UTF-8 would give it."""
    return text.encode("utf-8", "surrogatepass")


def as_header(text: str) -> str:
    """A header value as a WSGI server hands it over: the raw bytes read as Latin-1. A header
    cannot hold a line break (the server ends it there)."""
    return _raw(text).decode("latin-1").replace("\r", "").replace("\n", "")


def query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote_plus(_raw(name))}={quote_plus(_raw(value))}" for name, value in pairs)


HX_HEADERS = [
    "HX-Request",
    "HX-Target",
    "HX-Current-URL",
    "HX-Trigger",
    "HX-Trigger-Name",
    "HX-Boosted",
    "HX-History-Restore-Request",
    "HX-Prompt",
    "HX-Request-Type",
    "HX-Source",
    "HX-PTag",
    "Triggering-Event",
    "HX-Current-URL-URI-AutoEncoded",
    "HX-Target-URI-AutoEncoded",
    "HX-Prompt-URI-AutoEncoded",
]
HX_VALUES = [
    "true",
    "false",
    "TRUE",
    "account",
    "statement",
    "results",
    "history",
    "table",
    "status",
    "form",
    "#account",
    "http://testserver/",
    "http://testserver/accounts/",
    "{}",
    '{"target": null}',
    "[",
    "partial",
    "full",
]
headers = st.dictionaries(
    st.sampled_from(HX_HEADERS), st.one_of(st.sampled_from(HX_VALUES), any_text).map(as_header), max_size=6
)


# --- the screens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What the screens show: an account with a statement, its events, and the other ids they name."""

    account: UUID
    other: UUID
    event: Event
    after: str  # a checkpoint a command wrote


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    with django_db_blocker.unblock():
        account, other = open_account(balance=50_000, owner="Ada Lovelace"), open_account(owner="Grace Hopper")
        result = execute(
            Transfer(account_id=account, to_account_id=other, amount=1_250, currency="EUR"), actor="teller"
        )
        execute(Deposit(account_id=other, amount=99, currency="EUR"), actor="teller")
        runner.catch_up()
        event = Event.objects.filter(stream_id=account).latest("version")
    return World(account, other, event, f"{result.tx_id}.{result.position}")


@pytest.fixture(scope="module")
def clients(django_db_setup, django_db_blocker) -> dict[str, Client]:
    """A signed-in client per role, a superuser, a user with no role, and nobody signed in."""
    people = {role.value: ([role.value], False) for role in Role}  # name -> (groups, a superuser?)
    people |= {"superuser": ([], True), "no-role": ([], False)}
    signed_in = {"anonymous": Client()}
    with django_db_blocker.unblock():
        for name, (groups, is_superuser) in people.items():
            user, _ = User.objects.get_or_create(username=f"any-input-{name}", defaults={"is_superuser": is_superuser})
            user.groups.set(Group.objects.filter(name__in=groups))
            signed_in[name] = Client()
            signed_in[name].force_login(user)
    return signed_in


def _valid(world: World) -> dict[str, list[str]]:
    """Values each parameter takes when it is used as meant, so the examples also reach the code
    behind a valid value (and mix valid and invalid ones)."""
    event = world.event
    return {
        "q": ["Ada", "ada lovelace", str(world.account), str(world.account)[:8], "teller"],
        "status": ["open", "frozen", "closed"],
        "currency": list(CURRENCIES),
        "sort": list(queries.ACCOUNT_SORTS),
        "page": ["1", "2", "3"],
        "p": ["0", "1", "2"],
        "after": [world.after, "1.1"],
        "poll": ["1"],
        "at": ["2026-03-01T14:30", "2026-03-01T14:30:00+02:00", event.recorded_at.isoformat()],
        "version": ["1", "2", "3"],
        "type": sorted(EVENT_TYPES),
        "stream_type": ["account"],
        "stream": [str(world.account)],
        "correlation": [event.metadata.get("correlation_id", "")],
        "command": [event.metadata.get("command_id", "")],
        "caused_by": [str(event.event_id)],
        "before": [str(event.position)],
        "actor": ["teller", event.metadata.get("actor", "")],
        "recorded_from": ["2026-01-01", event.recorded_at.date().isoformat()],
        "recorded_to": ["2030-12-31", event.recorded_at.date().isoformat()],
        "recorded_at__gte": ["2026-01-01 00:00:00+00:00"],
        "recorded_at__lt": ["2030-01-01 00:00:00+01:00"],
        "recorded_at__isnull": ["True", "False"],
        "o": ["1", "-1"],
        "all": [""],
        "e": ["1"],
        "_changelist_filters": ["type=MoneyDeposited", "stream%3D" + str(world.account)],
    }


ACCOUNT_LIST = ["q", "status", "currency", "sort", "page"]
# The event browser's list in three groups: a parameter it refuses early (a malformed date sends
# the admin back with ?e=1) keeps the others in the same request from being read.
EVENT_FILTERS = ["q", "type", "stream_type", "before", "actor"]
EVENT_LINKS = ["stream", "correlation", "command", "caused_by"]
EVENT_DATES_AND_PAGES = [
    "recorded_from",
    "recorded_to",
    "recorded_at__gte",
    "recorded_at__lt",
    "recorded_at__isnull",
    "p",
    "o",
    "all",
    "e",
    "_changelist_filters",
]
TASKS = ["deposit", "withdraw", "transfer", "freeze", "unfreeze", "close"]
# Screen -> (the paths it answers at, its own parameters). The paths name an account that exists or
# not ({account}), an event or any text in its place ({event}) and a task ({task}). Pages with no
# parameters of their own are one screen here: what they are sent is headers and parameters they do not know.
SCREENS = {
    "pages without parameters": (
        ["/", "/projections/", "/projections/lag/", "/accounts/open/", "/accounts/{account}/tasks/{task}/"],
        [],
    ),
    "accounts": (["/accounts/"], ACCOUNT_LIST),
    "account": (["/accounts/{account}/"], ["page", "after", "poll"]),
    "as-of": (["/accounts/{account}/as-of/"], ["at", "version"]),
    "transfer-targets": (["/accounts/{account}/transfer-targets/"], ["q"]),
    "event browser filters": (["/admin/ledger/event/"], EVENT_FILTERS),
    "event browser links": (["/admin/ledger/event/"], EVENT_LINKS),
    "event browser dates and pages": (["/admin/ledger/event/"], EVENT_DATES_AND_PAGES),
    "event page": (["/admin/ledger/event/{event}/change/"], ["_changelist_filters"]),
    "stream": (["/admin/ledger/event/stream/{account}/"], ["page"]),
}
ROLES = ["teller", "supervisor", "auditor", "superuser", "no-role", "anonymous"]
# The event browser turns away all but auditors and superusers at the door: they get most examples.
BROWSER_ROLES = ["auditor", "superuser"] * 3 + ROLES


def recorded() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(max(position), 0) FROM ledger_event")
        return cursor.fetchone()


@pytest.mark.parametrize("screen", SCREENS)
@EXAMPLES
@given(data=st.data(), sent_headers=headers)
def test_any_parameter_and_header_of_a_screen_gets_an_answer_below_500_and_records_nothing(
    world, clients, screen, data, sent_headers
):
    paths, names = SCREENS[screen]
    path = data.draw(st.sampled_from(paths), label="path").format(
        account=data.draw(st.sampled_from([world.account, world.other, uuid4()]), label="account"),
        event=data.draw(
            st.one_of(st.just(str(world.event.pk)), HUGE_NUMBERS, any_text).map(
                lambda text: quote(_raw(text), safe="")
            ),
            label="event",
        ),  # the admin takes any text here
        task=data.draw(st.sampled_from(TASKS), label="task"),
    )
    role = data.draw(st.sampled_from(BROWSER_ROLES if path.startswith("/admin/") else ROLES), label="role")
    valid = _valid(world)
    # One to three of the screen's own parameters, valid or not (not all: one a screen refuses early,
    # as the admin does a malformed date, keeps the others from being read at all); now and then
    # one twice, or one it does not know.
    chosen = (
        data.draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=3), label="parameters")
        if names
        else []
    )
    pairs = [(name, data.draw(value_for(name, valid.get(name, [])), label=name)) for name in chosen]
    pairs += data.draw(
        st.lists(st.tuples(st.one_of(st.sampled_from(names or ["q"]), any_text), any_text), max_size=1),
        label="more parameters",
    )
    url = f"{path}?{query_string(pairs)}"
    before = recorded()

    response = clients[role].get(url, headers=sent_headers)

    assert response.status_code < 500, (url, sent_headers, response.status_code)
    assert recorded() == before
