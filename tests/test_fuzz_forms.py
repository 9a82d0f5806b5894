"""Whatever a user sends to a form or a query string, the answer is never a server error.

Hypothesis fills every field of every form (and every query parameter the
pages read) with hostile text: control characters and NUL, huge numbers,
markup, broken UTF-8, files of random bytes with any name; sometimes as an
htmx request. Each answer must be below 500. FUZZ_EXAMPLES raises the number
of examples per form (default 25).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.models import Membership, Project, Role

from .conftest import client_for

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # One database per test function; each example adds to it, which a form must survive too.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "", " ", "\x00", "a\x00b", "\r\n", "\t", "-1", "0", "1", "99999999999999999999999", "1e308",
    "NaN", "-0", "0x10", "1.5", "１２", "٣", "true", "on", "None", "null", "[]", "{}",
    "../../etc/passwd", "%00", "KC\x00NA", "\x00\x00\x00", "%s%n", "{{7*7}}",
    "<script>alert(1)</script>",
    "'; DROP TABLE claims_claim; --", "\u202e", "\ufeff", "🙂" * 50, "x" * 70_000,
]  # fmt: skip
text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(NASTY),
    st.integers().map(str),
    st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
)


def value(*valid: object) -> st.SearchStrategy[str]:
    """Hostile text, or now and then one of the values the form expects."""
    if not valid:
        return text
    return st.one_of(text, st.sampled_from([str(v) for v in valid]))


def several(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(strategy, max_size=15)


uploads = st.lists(
    st.builds(
        lambda stem, suffix, content: SimpleUploadedFile(f"{stem}{suffix}", content),
        # A browser sends only a file's base name; a name whose base name is
        # empty, . or .. cannot even be built as an upload.
        st.text(min_size=1, max_size=40).filter(
            lambda s: s.strip("./\\\x00") and os.path.basename(s) not in {"", ".", ".."}
        ),
        st.sampled_from([".txt", ".md", ".jsonl", ".json", ".csv", ".exe", ""]),
        st.one_of(
            st.binary(max_size=3000),
            st.text(max_size=3000).map(lambda s: s.encode("utf-8", "surrogatepass")),
            st.sampled_from([b"", b"\xef\xbb\xbf", b"title,body\n", b'{"title": 1}', b"[{}]"]),
        ),
    ),
    max_size=3,
)


@dataclass
class Endpoint:
    who: str
    method: str
    url: str
    fields: Callable[[dict], dict[str, st.SearchStrategy]]
    # A submission the form accepts, to corrupt a few fields of.
    valid: Callable[[dict], dict[str, object]] | None = None


def valid_label(world: dict) -> dict[str, object]:
    return {
        "claim": world["claims"][1],
        "confidence": "asserted",
        "claim_kind": "claim",
        "certainty": "high",
        "attribution_cue": "according to",
        "note": "fine",
        "source": ["KCNA"],
        "source_kind": ["state_media"],
        "source_wording": ["KCNA"],
    }


CONFIDENCES = ["confirmed", "asserted", "claimed", "estimated", "speculative", "unclear"]
KINDS = ["claim", "opinion", "not_a_claim"]
SOURCE_KINDS = ["state_media", "government", "official", "anonymous", "unattributed"]


def label_fields(world: dict) -> dict[str, st.SearchStrategy]:
    return {
        "claim": value(*world["claims"]),
        "token": value(uuid.uuid4(), uuid.uuid4()),
        "revision": value(0, 1, 2),
        "confidence": value(*CONFIDENCES),
        "claim_kind": value(*KINDS),
        "certainty": value("low", "medium", "high"),
        "attribution_cue": value("according to"),
        "note": value(),
        "action": value("save", "skip"),
        "source": several(value("KCNA", "South Korean intelligence")),
        "source_kind": several(value(*SOURCE_KINDS)),
        "source_wording": several(value("the state-run news agency KCNA")),
    }


def project_fields(world: dict) -> dict[str, st.SearchStrategy]:
    return {
        "name": value("Fuzzed"),
        "slug": value("fuzzed", "troops"),
        "guidelines": value(),
        "annotations_per_claim": value(1, 2, 3, 0, -1),
        "split_compound": value("on", "1", ""),
    }


ENDPOINTS = {
    "login": Endpoint(
        "anonymous",
        "POST",
        "/accounts/login/",
        lambda w: {
            "username": value("annotator"),
            "password": value("wrong"),
            "next": value("/", "//attacker.example/", "javascript:alert(1)"),
        },
    ),
    "label": Endpoint("annotator", "POST", "/p/{slug}/label/", label_fields, valid_label),
    "project_create": Endpoint(
        "manager",
        "POST",
        "/p/new/",
        project_fields,
        lambda w: {"name": "New", "slug": "new-one", "annotations_per_claim": "2"},
    ),
    "project_settings": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/settings/",
        project_fields,
        lambda w: {"name": "Troops", "slug": "troops", "annotations_per_claim": "2"},
    ),
    "members": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/members/",
        lambda w: {
            "username": value("annotator", "outsider", "manager"),
            "role": value("annotator", "reviewer", "manager"),
            "remove": value(*w["memberships"]),
        },
        lambda w: {"username": "outsider", "role": "annotator"},
    ),
    "import_articles": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/import/",
        lambda w: {
            "title": value("A title"),
            "body": value("Officials said the troops arrived, according to KCNA."),
            "url": value("https://example.org/a", "javascript:alert(1)"),
            "outlet": value("Wire"),
            "files": uploads,
        },
        lambda w: {"title": "A title", "body": "Officials said the troops arrived."},
    ),
    "claim_review": Endpoint(
        "reviewer",
        "POST",
        "/p/{slug}/claims/{claim}/",
        lambda w: label_fields(w) | {"annotation": value(*w["annotations"])},
        lambda w: valid_label(w) | {"claim": w["claim"]},
    ),
    "claim_split": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/claims/{claim}/split/",
        lambda w: {"span": value(w["span"]), "words": value("said"), "position": value(3, 10)},
    ),
    "claim_merge": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/claims/{claim}/merge/",
        lambda w: {"span": value(w["span"]), "next_span": value(w["next_span"])},
    ),
    "claim_adjust": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/claims/{claim}/adjust/",
        lambda w: {"span": value(w["span"]), "start": value(0, 5), "end": value(20, 60)},
    ),
    "assignments": Endpoint(
        "manager",
        "POST",
        "/p/{slug}/assignments/",
        lambda w: {
            "article": value(w["article"]),
            "user": value(*w["users"]),
            "remove": value(1, 2),
        },
        lambda w: {"article": w["article"], "user": w["users"][1]},
    ),
    "article_options": Endpoint(
        "manager",
        "GET",
        "/p/{slug}/assignments/articles/",
        lambda w: {"q": value("Mus", f"#{w['article']}"), "article": value(w["article"])},
    ),
    # Query strings the pages read.
    "export_csv": Endpoint("manager", "GET", "/p/{slug}/export.csv", lambda w: export_query(w)),
    "export_jsonl": Endpoint(
        "annotator", "GET", "/p/{slug}/export.jsonl", lambda w: export_query(w)
    ),  # fmt: skip
    "export_gold": Endpoint(
        "reviewer", "GET", "/p/{slug}/export-gold.csv", lambda w: export_query(w)
    ),  # fmt: skip
    "review_queue": Endpoint(
        "reviewer", "GET", "/p/{slug}/review/", lambda w: {"all": value(1), "page": value(1, 2)}
    ),
    "label_get": Endpoint(
        "annotator", "GET", "/p/{slug}/label/", lambda w: {"claim": value(*w["claims"])}
    ),
    "source_options": Endpoint(
        "annotator", "GET", "/p/{slug}/sources/", lambda w: {"q": value("KC"), "source": value()}
    ),
    "login_get": Endpoint("anonymous", "GET", "/accounts/login/", lambda w: {"next": value("/")}),
    "dashboard": Endpoint("reviewer", "GET", "/p/{slug}/dashboard/", lambda w: {"x": value()}),
}


def export_query(world: dict) -> dict[str, st.SearchStrategy]:
    return {
        "article": value(world["article"]),
        "annotator": value("annotator"),
        "claim_kind": value(*KINDS),
        "created_from": value("2025-01-01", "2025-02-30"),
        "created_to": value("2030-12-31"),
        "updated_from": value("2025-01-01"),
        "updated_to": value("1-1-1"),
        "with_gold": value(1, 0),
        "bom": value(1, 0),
        "neutralise": value(1, 0),
    }


@pytest.fixture
def world(project, article, annotator, annotator_client, manager, reviewer, outsider):
    from .test_labeling import post_label

    claims = list(article.claims.order_by("index"))
    post_label(annotator_client, project, claims[0], note="first")
    return {
        "project": project,
        "article": article.pk,
        "claims": [claim.pk for claim in claims],
        "claim": claims[0].pk,
        "span": f"{claims[0].start}-{claims[0].end}",
        "next_span": f"{claims[1].start}-{claims[1].end}",
        "annotations": list(claims[0].annotations.values_list("pk", flat=True)),
        "memberships": list(Membership.objects.values_list("pk", flat=True)),
        "users": [manager.pk, annotator.pk, reviewer.pk, outsider.pk],
        "people": {"annotator": annotator, "manager": manager, "reviewer": reviewer},
    }


def url_of(endpoint: Endpoint, world: dict) -> str:
    # The settings form may rename the project: read its slug afresh.
    slug = Project.objects.get(pk=world["project"].pk).slug
    return endpoint.url.format(slug=slug, claim=world["claim"])


def client_of(endpoint: Endpoint, world: dict) -> Client:
    if endpoint.who == "anonymous":
        return Client()
    return client_for(world["people"][endpoint.who])


def ensure_member(world: dict) -> None:
    """A fuzzed members form may demote or remove people; put them back."""
    project = world["project"]
    roles = {"manager": Role.MANAGER, "annotator": Role.ANNOTATOR, "reviewer": Role.REVIEWER}
    for name, role in roles.items():
        Membership.objects.update_or_create(
            project_id=project.pk, user=world["people"][name], defaults={"role": role}
        )


def send_with(endpoint: Endpoint, world: dict) -> Callable[[dict[str, object], bool], None]:
    client = client_of(endpoint, world)

    def send(data: dict[str, object], htmx: bool) -> None:
        ensure_member(world)
        for upload in data.get("files", []):
            upload.seek(0)
        headers = {"HX-Request": "true"} if htmx else {}
        url = url_of(endpoint, world)
        if endpoint.method == "GET":
            response = client.get(url, data, headers=headers)
        else:
            response = client.post(url, data, headers=headers)
        assert response.status_code < 500, (url, data)

    return send


@pytest.mark.parametrize("name", ENDPOINTS)
def test_no_form_input_causes_a_server_error(name, world):
    """Any subset of the fields, each hostile or one of the values the form expects."""
    endpoint = ENDPOINTS[name]
    send = send_with(endpoint, world)

    @FUZZ
    @given(data=st.fixed_dictionaries({}, optional=endpoint.fields(world)), htmx=st.booleans())
    def check(data: dict[str, object], htmx: bool) -> None:
        send(data, htmx)

    check()


@pytest.mark.parametrize("name", [name for name, e in ENDPOINTS.items() if e.valid])
def test_a_valid_form_with_a_few_hostile_fields_causes_no_server_error(name, world):
    """Past validation: a form that is valid but for one to three fields reaches the database."""
    endpoint = ENDPOINTS[name]
    send = send_with(endpoint, world)
    fields = endpoint.fields(world)

    @FUZZ
    @given(draw=st.data(), htmx=st.booleans())
    def check(draw: st.DataObject, htmx: bool) -> None:
        data: dict[str, object] = dict(endpoint.valid(world))
        hostile = draw.draw(st.sets(st.sampled_from(sorted(fields)), min_size=1, max_size=3))
        for field in hostile:
            data[field] = draw.draw(fields[field].filter(lambda v: v != []), label=field)
        send(data, htmx)

    check()


def raw_body(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return b"&".join(
        f"{quote_from_bytes(key)}={quote_from_bytes(raw)}".encode() for key, raw in pairs
    )


@pytest.mark.parametrize("name", [n for n, e in ENDPOINTS.items() if e.method == "POST"])
def test_no_form_body_of_raw_bytes_causes_a_server_error(name, world):
    """Bytes that are not UTF-8, in the field names as much as in the values."""
    endpoint = ENDPOINTS[name]
    client = client_of(endpoint, world)
    names = [key.encode() for key in endpoint.fields(world)]

    @FUZZ
    @given(
        pairs=st.lists(
            st.tuples(
                st.one_of(st.sampled_from(names), st.binary(max_size=20)), st.binary(max_size=300)
            ),
            max_size=12,
        ),  # fmt: skip
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "text/plain",
                "application/json",
            ]
        ),
    )
    def send(pairs: list[tuple[bytes, bytes]], content_type: str) -> None:
        ensure_member(world)
        url = url_of(endpoint, world)
        response = client.generic("POST", url, raw_body(pairs), content_type=content_type)
        assert response.status_code < 500, (url, pairs)

    send()
