"""/metrics is for operators only: without TALLY_METRICS_TOKEN it does not exist (404), and without
the token, or with any other text in the Authorization header, it answers 401 and shows no figure.
No one is sent to the log-in page: a scraper has no session. Whatever the header holds, the answer
is never a 500; with the database down, an operator still gets the figures that do not need it."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.processes import ROOT, free_port
from tests.deploy.scrape import TOKEN, Scrape, scrape

pytestmark = pytest.mark.django_db  # the figures are read from the database

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def token_set(settings):
    settings.TALLY_METRICS_TOKEN = TOKEN


def get(authorization: str | None = None, **headers: str):
    if authorization is not None:
        headers["Authorization"] = authorization
    return Client().get("/metrics", headers=headers)


def test_without_a_token_set_metrics_does_not_exist(settings):
    settings.TALLY_METRICS_TOKEN = ""

    for authorization in (None, "Bearer ", f"Bearer {TOKEN}"):
        response = get(authorization)
        assert response.status_code == 404
        assert b"tally_" not in response.content


@pytest.mark.usefixtures("token_set")
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN],
    ids=["absent", "empty", "scheme only", "scheme and space", "prefix", "longer", "other scheme", "no scheme"],
)
def test_a_missing_or_wrong_token_gets_401_and_no_figures(authorization):
    response = get(authorization)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"tally_" not in response.content and b"# TYPE" not in response.content


@pytest.mark.usefixtures("token_set")
def test_the_right_token_gets_the_figures_in_prometheus_text_format():
    response = get(f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"].startswith("max-age=0")
    figures = scrape()
    assert figures.value("tally_database_up") == 1
    assert figures.value("tally_read_side_held_back_seconds") == 0


@pytest.mark.usefixtures("token_set")
def test_a_scraper_asking_for_openmetrics_gets_it():
    response = get(f"Bearer {TOKEN}", Accept="application/openmetrics-text; version=1.0.0")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


@pytest.mark.usefixtures("token_set")
def test_a_token_of_any_characters_is_compared_as_the_bytes_sent(settings):
    settings.TALLY_METRICS_TOKEN = "jeton-secret-ü-€"
    sent = "jeton-secret-ü-€".encode().decode("latin-1")  # what a WSGI server hands over

    assert get(f"Bearer {sent}").status_code == 200
    assert get("Bearer jeton-secret-ü-€").status_code == 401  # not what any client's bytes decode to


def raw_header(text: str) -> str:
    """`text` as a WSGI server hands a header over: its UTF-8 bytes (a lone surrogate as the three
    bytes it would have) decoded as Latin-1, with no line breaks (HTTP has none inside a header)."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1").replace("\r", "").replace("\n", "")


SCHEMES = st.sampled_from(["Bearer", "bearer", "BEARER", "bEaReR"])
SPACES = st.text(" ", max_size=3)
RIGHT = st.builds(lambda s, scheme, gap, t: f"{s}{scheme} {gap}{TOKEN}{t}", SPACES, SCHEMES, SPACES, SPACES)
NEAR_MISSES = st.sampled_from(
    [
        TOKEN[:-1],
        TOKEN + "0",
        TOKEN.upper(),
        TOKEN[::-1],
        TOKEN[:10],
        "x" + TOKEN,
        TOKEN.replace("-", "_"),
        f"{TOKEN} {TOKEN}",
        f'"{TOKEN}"',
        TOKEN + "\x00",
    ]
)
WRONG = st.one_of(
    st.builds(lambda scheme, token: f"{scheme} {token}", SCHEMES, NEAR_MISSES),  # the scheme, another token
    st.builds(lambda scheme, text: f"{scheme} {raw_header(text)}", SCHEMES, st.text(max_size=80)),
    st.builds(lambda scheme: f"{scheme} {TOKEN}", st.sampled_from(["Basic", "Token", "Bearer:", "Bearer\t", ""])),
    st.just("Basic " + base64.b64encode(f"operator:{TOKEN}".encode()).decode()),
    st.just(f"Bearer{TOKEN}"),  # no space after the scheme
    st.text(max_size=200).map(raw_header),  # anything at all
    st.text(st.characters(codec="latin-1"), min_size=1, max_size=40),  # every byte a header can hold
    st.integers(1_000, 20_000).map(lambda n: "Bearer " + "a" * n),  # a very long guess
)


@pytest.mark.usefixtures("token_set")
@EXAMPLES
@given(authorization=st.one_of(RIGHT.map(lambda h: (h, True)), WRONG.map(lambda h: (h, False))))
def test_any_authorization_header_gets_the_figures_only_with_the_token_and_never_a_500(authorization):
    header, right = authorization

    response = get(header)

    assert response.status_code == (200 if right else 401), header
    assert (b"tally_commands" in response.content or b"tally_database_up" in response.content) is right


@pytest.mark.usefixtures("token_set")
@EXAMPLES
@given(
    accept=st.one_of(
        st.text(max_size=100).map(raw_header),
        st.from_regex(
            r"(text/plain|application/openmetrics-text)(; ?(version|escaping)=[^,;]{0,8}){0,3}", fullmatch=True
        ),
    )
)
def test_any_accept_header_gets_the_figures_from_an_operator(accept):
    response = get(f"Bearer {TOKEN}", Accept=accept)

    assert response.status_code == 200
    assert b"tally_database_up" in response.content


SCRAPE_WITHOUT_DATABASE = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
response = Client().get("/metrics", headers={"Authorization": "Bearer %s"})
print(response.status_code)
print(response.content.decode())
"""


def test_with_the_database_down_the_figures_say_so_and_the_process_s_own_counts_still_show():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://tally@127.0.0.1:{free_port()}/tally",  # nothing listens there
        "DJANGO_DEBUG": "1",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "TALLY_METRICS_TOKEN": TOKEN,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRAPE_WITHOUT_DATABASE % TOKEN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    status, body = done.stdout.split("\n", 1)
    figures = Scrape.parse(body)
    assert status == "200"
    assert figures.value("tally_database_up") == 0
    assert figures.labels_of("tally_projection_lag_events") == []
    assert figures.labels_of("python_info")  # this process's own figures are still there
    assert "the read side could not be read" in done.stderr
