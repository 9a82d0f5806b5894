from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from claims.models import ImportJob


class Command(BaseCommand):
    help = (
        "Import the files uploaded on the web that were too big for one request (the project "
        "page shows them as queued). Runs until stopped; --once empties the queue and exits."
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
        while True:
            job = ImportJob.objects.run_next(workers=workers)
            if job is not None:
                self.stdout.write(f"{job.project.slug}/{job.filename}: {job.result}")
                continue
            if once:
                return
            time.sleep(interval)
