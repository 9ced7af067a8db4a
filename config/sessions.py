"""Sessions in Postgres, as Django's database backend keeps them, read with a prepared statement:
the session is read on every request, and building its query with the ORM cost more than running
it. Writing, expiry and clearing are Django's own."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from ledger.store.sql import prepared_cursor

_READ = f'SELECT session_data FROM "{Session._meta.db_table}" WHERE session_key = %s AND expire_date > %s'
# The keys Django makes: 32 of VALID_KEY_CHARS (django.contrib.sessions.backends.base).
KEY_SHAPE = re.compile(r"[a-z0-9]{32}")


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        """A cookie holding anything else names no session, and is not looked up: Django checks
        only the length, so a NUL in the cookie reached Postgres (which refuses it) and answered 500.
        Django calls this when the key is set, so an invalid key becomes None before any query."""
        return isinstance(key, str) and KEY_SHAPE.fullmatch(key) is not None

    def load(self) -> dict[str, Any]:
        if self.session_key is None:  # no cookie, or one of another shape: a new session
            return {}
        with prepared_cursor() as cursor:
            cursor.execute(_READ, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:  # unknown or expired: a new session, as Django's backend does
            self._session_key = None
            return {}
        return self.decode(row[0])
