"""Many annotators at once, over real HTTP, against gunicorn and PostgreSQL: nothing is lost.

The app runs as it does on a server: gunicorn with several worker processes,
DEBUG off, collected and compressed static files, a PostgreSQL database of its
own (created, migrated and dropped here: the workers must see committed data,
which pytest's transaction-wrapped test database would hide from them).
Twenty-four annotators log in through the login form and label claims through
the plain (non-htmx) form, each in its own thread. Afterwards the export must
hold every acknowledged label exactly once and no claim more than K labels.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bench.http_load import free_port

ROOT = Path(__file__).resolve().parent.parent
ANNOTATORS = 24
DOUBLE_SUBMITTERS = 6  # of them send their first label twice at the same moment
K = 2
WORKERS = 4
PASSWORD = "concurrent-annotators-42"
REQUEST_TIMEOUT = 60
MAX_LABELS_PER_ANNOTATOR = 30


def server_url() -> str:
    """The PostgreSQL server: the one DATABASE_URL names, else this machine's."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        parts = urllib.parse.urlsplit(configured)
        return urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    return os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def database_url():
    """A fresh database for the gunicorn workers, dropped afterwards."""
    admin_url = server_url()
    name = f"wb_gunicorn_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"This test needs a PostgreSQL server at {admin_url} (set TEST_POSTGRES_URL or a "
            f"postgres DATABASE_URL to use another): {error}",
            pytrace=False,
        )
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield urllib.parse.urlunsplit(
                urllib.parse.urlsplit(admin_url)._replace(path=f"/{name}")
            )
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


SETUP = """
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from claims.importing import ArticleRecord
from claims.models import Article, Membership, Project, Role

User = get_user_model()
password = make_password({password!r})
project = Project.objects.create(name="Crowd", slug="crowd", annotations_per_claim={k})
project.copy_default_labels()
manager = User.objects.create(username="boss", password=password)
Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
for i in range({annotators}):
    user = User.objects.create(username=f"annotator{{i:02d}}", password=password)
    Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
records = [
    ArticleRecord(
        title=f"Report {{a}}",
        body=" ".join(
            f"Officials in district {{a}}-{{s}} said on Monday that {{s * 100 + a}} soldiers "
            f"had arrived, according to KCNA."
            for s in range(6)
        ),
    )
    for a in range(4)
]
Article.objects.import_records(project, records)
# A second project, for the two-tab checks: the crowd fills every slot of the first.
spare = Project.objects.create(name="Spare", slug="spare", annotations_per_claim=2)
spare.copy_default_labels()
for user in User.objects.filter(username__startswith="annotator"):
    Membership.objects.create(project=spare, user=user, role=Role.ANNOTATOR)
Article.objects.import_records(spare, records[:1])
print(project.claims.count())
"""


def manage(env: dict[str, str], *args: str, code: str | None = None) -> str:
    command = [sys.executable, "manage.py", *args]
    if code is not None:
        command += ["-c", code]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """gunicorn serving the app on a database set up for these tests; yields its port."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "PRODUCTION", "SECURE_SSL_REDIRECT", "ALLOWED_HOSTS"}
    }
    env |= {
        "DATABASE_URL": database_url,
        "STATIC_ROOT": str(tmp_path / "static"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "--noinput")
    setup = SETUP.format(password=PASSWORD, k=K, annotators=ANNOTATORS)
    claims = int(manage(env, "shell", "--no-imports", code=setup).split()[-1])
    manage(env, "collectstatic", "--noinput")
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "workbench.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "workbench.serving.SyncWorker",  # as deployed (README, Deploy)
            "--timeout",
            "90",
            # Several servers (parallel test runs) must not share one control socket.
            "--no-control-socket",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status = request(port, "GET", "/accounts/login/", {}).status
                if status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.3)
        yield {"port": port, "claims": claims, "log": tmp_path / "gunicorn.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: str


def request(
    port: int,
    method: str,
    path: str,
    cookies: dict[str, str],
    form: dict[str, str] | None = None,
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    headers = {"Host": f"127.0.0.1:{port}"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        reply = Reply(response.status, response.getheaders(), response.read().decode())
    finally:
        connection.close()
    for name, value in reply.headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            cookies[key.strip()] = rest.split(";", 1)[0]
    return reply


class FormReader(HTMLParser):
    """The hidden inputs and the radio choices of the page's POST forms."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.choices: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        attributes = dict(attrs)
        name, value = attributes.get("name"), attributes.get("value") or ""
        if not name:
            return
        if attributes.get("type") == "hidden":
            self.fields.setdefault(name, value)
        elif attributes.get("type") == "radio":
            self.choices.setdefault(name, []).append(value)


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


@dataclass
class Annotator:
    port: int
    username: str
    double_submit: bool
    cookies: dict[str, str] = field(default_factory=dict)
    acknowledged: list[tuple[str, int, str]] = field(default_factory=list)  # user, claim, note
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def send(self, method: str, path: str, form: dict[str, str] | None = None) -> Reply:
        reply = request(self.port, method, path, self.cookies, form)
        self.statuses[reply.status] += 1
        if reply.status >= 500:
            self.problems.append(f"{self.username}: {method} {path} -> {reply.status}")
        return reply

    def log_in(self) -> None:
        page = self.send("GET", "/accounts/login/")
        token = read_form(page.body).fields["csrfmiddlewaretoken"]
        form = {"csrfmiddlewaretoken": token, "username": self.username, "password": PASSWORD}
        reply = self.send("POST", "/accounts/login/", form)
        if reply.status != 302:
            raise AssertionError(f"{self.username} could not log in: {reply.status}")

    def work(self) -> None:
        try:
            self.log_in()
            for round_ in range(MAX_LABELS_PER_ANNOTATOR):
                page = self.send("GET", "/p/crowd/label/")
                form = read_form(page.body)
                if "claim" not in form.fields:
                    return  # nothing left for this annotator
                claim = int(form.fields["claim"])
                note = f"{self.username} on claim {claim}"
                data = {
                    "csrfmiddlewaretoken": form.fields["csrfmiddlewaretoken"],
                    "claim": str(claim),
                    "token": form.fields["token"],
                    "revision": form.fields.get("revision", ""),
                    "confidence": form.choices["confidence"][0],
                    "claim_kind": form.choices["claim_kind"][0],
                    "note": note,
                    "action": "save",
                }
                replies = self.post_label(data, twice=self.double_submit and round_ == 0)
                for reply in replies:
                    if reply.status == 302:
                        self.acknowledged.append((self.username, claim, note))
                    elif reply.status < 500:
                        # Neither request of a double click may be told of a conflict.
                        self.problems.append(
                            f"{self.username}: label POST -> {reply.status}: "
                            + " ".join(reply.body.split())[:300]
                        )
        except Exception as error:  # noqa: BLE001 - reported by the test, with the client's name
            self.problems.append(f"{self.username}: {type(error).__name__}: {error}")

    def post_label(self, data: dict[str, str], *, twice: bool) -> list[Reply]:
        if not twice:
            return [self.send("POST", "/p/crowd/label/", data)]
        # A double click: the same form, sent twice at the same moment.
        return post_together(self, "/p/crowd/label/", [data, data])


def post_together(annotator: Annotator, path: str, forms: list[dict[str, str]]) -> list[Reply]:
    """Send the forms from as many threads, released at the same moment."""
    replies: list[Reply] = []
    start = threading.Barrier(len(forms))

    def send(data: dict[str, str]) -> None:
        start.wait(timeout=REQUEST_TIMEOUT)
        replies.append(annotator.send("POST", path, data))

    threads = [threading.Thread(target=send, args=(data,)) for data in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT * 2)
    return replies


def export_rows(port: int) -> list[dict[str, object]]:
    manager = Annotator(port, "boss", double_submit=False)
    manager.log_in()
    reply = manager.send("GET", "/p/crowd/export.jsonl")
    assert reply.status == 200, reply.body[:500]
    return [json.loads(line) for line in reply.body.splitlines() if line.strip()]


def test_many_annotators_at_once_lose_nothing_and_never_exceed_k(server):
    port = server["port"]
    annotators = [
        Annotator(port, f"annotator{i:02d}", double_submit=i < DOUBLE_SUBMITTERS)
        for i in range(ANNOTATORS)
    ]
    threads = [threading.Thread(target=a.work, name=a.username) for a in annotators]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "an annotator never finished"

    problems = [problem for a in annotators for problem in a.problems]
    statuses = sum((a.statuses for a in annotators), Counter())
    assert not problems, "\n".join(problems[:20]) + "\n" + server["log"].read_text()[-3000:]
    assert not [s for s in statuses if s >= 500], statuses

    rows = export_rows(port)
    acknowledged = Counter((user, claim) for a in annotators for user, claim, _ in a.acknowledged)
    exported = Counter((row["annotator"], row["claim_id"]) for row in rows)
    # Every acknowledged label is in the export exactly once, with what was sent ...
    for key in acknowledged:
        assert exported[key] == 1, f"{key}: acknowledged, exported {exported[key]} times"
    notes = {(row["annotator"], row["claim_id"]): row["note"] for row in rows}
    for a in annotators:
        for user, claim, note in a.acknowledged:
            assert notes[(user, claim)] == note
    # ... and nothing else is.
    assert set(exported) == set(acknowledged)
    # No claim got more labels than the project asks for.
    per_claim = Counter(row["claim_id"] for row in rows)
    assert max(per_claim.values()) <= K
    # The annotators between them filled every slot: all claims got their K labels.
    assert len(rows) == server["claims"] * K, (len(rows), server["claims"], elapsed)
    # The double clicks were each acknowledged twice and saved once. (A
    # double-clicker may have found nothing left: the others can fill every
    # slot before its first page.)
    double_clickers = [a for a in annotators[:DOUBLE_SUBMITTERS] if a.acknowledged]
    assert double_clickers
    for a in double_clickers:
        first_user, first_claim, _ = a.acknowledged[0]
        assert a.acknowledged[1][:2] == (first_user, first_claim)
        assert exported[(first_user, first_claim)] == 1
    print(
        f"\n{ANNOTATORS} annotators, {WORKERS} gunicorn workers: {len(rows)} labels, "
        f"{sum(statuses.values())} requests in {elapsed:.1f} s ({dict(statuses)})"
    )


def test_two_tabs_editing_one_label_over_http_overwrite_nothing(server):
    """The second tab's save is refused, shows both versions, and the first one stays."""
    port = server["port"]
    # Someone's label from the test before, which may have left one of the
    # annotators without any (the others filled every slot first); else a
    # first label now.
    earlier = export_rows(port)
    username = str(earlier[0]["annotator"]) if earlier else f"annotator{ANNOTATORS - 1:02d}"
    annotator = Annotator(port, username, double_submit=False)
    annotator.log_in()
    if earlier:
        claim = str(earlier[0]["claim_id"])
    else:
        form = read_form(annotator.send("GET", "/p/crowd/label/").body)
        claim = form.fields["claim"]
        fresh = {**form.fields, "claim_kind": "claim", "confidence": "asserted", "note": "first"}
        assert annotator.send("POST", "/p/crowd/label/", fresh).status == 302
    tabs = [read_form(annotator.send("GET", f"/p/crowd/label/?claim={claim}").body) for _ in "ab"]
    revision = tabs[0].fields["revision"]
    assert revision == tabs[1].fields["revision"] and revision != "0"

    def save(tab: FormReader, confidence: str, note: str) -> Reply:
        data = {**tab.fields, "claim_kind": "claim", "confidence": confidence, "note": note}
        return annotator.send("POST", "/p/crowd/label/", data)

    assert save(tabs[0], "claimed", "saved in tab A").status == 302
    second = save(tabs[1], "speculative", "typed in tab B")
    assert second.status == 200
    text = " ".join(second.body.split())
    assert "This label was changed since you opened it" in text
    assert "saved in tab A" in text  # the saved version, shown
    assert "typed in tab B" in text  # the refused version, kept in the form
    assert not annotator.problems
    rows = [
        json.loads(line)
        for line in annotator.send("GET", "/p/crowd/export.jsonl").body.splitlines()
    ]
    (row,) = [row for row in rows if str(row["claim_id"]) == claim]
    assert (row["confidence"], row["note"]) == ("claimed", "saved in tab A")
    assert row["revision"] == int(revision) + 1


def test_static_files_are_served_compressed_and_cached_for_a_year(server):
    port = server["port"]
    page = request(port, "GET", "/accounts/login/", {})
    stylesheets = [
        href
        for href in re.findall(r'href="(/static/[^"]+\.css)"', page.body)
        if re.search(r"\.[0-9a-f]{12}\.css$", href)  # the content-hashed name
    ]
    assert stylesheets, "the page links no content-hashed stylesheet"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", stylesheets[0], headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        compressed = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(compressed)
    cache = response.getheader("Cache-Control")
    assert "immutable" in cache and "max-age=315360000" in cache


def test_two_tabs_saving_a_first_label_at_the_same_moment_save_one(server):
    """Two tabs open on the same unlabelled claim, both saved at once: one label, no error."""
    port = server["port"]
    outcomes: Counter = Counter()
    for round_ in range(3):
        annotator = Annotator(port, f"annotator{ANNOTATORS - 2 - round_:02d}", double_submit=False)
        annotator.log_in()
        tab = read_form(annotator.send("GET", "/p/spare/label/").body)
        claim = tab.fields["claim"]
        tabs = [tab, read_form(annotator.send("GET", f"/p/spare/label/?claim={claim}").body)]
        assert tabs[0].fields["token"] != tabs[1].fields["token"]
        datas = [
            {**form.fields, "claim_kind": "claim", "confidence": "asserted", "note": f"tab {n}"}
            for n, form in enumerate(tabs)
        ]
        replies = sorted(post_together(annotator, "/p/spare/label/", datas), key=lambda r: r.status)
        assert not annotator.problems, annotator.problems
        # One save went through; the other was told, not saved on top of it.
        assert [reply.status for reply in replies] == [200, 302]
        assert "This label was changed since you opened it" in replies[0].body
        outcomes.update(reply.status for reply in replies)
        rows = [
            json.loads(line)
            for line in annotator.send("GET", "/p/spare/export.jsonl").body.splitlines()
        ]
        assert [row["note"] for row in rows if str(row["claim_id"]) == claim] in (
            ["tab 0"],
            ["tab 1"],
        )
    assert outcomes == Counter({200: 3, 302: 3})
