"""Imports at size: batched writes, the progress bar, background imports of big uploads,
and every refusal naming the file and line through both the command and the web."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from claims.importing import ArticleRecord
from claims.models import Article, Claim, ImportJob

BODY = (
    "South Korean intelligence reported around 2,000 fatalities, officials said. "
    "Analysts suspected that the missile was developed with help from Russia. "
    "The number of soldiers still deployed remains unclear."
)


def records(count: int) -> list[ArticleRecord]:
    return [ArticleRecord(title=f"Article {n}", body=f"Dispatch {n}. {BODY}") for n in range(count)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_import_writes_articles_and_claims_in_batches(
    project, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    with django_assert_max_num_queries(20):
        summary = Article.objects.import_records(project, records(120), batch_size=50)
    assert summary.articles == 120
    assert Article.objects.filter(project=project).count() == 120
    assert summary.claims == Claim.objects.filter(project=project).count() > 120


def test_batched_claims_belong_to_their_own_article(project):
    Article.objects.import_records(project, records(30), batch_size=7)
    for article in Article.objects.filter(project=project).prefetch_related("claims"):
        claims = list(article.claims.all())
        assert claims and claims[0].text.startswith(article.title.replace("Article", "Dispatch"))
        for claim in claims:
            assert article.body[claim.start : claim.end] == claim.text
        assert sorted(claim.index for claim in claims) == list(range(len(claims)))


def test_duplicates_across_batches_are_skipped_and_named(project):
    twice = records(5) + [ArticleRecord(title="Again", body=records(1)[0].body)]
    summary = Article.objects.import_records(project, twice, batch_size=2)
    assert summary.articles == 5 and summary.skipped_duplicates == ["Again"]


def test_progress_bar_is_drawn_on_a_terminal(project, tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(json.dumps({"title": r.title, "body": r.body}) + "\n" for r in records(450))
    )
    out = Terminal()
    call_command("import_articles", str(path), "--project", project.slug, stdout=out)
    text = out.getvalue()
    assert "\rmany.jsonl [" in text and "] 450/450 articles" in text
    assert "Imported 450 articles" in text


def test_no_progress_bar_when_the_output_is_not_a_terminal(project, tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(json.dumps({"title": r.title, "body": r.body}) + "\n" for r in records(3))
    )
    out = io.StringIO()
    call_command("import_articles", str(path), "--project", project.slug, stdout=out)
    text = out.getvalue()
    assert "\r" not in text and "[" not in text
    assert text.splitlines() == [
        f"{path}: 3 articles, {Claim.objects.count()} claims, 0 skipped duplicates",
        f"Imported 3 articles, {Claim.objects.count()} claims; skipped 0 duplicates; "
        "0 files failed.",
    ]


# --- Every refusal names the file and line, in the command and on the web ---------------

BAD_FILES = [
    (
        "latin1.txt",
        "Titre\nCafé crème".encode("latin-1"),
        "latin1.txt, line 2: the file is not UTF-8",
    ),
    ("empty.jsonl", b"", "empty.jsonl: the file is empty"),
    ("blank.csv", b"\n \n", "blank.csv: the file is empty"),
    (
        "nobody.jsonl",
        b'{"title": "A", "body": "B."}\n{"title": "C"}\n',
        "nobody.jsonl, line 2: the body is missing or empty",
    ),
    (
        "broken.jsonl",
        b'{"title": "A", "body": "B."}\n\n{"title": "C", "body": \n',
        "broken.jsonl, line 3: this line is not valid JSON",
    ),
    (
        "wide.csv",
        b'title,body\nA,"B."\nC,D,E\n',
        "wide.csv, line 3: this row has 3 fields but the header has 2",
    ),
    (
        "unclosed.csv",
        b'title,body\nA,B.\nC,"never closed\nD,E.\n',
        "unclosed.csv, line 3: a quoted cell that starts on this line is never closed",
    ),
    (
        "stray.csv",
        b'title,body\nA,"B" and more\n',
        "stray.csv, line 2: this row cannot be read as CSV",
    ),
    (
        "nobodycol.csv",
        b"title,text\nA,B\n",
        "nobodycol.csv, line 1: the header has no body column",
    ),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES)
def test_command_refuses_a_bad_file_naming_file_and_line(
    project, tmp_path, capsys, name, data, message
):
    good = tmp_path / "good.txt"
    good.write_text("Fine\nThis one imports.")
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError, match="1 of 2 files were not imported"):
        call_command("import_articles", str(good), str(path), "--project", project.slug)
    assert message.replace(name, str(path), 1) in capsys.readouterr().err
    assert list(project.articles.values_list("title", flat=True)) == ["Fine"]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES)
def test_web_refuses_a_bad_file_naming_file_and_line(manager_client, project, name, data, message):
    response = manager_client.post(
        f"/p/{project.slug}/import/", {"files": [SimpleUploadedFile(name, data)]}
    )
    assert response.status_code == 200
    assert message in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert not project.articles.exists()


def test_command_refuses_a_file_over_the_limit_before_reading_it(
    project, tmp_path, capsys, settings, monkeypatch
):
    settings.IMPORT_MAX_BYTES = 2048
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"title": "Big", "body": "word " * 1000}) + "\n")
    read = []
    monkeypatch.setattr(type(path), "read_bytes", lambda self: read.append(self) or b"")
    with pytest.raises(CommandError):
        call_command("import_articles", str(path), "--project", project.slug)
    assert "big.jsonl: the file is 0.0 MB, over the limit of 0.0 MB" in capsys.readouterr().err
    assert read == [] and not project.articles.exists()


def test_web_refuses_an_upload_over_the_limit(manager_client, project, settings):
    settings.IMPORT_MAX_BYTES = 2048
    big = SimpleUploadedFile("big.jsonl", json.dumps({"title": "B", "body": "w " * 2000}).encode())
    response = manager_client.post(f"/p/{project.slug}/import/", {"files": [big]})
    assert "big.jsonl: the file is" in response.content.decode()
    assert "split it into smaller files" in response.content.decode()
    assert not project.articles.exists()


def test_a_body_with_a_unicode_line_separator_imports_whole(project, tmp_path):
    body = "First sentence\u2028still the first line. Second one.\u2029Third."
    path = tmp_path / "separators.jsonl"
    path.write_text(json.dumps({"title": "Sep", "body": body}, ensure_ascii=False) + "\n")
    call_command("import_articles", str(path), "--project", project.slug)
    assert project.articles.get().body == body


# --- Big web uploads are imported in the background ---------------------------------------


@pytest.fixture
def small_inline_limit(monkeypatch):
    monkeypatch.setattr(ImportJob, "INLINE_CHARS", 1000)


def upload(client, project, name: str, count: int):
    lines = "".join(json.dumps({"title": r.title, "body": r.body}) + "\n" for r in records(count))
    return client.post(
        f"/p/{project.slug}/import/",
        {"files": [SimpleUploadedFile(name, lines.encode())]},
        follow=True,
    )


def test_a_big_upload_is_queued_and_the_worker_imports_it(
    manager_client, project, manager, small_inline_limit
):
    response = upload(manager_client, project, "big.jsonl", 40)
    page = response.content.decode()
    assert "big.jsonl: 40 articles checked and queued" in page
    assert not project.articles.exists()
    job = ImportJob.objects.get()
    assert (job.status, job.articles_total, job.created_by) == ("queued", 40, manager)

    call_command("process_imports", "--once", stdout=io.StringIO())

    job.refresh_from_db()
    assert job.status == "done" and job.payload == ""
    assert job.result.startswith("40 articles")
    assert project.articles.count() == 40
    assert set(project.articles.values_list("imported_by", flat=True)) == {manager.pk}
    page = manager_client.get(f"/p/{project.slug}/").content.decode()
    assert 'id="import-jobs"' in page and "Imported" in page and "40 articles" in page


def test_a_small_upload_is_imported_at_once(manager_client, project):
    upload(manager_client, project, "small.jsonl", 3)
    assert project.articles.count() == 3 and not ImportJob.objects.exists()


def test_a_failing_background_import_keeps_nothing_and_says_why(
    manager_client, project, small_inline_limit, monkeypatch
):
    upload(manager_client, project, "big.jsonl", 40)

    def fail(*args, **kwargs):
        # After the articles of the batch were written.
        assert Article.objects.filter(project=project).exists()
        raise RuntimeError("disk full")

    monkeypatch.setattr(type(Claim.objects), "insert_suggested", fail, raising=False)
    call_command("process_imports", "--once", stdout=io.StringIO())
    job = ImportJob.objects.get()
    assert job.status == "failed" and job.result == "Nothing was imported: disk full"
    assert not project.articles.exists() and not Claim.objects.exists()


def test_a_job_whose_worker_died_is_run_again(project, manager):
    job = ImportJob.objects.enqueue(project, "a.jsonl", records(2), created_by=manager)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at="2020-01-01T00:00:00Z")
    call_command("process_imports", "--once", stdout=io.StringIO())
    job.refresh_from_db()
    assert job.status == "done" and project.articles.count() == 2


def test_annotators_do_not_see_background_imports(annotator_client, project, manager):
    ImportJob.objects.enqueue(project, "secret.jsonl", records(1), created_by=manager)
    page = annotator_client.get(f"/p/{project.slug}/").content.decode()
    assert "secret.jsonl" not in page


def test_analysis_in_other_processes_gives_the_same_claims(project, manager):
    from claims.models import Project

    other = Project.objects.create(name="Other", slug="other")
    batch = records(25)
    Article.objects.import_records(project, batch, batch_size=10)
    Article.objects.import_records(other, batch, batch_size=10, workers=2)

    def claims_of(target):
        return list(
            Claim.objects.filter(project=target)
            .order_by("article__title", "index")
            .values_list("article__title", "index", "start", "end", "text", "suggestion")
        )

    assert claims_of(other) == claims_of(project)
    assert len(claims_of(other)) > 25


def test_imported_claims_are_the_ones_the_article_builds(project):
    Article.objects.import_records(project, records(4), batch_size=3)
    for article in Article.objects.filter(project=project):
        built = article.build_claims(project.alias_map())
        stored = list(article.claims.order_by("index"))
        assert [(c.index, c.start, c.end, c.text, c.suggestion) for c in stored] == [
            (c.index, c.start, c.end, c.text, c.suggestion) for c in built
        ]
        assert all(
            (c.annotation_count, c.needs_review, c.project_id) == (0, False, project.pk)
            for c in stored
        )
        assert all(c.created_at is not None for c in stored)
