"""The error pages as production serves them (DJANGO_DEBUG off, gunicorn, hashed static files from
collectstatic): 404, 403 and 503 are Tally's own styled pages with one h1, no serious accessibility
issue and the favicon, at a desktop's width and a phone's; a screenshot of each in
test-artifacts/screens/. gunicorn's access log has a line for each request."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from urllib.parse import urljoin

import pytest
from django.contrib.auth.models import Group, User

from ledger.roles import Role
from scripts.processes import ROOT, HttpSession, WebServer, free_port
from tests.browser.helpers import DESKTOP, PHONE, accessibility_problems, layout_problems, screenshot
from tests.processes import DEAD_REDIS, child_env

PASSWORD = "tally-production-pages"
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "error-pages-test-" + "k" * 40,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback, as behind a proxy that redirects
    "WEB_CONCURRENCY": "1",
}


class ServerWithoutDatabase(WebServer):
    """Started once /healthz answers at all: it says 503 while the database is away."""

    def _healthy(self) -> bool:
        try:
            return HttpSession(self.port, timeout=5).get("/healthz").status in {200, 503}
        except OSError:
            return False


@pytest.fixture(scope="module")
def collected_static():
    """Production serves the hashed files collectstatic writes (STATIC_ROOT, git-ignored)."""
    env = child_env(DEAD_REDIS) | PRODUCTION
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


@pytest.fixture(scope="module")
def production(collected_static, django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        env = child_env(DEAD_REDIS) | PRODUCTION
        user, _ = User.objects.get_or_create(username="production-teller")
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=Role.TELLER.value))
    log = tmp_path_factory.mktemp("production") / "gunicorn.log"
    server = WebServer("gunicorn", env=env, log=log).start()
    yield type("Production", (), {"url": server.url, "log": log, "user": user.username})()
    server.stop()


@pytest.fixture(scope="module")
def without_database(collected_static, django_db_setup, tmp_path_factory):
    env = child_env(DEAD_REDIS) | PRODUCTION | {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/tally"}
    log = tmp_path_factory.mktemp("no-database") / "gunicorn.log"
    server = ServerWithoutDatabase("gunicorn", env=env, log=log).start()
    yield server.url
    server.stop()


def check_page(page, name: str, width: str) -> list[str]:
    """What is wrong with the page shown: Tally's stylesheet and favicon missing, not one h1, an
    accessibility issue, and on a phone anything the narrow-screen test looks for."""
    screenshot(page, f"screens/{name}-{width}")
    problems = []
    if page.evaluate("getComputedStyle(document.documentElement).backgroundColor") != "rgb(245, 247, 250)":
        problems.append("tally.css is not applied")
    icon = page.locator("link[rel=icon]").get_attribute("href") or ""
    answer = page.request.get(urljoin(page.url, icon))
    if not icon or answer.status != 200 or "svg" not in answer.headers.get("content-type", ""):
        problems.append(f"the favicon {icon!r} answers {answer.status}")
    if page.locator("h1").count() != 1:
        problems.append(f"{page.locator('h1').count()} h1 elements")
    problems += accessibility_problems(page)
    if width == "390":
        problems += layout_problems(page)
    return problems


@pytest.mark.parametrize("width", ["desktop", "390"])
def test_production_answers_404_and_403_with_its_own_pages(browser, production, width):
    context = browser.new_context(viewport=PHONE if width == "390" else DESKTOP)
    try:
        page = context.new_page()
        missing = page.goto(f"{production.url}/no-such-page/")
        assert missing.status == 404
        assert "Not found" in page.locator("h1").inner_text()
        problems = check_page(page, "404-anonymous", width)

        page.goto(f"{production.url}/login/")
        page.fill("#id_username", production.user)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{production.url}/")
        missing = page.goto(f"{production.url}/accounts/{uuid.uuid4()}/as-of/")
        assert missing.status == 404
        problems += check_page(page, "404", width)
        forbidden = page.goto(f"{production.url}/approvals/")  # supervisors and auditors only
        assert forbidden.status == 403
        assert "Not allowed" in page.locator("h1").inner_text()
        problems += check_page(page, "403", width)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


@pytest.mark.parametrize("width", ["desktop", "390"])
def test_production_answers_503_with_its_own_page_while_the_database_is_away(browser, without_database, width):
    context = browser.new_context(viewport=PHONE if width == "390" else DESKTOP)
    try:
        # A signed-in browser: its session is looked up in the database that is not there.
        context.add_cookies([{"name": "sessionid", "value": "a" * 32, "url": without_database}])
        page = context.new_page()
        unavailable = page.goto(f"{without_database}/accounts/")
        assert unavailable.status == 503
        assert unavailable.headers["retry-after"] == "5"
        assert "try again" in page.locator("h1").inner_text()
        problems = check_page(page, "503", width)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_gunicorn_logs_a_line_for_each_request(production):
    session = HttpSession(int(production.url.rsplit(":", 1)[1]))
    path = f"/no-such-page/{uuid.uuid4()}/"
    assert session.get(path).status == 404
    assert session.get("/favicon.ico").status == 302

    wanted = [rf'"GET {re.escape(path)} HTTP/1\.[01]" 404 \d+ \d+ms', r'"GET /favicon\.ico HTTP/1\.[01]" 302 ']
    deadline = time.monotonic() + 5  # each line is written once its response is sent
    while True:
        lines = production.log.read_text().splitlines()
        missing = [w for w in wanted if not any(re.search(w, line) for line in lines)]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not missing, lines[-5:]
