"""Security of the deployment: Django's deploy checklist, cookies, a secret key that must come from
the environment, and no secrets in the repository. (The event table refusing UPDATE, DELETE and
TRUNCATE even for the app's own database user is proven in tests/store/test_event_store.py.)"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys

import pytest

from scripts.processes import ROOT
from tests.processes import database_url

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "tally.example",
}


def production_env(**changes: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DJANGO_DEBUG",
            "DJANGO_SECRET_KEY",
            "DJANGO_ALLOWED_HOSTS",
            "DJANGO_SECURE_SSL_REDIRECT",
            "DJANGO_CSRF_TRUSTED_ORIGINS",
        }
    }
    env.update(PRODUCTION)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_the_deploy_checklist_finds_nothing_with_production_settings():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout, done.stdout + done.stderr


def test_production_settings_refuse_to_start_without_a_secret_key_from_the_environment():
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**production_env(DJANGO_SECRET_KEY=None), "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in done.stderr


@pytest.fixture(scope="module")
def production(django_db_setup):
    """Settings and cookies as a production process has them (a real log-in over HTTPS)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests/deploy/production_cookies.py")],
        cwd=ROOT,
        env=production_env(DATABASE_URL=database_url()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_settings_are_strict(production):
    found = production["settings"]
    assert {k: v for k, v in found.items() if k not in ("CSRF_COOKIE_HTTPONLY", "SECURE_HSTS_SECONDS")} == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
    }
    assert found["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600 and "max-age=" in production["hsts"]
    assert production["statuses"] == [200, 302]  # the log-in page, then a successful log-in
    assert production["plain_http"] == [301, "https://tally.example/login/"]


def test_the_session_cookie_is_secure_and_http_only_in_production(production):
    session = production["cookies"]["sessionid"]
    assert (session["secure"], session["httponly"], session["samesite"]) == (True, True, "Lax")


def test_the_csrf_cookie_is_secure_in_production(production):
    csrf = production["cookies"]["csrftoken"]
    assert (csrf["secure"], csrf["samesite"]) == (True, "Lax")


def test_the_csrf_cookie_is_http_only_in_production(production):
    assert production["settings"]["CSRF_COOKIE_HTTPONLY"] is True
    assert production["cookies"]["csrftoken"]["httponly"] is True


# --- no secrets in the repository -----------------------------------------------------------------

# Each pattern is split or shaped so that it does not match its own source line.
SECRET_PATTERNS = {
    "private key": re.compile("-----BEGIN [A-Z ]*" + "PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key['\"]?\s*[:=]\s*['\"]?[A-Za-z0-9/+]{40}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}"),
}
# name = "literal" or "name": "literal", where the name says password, secret, token or key.
ASSIGNED = re.compile(
    r"(?i)\b([a-z_]*(?:password|passwd|secret|api_?key|token|access_?key)[a-z_]*)['\"]?"
    r"\s*[:=]\s*(['\"])([^'\"]{1,200})\2"
)
# a URL that carries a literal password after its user name
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"{}%$]+)@")

ALLOWED_LITERALS = {"tally"}  # the documented demo password, created by seed_demo only when DEBUG is on
# A placeholder that says so (the settings' DEBUG-only key, the benchmark's key), or a template variable.
PLACEHOLDER = re.compile(r"not-a-secret|insecure|never-use-in-production|^\{\{.*\}\}$|^\{\w*\}$")
SECRET_FILE_NAMES = re.compile(r"(^|/)(\.env(\..*)?|id_[rd]sa|id_ecdsa|id_ed25519|.*\.(pem|key|p12|pfx|jks))$")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_no_secret_is_committed_to_the_repository():
    files = tracked_files()
    assert len(files) > 50  # really looking at the repository
    findings = [f"{name}: a file of secrets" for name in files if SECRET_FILE_NAMES.search(name)]
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        raw = path.read_bytes()
        if b"\0" in raw[:8192]:
            continue  # binary
        text = raw.decode("utf-8", "replace")
        for line_no, line in enumerate(text.splitlines(), 1):
            where = f"{name}:{line_no}"
            findings += [f"{where}: {kind}" for kind, pattern in SECRET_PATTERNS.items() if pattern.search(line)]
            for _, _, value in ASSIGNED.findall(line):
                test_password = name.startswith("tests/")  # passwords of users the tests create
                if value not in ALLOWED_LITERALS and not PLACEHOLDER.search(value) and not test_password:
                    findings.append(f"{where}: a literal secret {value[:4]}…")
            for value in URL_CREDENTIALS.findall(line):
                if not PLACEHOLDER.search(value):
                    findings.append(f"{where}: a password in a URL {value[:2]}…")

    assert findings == []


def test_the_secret_scan_recognises_what_it_looks_for():
    samples = [
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "key = 'AKIA" + "Z" * 16 + "'",
        "aws_secret_access_key = " + "a" * 40,
        "token: gh" + "p_" + "a" * 36,
        "xox" + "b-1234567890-abc",
    ]
    assert all(any(p.search(s) for p in SECRET_PATTERNS.values()) for s in samples)
    assert ASSIGNED.findall('DB_PASSWORD = "hunter2"') and ASSIGNED.findall('{"api_key": "abc"}')
    assert not ASSIGNED.findall("password = os.environ['X']")
    assert not PLACEHOLDER.search("hunter2") and PLACEHOLDER.search("{{ csrf_token }}")
    assert URL_CREDENTIALS.findall("postgres://tally:" + "s3cret@db/tally")
    assert not URL_CREDENTIALS.findall("postgres://postgres@127.0.0.1:5432/tally")
