from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims.attribution import analyse


class Command(BaseCommand):
    help = (
        "Split texts into claims with suggested sources, cue and confidence, without touching "
        'the database. Reads JSON lines {"id", "text"} (a path, or - for standard input) and '
        "prints one JSON line per record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", metavar="INPUT.jsonl")
        parser.add_argument(
            "--no-compound",
            action="store_true",
            help="Keep a sentence that attributes two claims to two sources as one claim.",
        )

    def handle(self, *args: Any, input: str, no_compound: bool, **options: Any) -> None:
        try:
            stream = sys.stdin if input == "-" else open(input, encoding="utf-8")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"{input}: cannot read the file ({error.strerror}).") from None
        with stream:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    text = record["text"]
                    if not isinstance(text, str):
                        raise TypeError
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise CommandError(
                        f"{input}, line {number}: expected a JSON object with a text field."
                    ) from None
                claims = analyse(text, split_compound=not no_compound)
                self.stdout.write(
                    json.dumps(
                        {"id": record.get("id"), "claims": [claim.to_json() for claim in claims]},
                        ensure_ascii=False,
                    )
                )
