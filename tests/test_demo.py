from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command

from claims.models import Annotation, Article, Claim, Project


def test_demo_is_created_once_with_its_accounts(db, monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("demo", "--url", "http://127.0.0.1:8000/")
    out = capsys.readouterr().out
    project = Project.objects.get(slug="demo")
    assert project.articles.count() == 2
    claims = Claim.objects.filter(project=project).count()
    assert claims > 30
    for username in ("annotator1", "annotator2", "reviewer", "manager"):
        user = get_user_model().objects.get(username=username)
        assert user.check_password("demo-pass-123")
        assert project.role_of(user) is not None
        assert username in out
    assert "http://127.0.0.1:8000/" in out
    call_command("demo")
    assert Project.objects.filter(slug="demo").count() == 1
    assert Article.objects.filter(project=project).count() == 2
    assert Claim.objects.filter(project=project).count() == claims
    assert get_user_model().objects.filter(username="annotator1").count() == 1
    assert not Annotation.objects.exists()


def test_demo_prints_a_generated_password_when_none_is_set(db, monkeypatch, capsys):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("demo")
    line = next(line for line in capsys.readouterr().out.splitlines() if "annotator1" in line)
    password = line.split("password:")[1].strip()
    assert len(password) >= 8
    assert get_user_model().objects.get(username="annotator1").check_password(password)


def test_demo_manager_may_create_projects_and_annotators_may_not(db):
    call_command("demo")
    users = get_user_model().objects
    assert users.get(username="manager").has_perm("claims.add_project")
    assert not users.get(username="annotator1").has_perm("claims.add_project")
