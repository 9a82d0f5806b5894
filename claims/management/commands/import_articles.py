from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims.importing import ImportProblem, parse_file
from claims.models import Article, Project


class Command(BaseCommand):
    help = (
        "Import articles into a project: .txt/.md (first line is the title), .jsonl/.json or "
        ".csv (fields title, body, optional url, outlet, published). Each file is imported "
        "whole or not at all; bodies already in the project are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--project", required=True, metavar="SLUG")

    def handle(self, *args: Any, paths: list[str], project: str, **options: Any) -> None:
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project with the slug {project!r}.")
        failures = 0
        totals = [0, 0, 0]
        for name in paths:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as error:
                self.stderr.write(f"{name}: cannot read the file ({error.strerror}).")
                failures += 1
                continue
            try:
                records = parse_file(str(path), data, max_bytes=settings.IMPORT_MAX_BYTES)
            except ImportProblem as problem:
                self.stderr.write(
                    f"{name}: {problem.message}"
                    if problem.line is None
                    else f"{name}, line {problem.line}: {problem.message}"
                )
                failures += 1
                continue
            summary = Article.objects.import_records(target, records)
            totals[0] += summary.articles
            totals[1] += summary.claims
            totals[2] += len(summary.skipped_duplicates)
            self.stdout.write(f"{name}: {summary}")
            for title in summary.skipped_duplicates:
                self.stdout.write(f"  skipped (already in the project): {title}")
        self.stdout.write(
            f"Imported {totals[0]} articles, {totals[1]} claims; "
            f"skipped {totals[2]} duplicates; {failures} files failed."
        )
        if failures:
            raise CommandError(f"{failures} of {len(paths)} files were not imported.")
