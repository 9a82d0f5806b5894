from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims.importing import ImportProblem, check_size, parse_file
from claims.models import Article, Project

BAR_WIDTH = 30
PARALLEL_FROM = 200


class Command(BaseCommand):
    help = (
        "Import articles into a project: .txt/.md (first line is the title), .jsonl/.json or "
        ".csv (fields title, body, optional url, outlet, published). Each file is imported "
        "whole or not at all; bodies already in the project are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            metavar="N",
            help="processes that split and analyse the text of big files (default: the CPUs, "
            "at most 4; 1 = none)",
        )

    def handle(
        self, *args: Any, paths: list[str], project: str, workers: int, **options: Any
    ) -> None:
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project with the slug {project!r}.")
        failures = 0
        totals = [0, 0, 0]
        for name in paths:
            path = Path(name)
            try:
                # Refuse an oversized file before reading it into memory.
                check_size(name, path.stat().st_size, max_bytes=settings.IMPORT_MAX_BYTES)
                data = path.read_bytes()
            except OSError as error:
                self.stderr.write(f"{name}: cannot read the file ({error.strerror}).")
                failures += 1
                continue
            except ImportProblem as problem:
                self.stderr.write(f"{name}: {problem.message}")
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
            summary = Article.objects.import_records(
                target,
                records,
                progress=self._progress_bar(path.name, len(records)),
                # Starting processes costs more than it saves on a few articles.
                workers=workers if len(records) >= PARALLEL_FROM else 1,
            )
            totals[0] += summary.articles
            totals[1] += summary.claims
            totals[2] += len(summary.skipped_duplicates)
            if self.stdout.isatty():
                self.stdout.write("")  # end the progress bar's line
            self.stdout.write(f"{name}: {summary}")
            for title in summary.skipped_duplicates:
                self.stdout.write(f"  skipped (already in the project): {title}")
        self.stdout.write(
            f"Imported {totals[0]} articles, {totals[1]} claims; "
            f"skipped {totals[2]} duplicates; {failures} files failed."
        )
        if failures:
            raise CommandError(f"{failures} of {len(paths)} files were not imported.")

    def _progress_bar(self, name: str, total: int) -> Callable[[int], None] | None:
        """A bar redrawn in place on a terminal; nothing when the output goes to a file or pipe."""
        if not self.stdout.isatty():
            return None

        def draw(done: int) -> None:
            filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stdout.write(f"\r{name} [{bar}] {done:,}/{total:,} articles", ending="")
            self.stdout.flush()

        draw(0)
        return draw
