"""Run with production settings (DJANGO_DEBUG=0 and friends in the environment): print, as JSON, the
security settings Django ended up with and the flags of the cookies a real log-in sets over HTTPS."""

import json
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402 - after django.setup()
from django.contrib.auth.models import User  # noqa: E402 - after django.setup()
from django.test import Client, override_settings  # noqa: E402 - after django.setup()

NAMES = (
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
)
found = {name: getattr(settings, name) for name in NAMES}

host = settings.ALLOWED_HOSTS[0]
password = uuid.uuid4().hex
user = User.objects.create_user(f"cookie-check-{uuid.uuid4().hex[:8]}", password=password)
# The only test-environment change: production serves hashed static files from `collectstatic`,
# which has not run here; the page links its CSS and JS through the plain storage instead.
with override_settings(
    STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
):
    browser = Client(enforce_csrf_checks=True, HTTP_HOST=host)
    shown = browser.get("/login/", secure=True)
    token = browser.cookies["csrftoken"].value
    logged_in = browser.post(
        "/login/",
        {"username": user.username, "password": password, "csrfmiddlewaretoken": token},
        secure=True,
        HTTP_ORIGIN=f"https://{host}",
    )
    plain = Client(HTTP_HOST=host).get("/login/")
user.delete()

cookies = {}
for response in (shown, logged_in):
    for name, morsel in response.cookies.items():
        cookies[name] = {
            "secure": bool(morsel["secure"]),
            "httponly": bool(morsel["httponly"]),
            "samesite": morsel["samesite"],
        }
print(
    json.dumps(
        {
            "settings": found,
            "cookies": cookies,
            "statuses": [shown.status_code, logged_in.status_code],
            "plain_http": [plain.status_code, plain.get("Location", "")],
            "hsts": shown.get("Strict-Transport-Security", ""),
        }
    )
)
