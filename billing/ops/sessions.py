"""Sessions that slide without a database write on every request.

``SESSION_SAVE_EVERY_REQUEST`` makes a session end ``SESSION_COOKIE_AGE`` after the
last request rather than after the sign-in. Django does that by saving the session
on every response: one UPDATE (three queries in a transaction) per page, fragment
and poll, and on SQLite the write lock taken by every read. This engine (Django's
database sessions, the same table) writes an unchanged session at most once a
minute; the browser's cookie is still renewed on every response. A session thus
ends between ``SESSION_COOKIE_AGE`` minus a minute and ``SESSION_COOKIE_AGE`` after
the last request. A changed session (sign-in, a message) is written at once.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.sessions.backends import db

# Seconds an unchanged session goes without being written again.
RENEW_AFTER_SECONDS = 60
# When the session was last written, in its own data (seconds since the epoch).
SAVED_AT = "_billing_saved_at"


class SessionStore(db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        if not must_create and not self.modified and self.session_key and self._saved_lately():
            return
        super().save(must_create=must_create)

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        return super().create_model_instance({**data, SAVED_AT: int(time.time())})

    def _saved_lately(self) -> bool:
        saved_at = self.get(SAVED_AT)
        return isinstance(saved_at, int) and 0 <= time.time() - saved_at < RENEW_AFTER_SECONDS
