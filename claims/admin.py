from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models

from claims.models import (
    Annotation,
    AnnotationRevision,
    AnnotationSource,
    Article,
    Assignment,
    Claim,
    GoldLabel,
    ImportJob,
    Label,
    Membership,
    Project,
    ProjectFigures,
    Reservation,
    Skip,
    Source,
    SourceAlias,
    UserSession,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "annotations_per_claim", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["project", "dimension", "position", "value", "name"]
    list_filter = ["dimension", "project"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    # A bare address means https, as Django 6 will assume by default.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["title", "project", "outlet", "published", "created_at"]
    list_filter = ["project"]
    search_fields = ["title", "outlet"]
    readonly_fields = ["content_hash", "imported_by"]


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "index", "annotation_count", "needs_review"]
    list_filter = ["project", "needs_review"]
    search_fields = ["text"]
    list_select_related = ["project"]
    raw_id_fields = ["article"]
    # Offsets and text stay true to the body: they change only through split/merge.
    readonly_fields = ["start", "end", "text", "annotation_count"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["claim", "user", "expires_at"]
    raw_id_fields = ["claim"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["filename", "project", "status", "articles_total", "created_at", "finished_at"]
    list_filter = ["status", "project"]
    # The payload can be 20 MB of text: never render it in a form.
    exclude = ["payload"]
    readonly_fields = ["articles_total", "result", "started_at", "finished_at"]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).defer("payload")


@admin.register(ProjectFigures)
class ProjectFiguresAdmin(admin.ModelAdmin):
    """Figures computed from the labels, to look at; deleting a row has them computed again."""

    list_display = ["project", "computed_at", "labels", "seconds", "checked_at"]
    readonly_fields = [
        "project", "computed_at", "checked_at", "seconds", "labels", "claims", "flagged",
        "settled", "last_change", "version",
    ]  # fmt: skip

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).defer("data")

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """Who is signed in, until when; deleting a session signs that browser out.

    The session's data (its CSRF and login secrets) is never shown.
    """

    list_display = ["user", "expire_date"]
    list_select_related = ["user"]
    fields = readonly_fields = ["user", "expire_date"]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).defer("session_data")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Skip)
class SkipAdmin(admin.ModelAdmin):
    list_display = ["claim", "user", "created_at"]
    raw_id_fields = ["claim"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["article", "user", "created_at"]
    raw_id_fields = ["article"]


class SourceAliasInline(admin.TabularInline):
    model = SourceAlias
    extra = 1
    fields = ["alias"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project"]
    list_filter = ["kind", "project"]
    search_fields = ["name", "aliases__alias"]
    inlines = [SourceAliasInline]


@admin.register(SourceAlias)
class SourceAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "source"]
    search_fields = ["alias", "source__name"]
    raw_id_fields = ["source"]


class AnnotationSourceInline(admin.TabularInline):
    model = AnnotationSource
    extra = 0
    raw_id_fields = ["source"]


class AnnotationRevisionInline(admin.TabularInline):
    model = AnnotationRevision
    extra = 0
    can_delete = False
    readonly_fields = ["number", "editor", "reason", "data", "form_token", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["claim", "annotator", "confidence", "claim_kind", "revision", "updated_at"]
    list_filter = ["project", "confidence", "claim_kind", "needs_review"]
    search_fields = ["annotator__username", "note", "claim__text"]
    raw_id_fields = ["claim"]
    readonly_fields = ["revision", "created_at", "updated_at"]
    inlines = [AnnotationSourceInline, AnnotationRevisionInline]


@admin.register(AnnotationSource)
class AnnotationSourceAdmin(admin.ModelAdmin):
    list_display = ["annotation", "source", "position", "wording"]
    raw_id_fields = ["annotation", "source"]


@admin.register(AnnotationRevision)
class AnnotationRevisionAdmin(admin.ModelAdmin):
    list_display = ["annotation", "number", "editor", "reason", "created_at"]
    raw_id_fields = ["annotation"]
    readonly_fields = ["annotation", "number", "editor", "reason", "data", "form_token"]


@admin.register(GoldLabel)
class GoldLabelAdmin(admin.ModelAdmin):
    list_display = ["claim", "reviewer", "confidence", "claim_kind", "updated_at"]
    raw_id_fields = ["claim", "picked_from"]
    filter_horizontal = ["sources"]
