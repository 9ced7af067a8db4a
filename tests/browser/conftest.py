"""Browser tests: Playwright drives Debian's headless Chromium against the app served by a real
server process, with a real Celery worker keeping the read models current.

Without a Chromium binary (a user's machine that never installed one) these tests are skipped,
and the run says so plainly; CI installs Debian's chromium package.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth.models import Group, User

from ledger.roles import Role
from scripts.processes import WebServer
from tests.processes import child_env

CHROMIUM = os.environ.get("TALLY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "tally-test-password"


def pytest_collection_modifyitems(config, items):
    browser_items = [i for i in items if "tests/browser/" in str(i.fspath)]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if not CHROMIUM and browser_items:
        reason = "no Chromium found: install Debian's 'chromium' package (or set TALLY_CHROMIUM) to run browser tests"
        for item in browser_items:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter):
    if not CHROMIUM:
        terminalreporter.write_line(
            "NOTE: browser tests were skipped because no Chromium is installed "
            "(apt-get install chromium). Every other test ran.",
            yellow=True,
        )


@pytest.fixture(scope="module")
def live_server_url(celery_stack, django_db_blocker):
    """The app in its own server process, on the test database and the stack's Redis."""
    env = child_env(celery_stack.redis.url) | {"DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = WebServer(env=env, log=celery_stack.logs / "web.log").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own database calls are
    # still plain synchronous code, so Django's async-safety guard is lifted for these tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def users(committed):
    made = {}
    for role in Role:
        user, _ = User.objects.get_or_create(username=f"browser-{role.value}")
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=role.value))
        made[role] = user.username
    return made


@pytest.fixture
def login(browser, live_server_url, users):
    """login(Role.TELLER) -> a Playwright page logged in with that role."""
    contexts = []

    def open_as(role: Role, *, javascript: bool = True):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server_url}/login/")
        page.fill("#id_username", users[role])
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server_url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()
