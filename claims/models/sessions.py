"""Login sessions, stored with their user's id."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class UserSession(AbstractBaseSession):
    """Django's database session, plus the id of the user signed in with it.

    With the id as a column, every request reads its session and its user in
    one query (``claims.sessions``) instead of two. Deleting a user deletes
    their sessions, which signs them out everywhere.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Who signed in with this session; empty before login.",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "claims_session"
