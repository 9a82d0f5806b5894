"""The workbench's data: projects, articles cut into claims, and the labels people give them.

Invariants kept here, whoever calls:
- an article body is stored exactly as imported, and every claim is a slice of it
  (``article.body[claim.start:claim.end] == claim.text``);
- an acknowledged label is never lost: annotations are protected from deletion,
  and every change of one is kept as an ``AnnotationRevision``.

One module per part of the domain; this package exports them all, so code says
``from claims.models import Claim``.
"""

from claims.models.articles import (
    Article,
    ArticleQuerySet,
    ImportJob,
    ImportJobQuerySet,
    ImportSummary,
    SuggestionRefresh,
    content_hash,
    suggestion_to_json,
)
from claims.models.claim import (
    Assignment,
    Claim,
    ClaimChanged,
    ClaimEditError,
    ClaimFull,
    ClaimQuerySet,
    Reservation,
    Skip,
    StaleLabel,
)
from claims.models.figures import ProjectFigures
from claims.models.labels import (
    Annotation,
    AnnotationQuerySet,
    AnnotationRevision,
    AnnotationSource,
    AnnotationSourceQuerySet,
    GoldLabel,
    GoldLabelQuerySet,
    LabelValues,
    SourceChoice,
)
from claims.models.projects import (
    CLAIM_TOTAL_SECONDS,
    Label,
    Membership,
    Project,
    ProjectQuerySet,
    Role,
)
from claims.models.sessions import UserSession
from claims.models.sources import (
    Source,
    SourceAlias,
    SourceKind,
    SourceQuerySet,
    normalise_alias,
)

__all__ = [
    "Annotation",
    "AnnotationQuerySet",
    "AnnotationRevision",
    "AnnotationSource",
    "AnnotationSourceQuerySet",
    "Article",
    "ArticleQuerySet",
    "Assignment",
    "CLAIM_TOTAL_SECONDS",
    "Claim",
    "ClaimChanged",
    "ClaimEditError",
    "ClaimFull",
    "ClaimQuerySet",
    "GoldLabel",
    "GoldLabelQuerySet",
    "ImportJob",
    "ImportJobQuerySet",
    "ImportSummary",
    "Label",
    "LabelValues",
    "Membership",
    "Project",
    "ProjectFigures",
    "ProjectQuerySet",
    "Reservation",
    "Role",
    "Skip",
    "Source",
    "SourceAlias",
    "SourceChoice",
    "SourceKind",
    "SourceQuerySet",
    "StaleLabel",
    "SuggestionRefresh",
    "UserSession",
    "content_hash",
    "normalise_alias",
    "suggestion_to_json",
]
