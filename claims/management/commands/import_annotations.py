from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims import backup
from claims.importing import ImportProblem


class Command(BaseCommand):
    help = (
        "Restore a backup written by `export_annotations --all --format jsonl` into an empty "
        "database, all or nothing. People are matched by username; those missing are created "
        "without a usable password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        path = Path(file)
        try:
            handle = path.open(encoding="utf-8", newline="")
        except OSError as error:
            raise CommandError(f"{file}: cannot read the file ({error.strerror}).") from None
        try:
            with handle:
                summary = backup.restore(path.name, handle)
        except ImportProblem as problem:
            raise CommandError(f"{problem}") from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{path.name}: the file is not UTF-8 text (byte {error.start + 1} of a block "
                "cannot be read); a backup is always UTF-8, is this the right file?"
            ) from None
        self.stdout.write(f"{path.name}: {summary}.")
        if summary.users_created:
            self.stdout.write(
                "People created without a password (set one with `manage.py changepassword "
                "USERNAME`): " + ", ".join(summary.users_created)
            )
