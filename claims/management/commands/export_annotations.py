from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims import export
from claims.models import Annotation, Project


class Command(BaseCommand):
    help = "Export a project's annotations as CSV (the web export's columns) or JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument(
            "--gold", action="store_true", help="One row per claim with the gold label."
        )
        parser.add_argument("--article", type=int, help="Only this article (its id).")
        parser.add_argument("--annotator", help="Only this annotator (username).")
        parser.add_argument(
            "--bom", action="store_true", help="Start the CSV with a byte-order mark for Excel."
        )
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="Write here instead of standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with the slug {options['project']!r}.")
        if options["gold"]:
            raise CommandError("The gold export is not available yet.")
        annotations = Annotation.objects.filter(project=project)
        if options["article"] is not None:
            annotations = annotations.filter(claim__article_id=options["article"])
        if options["annotator"]:
            annotations = annotations.filter(annotator__username=options["annotator"])
        rows = annotations.export_rows()
        if options["format"] == "csv":
            lines = export.csv_lines(rows, export.ANNOTATION_COLUMNS, bom=options["bom"])
        else:
            lines = export.jsonl_lines(rows, export.ANNOTATION_COLUMNS)
        if options["output"]:
            with open(options["output"], "wb") as handle:
                for chunk in export.encode(lines):
                    handle.write(chunk)
        else:
            for chunk in export.encode(lines):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
