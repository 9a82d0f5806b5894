from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from claims.models import ImportJob
from claims.project_stats import refresh_due_figures


class Command(BaseCommand):
    help = (
        "Import the files uploaded on the web that were too big for one request (the project "
        "page shows them as queued), and in between compute the dashboard figures that read "
        "every label of a project whose labels changed. Runs until stopped; --once empties the "
        "queue, brings the figures up to date and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Exit when the queue is empty.")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="Seconds between looks at an empty queue."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            metavar="N",
            help="processes that split and analyse the text (default: the CPUs, at most 4)",
        )

    def handle(self, *args: Any, once: bool, interval: float, workers: int, **options: Any) -> None:
        # A job still "importing" after this long lost its worker; its transaction
        # was rolled back, so running it again imports it once.
        ImportJob.objects.requeue_stale(older_than=timedelta(minutes=30))
        figures_paused_until = 0.0
        while True:
            job = ImportJob.objects.run_next(workers=workers)
            if job is not None:
                self.stdout.write(f"{job.project.slug}/{job.filename}: {job.result}")
                continue
            if time.monotonic() >= figures_paused_until:
                # One project's figures at a time, so a queued import waits for one at most.
                try:
                    project = refresh_due_figures()
                except Exception as error:  # the imports must go on whatever the figures do
                    self.stderr.write(f"dashboard figures failed, next try in 5 minutes: {error!r}")
                    figures_paused_until = time.monotonic() + 300
                    project = None
                if project is not None:
                    self.stdout.write(f"{project.slug}: dashboard figures computed")
                    continue
            if once:
                return
            time.sleep(interval)
