from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from claims.importing import parse_file
from claims.models import Article, Membership, Project, Role

DEMO_ACCOUNTS = (
    ("annotator1", Role.ANNOTATOR),
    ("annotator2", Role.ANNOTATOR),
    ("reviewer", Role.REVIEWER),
    ("manager", Role.MANAGER),
)
ARTICLES = Path(settings.BASE_DIR) / "fixtures" / "articles"


class Command(BaseCommand):
    help = (
        "Create the demo project 'demo' with the fixture articles and the demo accounts "
        "(once; running it again changes nothing but the passwords). The password is "
        "$DEMO_PASSWORD, or a generated one that is printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="The address to print for the demo.")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        with transaction.atomic():
            project, created = Project.objects.get_or_create(
                slug="demo",
                defaults={
                    "name": "Demo: North Korean troops in Russia",
                    "guidelines": (
                        "Label who each claim is attributed to and how firmly the text states it. "
                        "Headlines, link lists and boilerplate are 'not a claim'."
                    ),
                },
            )
            if created:
                project.copy_default_labels()
                for path in sorted(ARTICLES.glob("*.txt")):
                    records = parse_file(
                        path.name, path.read_bytes(), max_bytes=settings.IMPORT_MAX_BYTES
                    )
                    Article.objects.import_records(project, records)
            User = get_user_model()
            may_create_projects = Permission.objects.get(
                codename="add_project", content_type__app_label="claims"
            )
            for username, role in DEMO_ACCOUNTS:
                user, _ = User.objects.get_or_create(username=username)
                user.set_password(password)
                user.save()
                Membership.objects.get_or_create(
                    project=project, user=user, defaults={"role": role}
                )
                if role == Role.MANAGER:
                    user.user_permissions.add(may_create_projects)
        state = "created" if created else "already there"
        self.stdout.write(
            f"Demo project 'demo' {state}: {project.articles.count()} articles, "
            f"{project.claims.count()} claims."
        )
        if url:
            self.stdout.write(f"\nOpen {url} and log in as one of:")
        for username, role in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<11} {role.label:<10} password: {password}")
