"""Figures computed from every label of a project, kept for its dashboard."""

from __future__ import annotations

from django.db import models

from claims.models.projects import Project


class ProjectFigures(models.Model):
    """The dashboard figures that read every label of a project, as of ``computed_at``.

    Agreement, suggestion acceptance, label use, the size of the review queue
    and each annotator's totals take seconds to compute at a million labels,
    while labels change every few seconds; the dashboard shows the figures
    last computed, with their time, and ``claims.project_stats`` decides when
    to compute them again. They live in the database so that every web worker
    process and the background worker share them.

    The stamp fields (``claims`` to ``last_change``) describe the labels as
    they were when read, to tell whether they have changed since.
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="figures"
    )
    computed_at = models.DateTimeField(help_text="When the labels were read.")
    checked_at = models.DateTimeField(help_text="When the labels were last compared with these.")
    seconds = models.FloatField(help_text="How long computing the figures took.")
    labels = models.PositiveIntegerField()
    claims = models.PositiveIntegerField()
    flagged = models.PositiveIntegerField()
    settled = models.PositiveIntegerField()
    last_change = models.DateTimeField(null=True, help_text="The latest change of a label.")
    version = models.PositiveSmallIntegerField(
        help_text="Format of data; figures stored in an older format are computed again."
    )
    data = models.BinaryField()

    class Meta:
        verbose_name_plural = "project figures"

    def __str__(self) -> str:
        return f"Figures of {self.project_id} as of {self.computed_at:%Y-%m-%d %H:%M:%S}"
