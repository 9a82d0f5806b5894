"""Sessions that bring their user along: one query per request instead of two.

Django's database sessions read the session, then the authentication
middleware reads its user: two queries, with the ORM's time to build them
(0.9 ms of each labelling request in the README's benchmarks). Here the
session row (``UserSession``) carries its user's id, the store reads both in
one hand-written query (``claims.hotpath.session_with_user``), and the
middleware takes that user when Django's own checks would pass for it.

A project's pages read the project first (``claims.views.access``): for
them the middleware asks the store to read the project with the session, for
the session's user, in the same query (``project_read_with_session``).

Settings: ``SESSION_ENGINE = "claims.sessions"`` and
``claims.sessions.AuthenticationMiddleware`` in place of Django's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db import router
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from claims.hotpath import session_with_user
from claims.models import Project, UserSession

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SessionStore(DatabaseStore):
    """Django's database session store, reading the session's user with it.

    After loading, ``user`` is the user whose id the session row carries, or
    None; it is only a candidate: ``get_user`` decides whether it is signed in.
    Given a ``project_slug`` before loading, it also reads that project for
    that user (``project``; None when there is none or nobody signed in).
    """

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self.user: AbstractBaseUser | None = None
        self.project_slug: str | None = None
        self.project: Project | None = None
        self.project_read = False

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        session = super().create_model_instance(data)
        user_id = data.get(SESSION_KEY)
        session.user_id = None if user_id is None else UserSession.user.field.to_python(user_id)
        return session

    def _get_session_from_db(self) -> UserSession | None:
        if self.session_key is None:
            return None
        found = session_with_user(
            self.session_key,
            timezone.now(),
            using=router.db_for_read(self.model),
            project_slug=self.project_slug,
        )
        if found is None:
            self._session_key = None
            return None
        data, self.user, self.project = found
        self.project_read = self.project_slug is not None
        return self.model(session_key=self.session_key, session_data=data)


def get_user(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    """The signed-in user, as ``django.contrib.auth.get_user`` finds them.

    When the session was signed in through the model backend, still names the
    user read with it, and carries that user's current hash, the user is
    taken from the session's query; anything else (another backend, a hash
    made with an earlier SECRET_KEY, a password changed, a user deactivated)
    goes through Django's own ``get_user``, which also signs the session out.
    """
    if not hasattr(request, "_cached_user"):
        request._cached_user = _user_read_with_session(request) or auth.get_user(request)
    return request._cached_user


def _user_read_with_session(request: HttpRequest) -> AbstractBaseUser | None:
    session = request.session
    try:
        user_id = session[SESSION_KEY]  # loads the session and its user
        backend_path = session[BACKEND_SESSION_KEY]
        session_hash = session[HASH_SESSION_KEY]
    except KeyError:
        return None
    user = getattr(session, "user", None)
    if (
        user is None
        or backend_path != MODEL_BACKEND
        or backend_path not in settings.AUTHENTICATION_BACKENDS
        or str(user.pk) != str(user_id)
        or not user.is_active
        or not constant_time_compare(session_hash, user.get_session_auth_hash())
    ):
        return None
    return user


def project_read_with_session(request: HttpRequest, slug: str) -> tuple[bool, Project | None]:
    """Whether the project ``slug`` was read with the request's session for
    the user signed in, and if so that project (None: there is no such
    project). ``claims.views.access`` checks the user's role in it."""
    session = request.session
    if (
        not isinstance(session, SessionStore)
        or not session.project_read
        or session.project_slug != slug
        or session.user is None
        or not request.user.is_authenticated
        or request.user.pk != session.user.pk
    ):
        return False, None
    return True, session.project


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's authentication middleware, with ``get_user`` from this module.

    Before a project's page (a view of ``claims.views`` with a ``slug``) loads
    the session, it asks the session store to read that project with it.
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        session = getattr(request, "session", None)
        slug = view_kwargs.get("slug")
        if (
            isinstance(session, SessionStore)
            and isinstance(slug, str)
            and view_func.__module__.startswith("claims.views.")
            and not hasattr(session, "_session_cache")  # not loaded yet
        ):
            session.project_slug = slug
