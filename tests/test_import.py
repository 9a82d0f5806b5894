from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from claims.importing import ImportProblem, parse_file
from claims.models import Article, Claim

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "articles"
LIMIT = 1024 * 1024


def parse(name: str, data: bytes):
    return parse_file(name, data, max_bytes=LIMIT)


def test_txt_first_line_is_title_and_rest_is_body_unchanged():
    [record] = parse("a.txt", b"Headline here\nFirst line.\n\n  Second, indented.\n")
    assert record.title == "Headline here"
    assert record.body == "First line.\n\n  Second, indented.\n"


def test_markdown_title_loses_its_hashes():
    [record] = parse("a.md", b"# A title\nBody text.")
    assert record.title == "A title"
    assert record.body == "Body text."


def test_jsonl_reads_every_field():
    lines = [
        {
            "title": "One",
            "body": "Text one.",
            "url": "https://example.org/1",
            "outlet": "Wire",
            "published": "2025-10-23",
        },
        {"title": "Two", "body": "Text two."},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    first, second = parse("a.jsonl", data)
    assert (first.title, first.url, first.outlet, str(first.published)) == (
        "One",
        "https://example.org/1",
        "Wire",
        "2025-10-23",
    )
    assert second.body == "Text two." and second.published is None


def test_json_accepts_a_list_or_one_object():
    assert len(parse("a.json", json.dumps([{"title": "A", "body": "B."}] * 2).encode())) == 2
    assert parse("a.json", json.dumps({"title": "A", "body": "B."}).encode())[0].title == "A"


def test_csv_reads_quoted_newlines_and_commas():
    data = b'title,body,url\n"A, b","Line one.\nLine two, with comma.",https://example.org\n'
    [record] = parse("a.csv", data)
    assert record.title == "A, b"
    assert record.body == "Line one.\nLine two, with comma."


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.jsonl", b"\n\n  \n", "empty"),
        ("latin1.txt", "Titre\nCafé crème".encode("latin-1"), "not UTF-8"),
        ("nobody.csv", b"title,text\nA,B\n", "no body column"),
        ("title-only.txt", b"Just a title\n", "body is empty"),
        ("wide.csv", b"title,body\nA,B,C\n", "3 fields"),
        ("binary.pdf", b"%PDF-1.4", "unknown file type"),
        ("nul.jsonl", json.dumps({"title": "A", "body": "B\u0000"}).encode(), "NUL"),
        (
            "date.jsonl",
            json.dumps({"title": "A", "body": "B", "published": "23/10/2025"}).encode(),
            "YYYY-MM-DD",
        ),
        (
            "url.jsonl",
            json.dumps({"title": "A", "body": "B", "url": "javascript:alert(1)"}).encode(),
            "http(s)",
        ),
    ],
)
def test_bad_files_get_a_message_that_says_what_to_fix(name, data, message):
    with pytest.raises(ImportProblem) as problem:
        parse(name, data)
    assert message in str(problem.value)
    assert str(problem.value).startswith(name)


def test_broken_json_line_is_named():
    data = b'{"title": "A", "body": "B"}\n{"title": "broken"\n'
    with pytest.raises(ImportProblem) as problem:
        parse("a.jsonl", data)
    assert problem.value.line == 2
    assert "a.jsonl, line 2" in str(problem.value)


def test_missing_body_in_jsonl_names_the_line():
    data = b'{"title": "A", "body": "B"}\n{"title": "C"}\n'
    with pytest.raises(ImportProblem) as problem:
        parse("a.jsonl", data)
    assert problem.value.line == 2 and "body" in problem.value.message


def test_file_over_the_size_limit_is_refused():
    with pytest.raises(ImportProblem) as problem:
        parse_file("big.txt", b"Title\n" + b"x" * 2000, max_bytes=1024)
    assert "over the limit" in str(problem.value)


def test_claims_are_offsets_into_the_unchanged_body(project):
    body = "  First claim here.\n\nSecond claim, with 2,000 people. Third one?\n"
    project.articles.model.objects.import_records(
        project, parse("a.txt", ("Title\n" + body).encode())
    )
    article = project.articles.get()
    assert article.body == body
    claims = list(article.claims.order_by("index"))
    assert claims, "the body has claims"
    for claim in claims:
        assert article.body[claim.start : claim.end] == claim.text
    assert [claim.index for claim in claims] == list(range(len(claims)))


@pytest.mark.parametrize(
    ("filename", "sentences"), [("000_a718dc74516d047e.txt", 21), ("004_596b0418d6e7fc60.txt", 9)]
)
def test_demo_articles_split_into_one_claim_per_sentence(project, filename, sentences):
    project.split_compound = False
    project.save()
    records = parse(filename, (FIXTURES / filename).read_bytes())
    Article.objects.import_records(project, records)
    article = project.articles.get()
    claims = list(article.claims.order_by("index"))
    for claim in claims:
        assert article.body[claim.start : claim.end] == claim.text
    real = [claim for claim in claims if claim.suggested_kind != "not_a_claim"]
    assert len(real) == sentences
    if "Read also" in article.body:
        tail = [claim for claim in claims if claim.start >= article.body.index("Read also")]
        assert [claim.text.splitlines()[0] for claim in tail][0].startswith("Read also")
        assert len(tail) == 5
        assert all(claim.suggested_kind == "not_a_claim" for claim in tail)


def test_same_body_is_not_imported_twice_and_summary_says_so(project):
    records = parse(
        "a.jsonl", b'{"title": "A", "body": "Same text."}\n{"title": "B", "body": "Same text."}\n'
    )
    summary = Article.objects.import_records(project, records)
    again = Article.objects.import_records(project, records)
    assert summary.articles == 1 and summary.skipped_duplicates == ["B"]
    assert again.articles == 0 and again.skipped_duplicates == ["A", "B"]
    assert project.articles.count() == 1


def test_import_command_prints_a_summary(project, tmp_path, capsys):
    path = tmp_path / "a.jsonl"
    path.write_text('{"title": "A", "body": "One claim. Two claims."}\n')
    call_command("import_articles", str(path), "--project", project.slug)
    out = capsys.readouterr().out
    assert "1 articles" in out and "claims" in out and "skipped 0 duplicates" in out
    assert Claim.objects.filter(project=project).count() == 2


def test_import_command_imports_nothing_from_a_file_with_one_bad_line(project, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"title": "A", "body": "Fine."}\nnot json\n')
    with pytest.raises(CommandError):
        call_command("import_articles", str(path), "--project", project.slug)
    assert not project.articles.exists()


def test_import_command_refuses_an_unknown_project(db, tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("T\nB.")
    with pytest.raises(CommandError, match="No project"):
        call_command("import_articles", str(path), "--project", "nope")


def test_manager_imports_pasted_text(manager_client, project):
    response = manager_client.post(
        f"/p/{project.slug}/import/",
        {
            "title": "Pasted",
            "body": "Kim said it.\r\nThe museum opened.",
            "url": "",
            "outlet": "Wire",
        },
    )
    assert response.status_code == 302
    article = project.articles.get()
    assert article.body == "Kim said it.\nThe museum opened."
    assert article.outlet == "Wire"
    assert article.claims.count() == 2


def test_manager_uploads_several_files(manager_client, project):
    files = [
        SimpleUploadedFile("a.txt", b"Title A\nBody A."),
        SimpleUploadedFile("b.csv", b"title,body\nB,Body B.\n"),
    ]
    response = manager_client.post(f"/p/{project.slug}/import/", {"files": files})
    assert response.status_code == 302
    assert sorted(project.articles.values_list("title", flat=True)) == ["B", "Title A"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("bad.txt", b"T\n\xff\xfe broken", "not UTF-8"),
        ("x.csv", b"title\nA\n", "no body column"),
        ("x.jsonl", b'{"title": "A", "body": "B"}\n{oops\n', "line 2"),
    ],
)
def test_bad_upload_shows_the_problem_and_imports_nothing(
    manager_client, project, name, data, message
):
    response = manager_client.post(
        f"/p/{project.slug}/import/", {"files": [SimpleUploadedFile(name, data)]}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not project.articles.exists()


def test_upload_over_the_limit_is_refused_with_a_message(manager_client, project, settings):
    settings.IMPORT_MAX_BYTES = 2048
    big = SimpleUploadedFile("big.txt", b"Title\n" + b"word " * 1000)
    response = manager_client.post(f"/p/{project.slug}/import/", {"files": [big]})
    assert response.status_code == 200
    assert "over the limit" in response.content.decode()
    assert not project.articles.exists()


def test_empty_import_form_says_what_to_do(manager_client, project):
    response = manager_client.post(f"/p/{project.slug}/import/", {})
    assert response.status_code == 200
    assert "Choose one or more files" in response.content.decode()


def test_html_in_article_text_is_shown_escaped(manager_client, project):
    manager_client.post(
        f"/p/{project.slug}/import/",
        {"title": "<script>alert(1)</script>", "body": "<img src=x onerror=alert(2)> said KCNA."},
    )
    article = project.articles.get()
    page = manager_client.get(f"/p/{project.slug}/articles/{article.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
