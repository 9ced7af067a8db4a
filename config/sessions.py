"""Sessions in Postgres, as Django's database backend keeps them, read with a prepared statement:
the session is read on every request, and building its query with the ORM cost more than running
it. Writing, expiry and clearing are Django's own."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from config.db import prepared_cursor

_READ = f'SELECT session_data FROM "{Session._meta.db_table}" WHERE session_key = %s AND expire_date > %s'


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        with prepared_cursor() as cursor:
            cursor.execute(_READ, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:  # unknown or expired: a new session, as Django's backend does
            self._session_key = None
            return {}
        return self.decode(row[0])
