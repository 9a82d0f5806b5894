from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims import backup, export
from claims.forms import ExportFilterForm
from claims.models import Annotation, Claim, Project


class Command(BaseCommand):
    help = "Export a project's annotations as CSV (the web export's columns) or JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", metavar="SLUG", help="Required unless --all.")
        parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
        parser.add_argument(
            "--gold", action="store_true", help="One row per claim with the gold label."
        )
        parser.add_argument("--article", type=int, help="Only this article (its id).")
        parser.add_argument("--annotator", help="Only this annotator (username).")
        parser.add_argument("--claim-kind", metavar="KIND", help="Only labels of this claim kind.")
        for stamp in ("created", "updated"):
            parser.add_argument(f"--{stamp}-from", metavar="YYYY-MM-DD", help=f"{stamp} on/after")
            parser.add_argument(f"--{stamp}-to", metavar="YYYY-MM-DD", help=f"{stamp} on/before")
        parser.add_argument(
            "--with-gold", action="store_true", help="Only claims that have a gold label."
        )
        parser.add_argument(
            "--no-neutralise",
            action="store_true",
            help="Leave cells starting with = + - @ as they are (for programs, not spreadsheets).",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Back up everything (every project, with --format jsonl); import_annotations "
            "restores it.",
        )
        parser.add_argument(
            "--bom", action="store_true", help="Start the CSV with a byte-order mark for Excel."
        )
        parser.add_argument(
            "-o", "--output", metavar="FILE", help="Write here instead of standard output."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            return self._backup(options)
        if not options["project"]:
            raise CommandError("Give --project SLUG (or --all --format jsonl for a backup).")
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with the slug {options['project']!r}.")
        filters = self._filters(project, options)
        if options["gold"]:
            claims = filters.filter_claims(Claim.objects.for_review(project, every_labelled=True))
            rows, columns = claims.gold_rows(), export.GOLD_COLUMNS
        else:
            annotations = filters.filter_annotations(Annotation.objects.filter(project=project))
            rows, columns = annotations.export_rows(), export.ANNOTATION_COLUMNS
        lines = export.dataset_lines(
            rows,
            columns,
            fmt=options["format"],
            bom=filters.cleaned_data["bom"],
            safe=filters.cleaned_data["neutralise"],
        )
        self._write(lines, options["output"])

    def _write(self, lines: Iterable[str], output: str | None) -> None:
        """UTF-8 to the file named by -o, or to standard output, in chunks."""
        if output:
            with open(output, "wb") as handle:
                for chunk in export.encode(lines):
                    handle.write(chunk)
            return
        for chunk in export.encode(lines):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()

    def _filters(self, project: Project, options: dict[str, Any]) -> ExportFilterForm:
        """The options read through the web export's form, so both select the same rows."""
        data = {
            name: options[name]
            for name in ("article", "annotator", "claim_kind")
            + ("created_from", "created_to", "updated_from", "updated_to")
            if options.get(name) is not None
        }
        data["with_gold"] = options.get("with_gold", False)
        data["bom"] = options.get("bom", False)
        data["neutralise"] = not options.get("no_neutralise", False)
        filters = ExportFilterForm(project, data)
        if not filters.is_valid():
            raise CommandError(filters.error_text(prefix="--"))
        return filters

    def _backup(self, options: dict[str, Any]) -> None:
        if options["format"] != "jsonl":
            raise CommandError("A backup (--all) is written as JSON lines: add --format jsonl.")
        if options["project"] or options["gold"]:
            raise CommandError("--all backs up every project; leave out --project and --gold.")
        lines = backup.dump_lines()
        self._write(lines, options["output"])
