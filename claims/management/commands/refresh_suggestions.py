from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims.models import Article, Project


class Command(BaseCommand):
    help = (
        "Suggest sources, cue, kind and confidence again for a project's claims that nobody "
        "has labelled yet, with the sources and aliases the project has now (aliases learned "
        "from labels reach only articles imported after them otherwise). Labelled, settled "
        "and handed-out claims keep their suggestion."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", metavar="SLUG", required=True)
        parser.add_argument("--article", type=int, help="Only this article (its id).")

    def handle(self, *args: Any, project: str, article: int | None, **options: Any) -> None:
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project with the slug {project!r}.")
        articles = Article.objects.filter(project=target)
        if article is not None:
            articles = articles.filter(pk=article)
            if not articles.exists():
                raise CommandError(f"The project {project!r} has no article {article}.")
        self.stdout.write(f"{target.name}: {articles.refresh_suggestions()}.")
