"""Who may see what: one access helper per object type, used by every view.

A user who is not a member of a project gets a 404 for all of its pages (so
project names do not leak); a member whose role is too low gets a 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from claims.hotpath import claim_with_article, project_with_role
from claims.models import Article, Claim, Project, Role
from claims.sessions import project_read_with_session

ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}


def get_project_for_user(
    request: HttpRequest, slug: str, *, minimum: Role = Role.ANNOTATOR
) -> tuple[Project, str]:
    """The project and the user's role in it.

    Someone who is not a member gets a 404, so project names do not leak; a
    member whose role is too low for the page gets a 403.
    """
    # Every page asks this first: the project, the role and the label set's
    # stamp come in one hand-written query, most often the session's.
    read, project = project_read_with_session(request, slug)
    if not read:
        project = project_with_role(slug, request.user)
    if project is None:
        raise Http404("No such project.")
    role = project.role_of(request.user)
    if role is None:
        raise Http404("No such project.")
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        raise PermissionDenied("Your role in this project does not allow this page.")
    return project, role


def get_claim_for_user(project: Project, claim_id: object) -> Claim:
    """A claim of this project (the project was already checked for the user)."""
    try:
        pk = int(str(claim_id))
    except ValueError:
        raise Http404("No such claim.") from None
    # Beyond the database's integer range no claim can have the id.
    claim = claim_with_article(pk, project) if 0 < pk < 2**63 else None
    if claim is None:
        raise Http404("No such claim.")
    return claim


def get_article_for_user(project: Project, article_id: int) -> Article:
    return get_object_or_404(Article, pk=article_id, project=project)


def can_create_projects(request: HttpRequest) -> bool:
    return request.user.has_perm("claims.add_project")


def posted_id(raw: object) -> int | None:
    """An object id sent by a form button; None (finds nothing) when the form was damaged."""
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)
