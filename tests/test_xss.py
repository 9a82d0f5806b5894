"""Hostile text everywhere a user can type it comes back as text, never as markup.

A few hundred real cross-site scripting payloads (tests/data/xss-payloads.txt)
become project names, article titles and text, outlets, source names,
attribution cues and notes. Every page that shows them is parsed: each
element and attribute must be one our templates can produce, no attribute may
carry script, and each payload must be readable as text. The exports carry
the payloads as data, in a type no browser renders as a page.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest
from django.test import Client

from claims import export
from claims.importing import ArticleRecord
from claims.models import Article, LabelValues, Membership, Project, Role, SourceChoice

from .conftest import client_for

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = [
    line
    for line in (Path(__file__).parent / "data" / "xss-payloads.txt").read_text().splitlines()
    if line and not line.startswith("# ")
]

# What our templates (and the form widgets Django renders for them) can produce.
TEMPLATE_ROOTS = [
    ROOT / "templates",
    Path(django.__file__).parent / "forms" / "templates" / "django" / "forms",
]
# Attribute names Django's widgets render from Python (attrs.html prints them).
WIDGET_ATTRIBUTES = {
    "aria-describedby", "aria-invalid", "autocapitalize", "autocomplete", "autofocus",
    "checked", "cols", "dirname", "disabled", "maxlength", "minlength", "multiple",
    "required", "rows", "selected", "step", "min", "max",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "background", "cite"}
SCRIPT_SCHEMES = re.compile(r"^\s*(javascript|vbscript|data|livescript):", re.IGNORECASE)


def template_vocabulary() -> tuple[set[str], set[str]]:
    """Tag names and attribute-like words found inside tags of our templates."""
    tags: set[str] = set()
    words: set[str] = set()
    for root in TEMPLATE_ROOTS:
        for path in root.rglob("*.html"):
            source = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", path.read_text(), flags=re.S)
            for tag, inside in re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>", source):
                tags.add(tag.lower())
                named = re.findall(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)=", inside)
                bare = re.findall(r"\s([a-zA-Z][-a-zA-Z]*)(?=[\s>]|$)", inside)
                words |= {word.lower() for word in named + bare}
    return tags, words | WIDGET_ATTRIBUTES


ALLOWED_TAGS, ALLOWED_ATTRIBUTES = template_vocabulary()
NAME_MAX = Project._meta.get_field("name").max_length


class PageAudit(HTMLParser):
    """Collects what a payload could have injected, and the page's readable text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self.meta_count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"element <{tag}> that no template makes")
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES:
                self.problems.append(f"attribute {name}= on <{tag}> that no template makes")
            if name.startswith("on") or name.startswith("hx-on") or name == "srcdoc":
                self.problems.append(f"script attribute {name}= on <{tag}>")
            # base.html's empty icon (href="data:,") carries nothing that could run.
            scripted = value and value != "data:," and SCRIPT_SCHEMES.match(value)
            if name in URL_ATTRIBUTES and scripted:
                self.problems.append(f"script address {name}={value[:40]!r} on <{tag}>")
            self.text.append(value or "")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append("a <script> that is not one of our static files")
        if tag == "meta":
            self.meta_count += 1
        if tag == "base":
            self.problems.append("a <base> element")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def audit(html: str) -> PageAudit:
    page = PageAudit()
    page.feed(html)
    page.close()
    # A full page (not an htmx fragment) has base.html's three: charset, viewport, htmx-config.
    if "<html" in html and page.meta_count != 3:
        page.problems.append(f"{page.meta_count} <meta> elements, not base.html's 3")
    return page


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_audit_catches_injected_markup():
    """The checker itself: an unescaped payload in a page is reported."""
    shell = (
        '<html><head><meta charset="utf-8"><meta name="viewport" content="x">'
        '<meta name="htmx-config" content="x"></head><body><p>PAYLOAD</p></body></html>'
    )
    assert not audit(shell.replace("PAYLOAD", "&lt;img src=x onerror=alert(1)&gt;")).problems
    for payload in [
        "<img src=x onerror=alert(1)>",
        "<svg/onload=alert(1)>",
        "<a href=javascript:alert(1)>x</a>",
        "<script>alert(1)</script>",
        '<div hx-on:click="alert(1)">x</div>',
    ]:
        assert audit(shell.replace("PAYLOAD", payload)).problems, payload


def test_payload_list_is_the_real_size():
    assert len(PAYLOADS) >= 300
    assert len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.fixture
def hostile(db, manager, annotator, reviewer):
    """A project whose every user-typed text is a payload, labelled by ``annotator``."""
    project = Project.objects.create(name=PAYLOADS[0], slug="hostile", annotations_per_claim=2)
    project.copy_default_labels()
    for user, role in (
        (manager, Role.MANAGER),
        (annotator, Role.ANNOTATOR),
        (reviewer, Role.REVIEWER),
    ):
        Membership.objects.create(project=project, user=user, role=role)
    # One article holds every payload in its text; one more per payload carries it as title.
    body = "\n".join(f"{payload} said the agency on Monday." for payload in PAYLOADS)
    records = [ArticleRecord(title=PAYLOADS[1], body=body, outlet=PAYLOADS[2])]
    records += [
        ArticleRecord(title=payload, body=f"Article {i} reported something.", outlet=payload[:200])
        for i, payload in enumerate(PAYLOADS)
    ]
    Article.objects.import_records(project, records)
    big = project.articles.get(body=body)
    claims = list(big.claims.order_by("index"))
    # Every payload as a note, a cue and a source name on some claim.
    per_claim: dict[int, list[str]] = {}
    for i, payload in enumerate(PAYLOADS):
        per_claim.setdefault(i % len(claims), []).append(payload)
    for index, payloads in per_claim.items():
        claims[index].record_label(
            annotator=annotator,
            values=LabelValues(
                confidence="asserted",
                claim_kind="claim",
                attribution_cue=" ".join(payloads)[:500],
                note="\n".join(payloads),
                sources=[SourceChoice(name=p, kind="official", wording=p) for p in payloads],
            ),
        )
    # Projects named by payloads, for the home page.
    named = Project.objects.bulk_create(
        Project(name=payload[:NAME_MAX], slug=f"named-{i}") for i, payload in enumerate(PAYLOADS)
    )
    Membership.objects.bulk_create(
        Membership(project=p, user=annotator, role=Role.ANNOTATOR) for p in named
    )
    return {"project": project, "big": big, "claims": claims, "per_claim": per_claim}


def fetch_all(hostile, manager, annotator) -> dict[str, str]:
    project, big, claims = hostile["project"], hostile["big"], hostile["claims"]
    slug = project.slug
    pages: dict[str, str] = {}
    as_manager, as_annotator = client_for(manager), client_for(annotator)
    gets = [
        (as_annotator, "/"),
        (as_manager, f"/p/{slug}/"),
        (as_manager, f"/p/{slug}/articles/{big.pk}/"),
        (as_manager, f"/p/{slug}/settings/"),
        (as_manager, f"/p/{slug}/members/"),
        (as_manager, f"/p/{slug}/import/"),
        (as_annotator, f"/p/{slug}/my-labels/"),
        (as_annotator, f"/p/{slug}/label/"),
        (as_annotator, f"/p/{slug}/label/?claim={claims[0].pk}"),
        (as_annotator, f"/p/{slug}/sources/?q=script"),
        (as_manager, f"/p/{slug}/review/?all=1"),
        (as_manager, f"/p/{slug}/claims/{claims[0].pk}/"),
        (as_manager, f"/p/{slug}/dashboard/"),
        (as_manager, f"/p/{slug}/assignments/"),
        # Titles are payloads: the assignment type-ahead lists them.
        (as_manager, f"/p/{slug}/assignments/articles/?q="),
        (as_manager, f"/p/{slug}/assignments/articles/?q=script"),
    ]
    # The project page lists its articles a hundred at a time.
    gets += [(as_manager, f"/p/{slug}/?page={n}") for n in range(2, len(PAYLOADS) // 100 + 3)]
    for client, url in gets:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    # Reflected: what a visitor sends comes back in the page.
    for i, payload in enumerate(PAYLOADS[:60]):
        response = Client().get("/accounts/login/", {"next": payload})
        pages[f"login?next #{i}"] = response.content.decode()
    response = as_annotator.post(
        f"/p/{slug}/label/",
        {
            "claim": claims[1].pk,
            "claim_kind": "claim",  # no confidence: the form comes back with its values
            "attribution_cue": PAYLOADS[3],
            "note": PAYLOADS[4],
            "source": PAYLOADS[5:15],
            "source_kind": ["official"] * 10,
            "source_wording": PAYLOADS[15:25],
        },
    )
    assert response.status_code == 400
    pages["label form sent back"] = response.content.decode()
    response = as_manager.post(f"/p/{slug}/settings/", {"name": PAYLOADS[30], "slug": "bad slug"})
    pages["settings form sent back"] = response.content.decode()
    response = as_manager.post(f"/p/{slug}/import/", {"title": PAYLOADS[31], "body": PAYLOADS[32]})
    pages["import form"] = response.content.decode()
    return pages


def test_payloads_never_become_markup_and_read_as_text_on_every_page(hostile, manager, annotator):
    pages = fetch_all(hostile, manager, annotator)
    audits = {url: audit(html) for url, html in pages.items()}
    problems = [f"{url}: {problem}" for url, page in audits.items() for problem in page.problems]
    assert not problems, "\n".join(problems[:30])

    # Escaped, not dropped: each payload is readable where it belongs.
    text = {url: flat(" ".join(page.text)) for url, page in audits.items()}
    slug = hostile["project"].slug
    missing = []
    for payload in PAYLOADS:
        wanted = flat(payload)
        # Project names on the home page; titles on the project page; the
        # article's text on the label page; notes and sources on the article page.
        if flat(payload[:NAME_MAX]) not in text["/"]:
            missing.append(f"home page: {payload}")
        if wanted not in text[f"/p/{slug}/label/?claim={hostile['claims'][0].pk}"]:
            missing.append(f"label page: {payload}")
        if not any(wanted in page for url, page in text.items() if url.startswith(f"/p/{slug}/?")):
            if wanted not in text[f"/p/{slug}/"]:
                missing.append(f"project page (any page of it): {payload}")
        article_page = text[f"/p/{slug}/articles/{hostile['big'].pk}/"]
        if wanted not in article_page:
            missing.append(f"article page: {payload}")
    assert not missing, "\n".join(missing[:20])
    assert flat(PAYLOADS[4]) in text["label form sent back"]
    assert flat(PAYLOADS[30]) in text["settings form sent back"]


def test_exports_carry_payloads_as_data_in_a_type_browsers_do_not_render(hostile, manager_client):
    slug = hostile["project"].slug
    response = manager_client.get(f"/p/{slug}/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    expected = {"\n".join(payloads) for payloads in hostile["per_claim"].values()}
    # Exactly as typed, except a formula-looking note, which gets a leading quote.
    assert {row["note"] for row in rows} == {export.neutralise(note) for note in expected}
    response = manager_client.get(f"/p/{slug}/export.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert response["Content-Disposition"].startswith("attachment;")
    lines = b"".join(response.streaming_content).decode().splitlines()
    # JSON lines are for programs: exactly as typed.
    assert {json.loads(line)["note"] for line in lines} == expected
