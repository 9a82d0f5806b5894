from __future__ import annotations

import re
import uuid
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.importing import ArticleRecord
from claims.models import Annotation, AnnotationRevision, Article, Claim, Skip, Source, SourceKind

from .conftest import ARTICLE_BODY, client_for

HTMX = {"HTTP_HX_REQUEST": "true"}


def label_url(project) -> str:
    return f"/p/{project.slug}/label/"


def post_label(client, project, claim, *, htmx=False, **fields):
    data = {
        "claim": claim.pk,
        "confidence": "asserted",
        "claim_kind": "claim",
        "certainty": "high",
        "attribution_cue": "",
        "note": "",
        "revision": 0,
        "token": str(uuid.uuid4()),
    } | fields
    return client.post(label_url(project), data, **(HTMX if htmx else {}))


def test_label_page_shows_the_first_claim_in_its_article(annotator_client, project, article):
    first = article.claims.order_by("index").first()
    response = annotator_client.get(label_url(project))
    page = response.content.decode()
    assert response.status_code == 200
    assert article.title in page
    assert 'id="current-claim"' in page
    assert f'name="claim" value="{first.pk}"' in page
    # The rest of the article is shown around it.
    assert "Analysts suspected" in page


def test_suggestions_are_prefilled(annotator_client, project, article):
    claim = article.claims.get(text__startswith="South Korean intelligence")
    assert claim.suggestion, "the importer stores a suggestion"
    response = annotator_client.get(label_url(project) + f"?claim={claim.pk}")
    page = response.content.decode()
    if claim.suggested_confidence:
        assert f'value="{claim.suggested_confidence}" id=' in page
        radio = page.split(f'value="{claim.suggested_confidence}"', 1)[1][:80]
        assert "checked" in radio
    for source in claim.suggested_sources():
        assert f'value="{source["label"]}"' in page


def test_plain_post_saves_and_redirects_to_the_next_claim(
    annotator_client, annotator, project, article
):
    first, second = article.claims.order_by("index")[:2]
    annotator_client.get(label_url(project))
    response = post_label(annotator_client, project, first, note="plain")
    assert response.status_code == 302 and response["Location"] == label_url(project)
    annotation = Annotation.objects.get(claim=first, annotator=annotator)
    assert annotation.note == "plain" and annotation.revision == 1
    assert Claim.objects.get(pk=first.pk).annotation_count == 1
    follow = annotator_client.get(response["Location"])
    assert f'name="claim" value="{second.pk}"' in follow.content.decode()


def test_htmx_post_returns_the_next_card_without_the_page(
    annotator_client, annotator, project, article
):
    first, second = article.claims.order_by("index")[:2]
    response = post_label(annotator_client, project, first, htmx=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="label-card"')
    assert "<html" not in page
    assert f'name="claim" value="{second.pk}"' in page
    assert response["HX-Push-Url"] == label_url(project)
    assert Annotation.objects.filter(annotator=annotator).count() == 1


def test_sources_are_saved_created_and_learned_as_aliases(
    annotator_client, annotator, project, article
):
    claim = article.claims.get(text__contains="according to KCNA")
    response = post_label(
        annotator_client,
        project,
        claim,
        source=["KCNA", "Kim Jong Un"],
        source_kind=["state_media", "government"],
        source_wording=["KCNA", ""],
        attribution_cue="according to",
    )
    assert response.status_code == 302
    annotation = Annotation.objects.get(claim=claim, annotator=annotator)
    assert annotation.source_names() == ["KCNA", "Kim Jong Un"]
    assert Source.objects.get(project=project, name="KCNA").kind == "state_media"
    assert annotation.attribution_cue == "according to"


def test_wording_from_the_text_becomes_an_alias(annotator_client, project, article):
    claim = article.claims.get(text__startswith="South Korean intelligence")
    Source.objects.resolve(project, "South Korea's NIS", "intelligence", None)
    post_label(
        annotator_client,
        project,
        claim,
        source=["South Korea's NIS"],
        source_kind=[""],
        source_wording=["South Korean intelligence"],
    )
    aliases = project.alias_map()
    assert aliases["south korean intelligence"] == "South Korea's NIS"


def test_a_source_named_twice_by_name_and_alias_is_linked_once(
    annotator_client, annotator, project, article
):
    source = Source.objects.resolve(project, "KCNA", SourceKind.STATE_MEDIA, created_by=None)
    source.aliases.create(
        alias="Korean Central News Agency", normalized="korean central news agency"
    )
    claim = article.claims.get(text__contains="according to KCNA")
    response = post_label(
        annotator_client, project, claim, source=["KCNA", "Korean Central News Agency"]
    )
    assert response.status_code == 302
    annotation = Annotation.objects.get(claim=claim, annotator=annotator)
    assert annotation.source_names() == ["KCNA"]
    assert annotation.revisions.get().data["sources"] == ["KCNA"]


def test_a_wording_that_names_a_source_already_is_not_looked_up_again(
    annotator_client, annotator, project, article
):
    # The wording comes back with the claim's read: no query of its own.
    claim = article.claims.get(text__contains="according to KCNA")
    Source.objects.resolve(project, "KCNA", SourceKind.STATE_MEDIA, created_by=None)
    with CaptureQueriesContext(connection) as queries:
        post_label(annotator_client, project, claim, source=["KCNA"], source_wording=["KCNA"])
    assert not [q for q in queries.captured_queries if '"claims_sourcealias"."' in q["sql"]]
    assert Annotation.objects.get(claim=claim, annotator=annotator).source_names() == ["KCNA"]


def test_missing_confidence_is_explained_and_nothing_saved(
    annotator_client, annotator, project, article
):
    claim = article.claims.order_by("index").first()
    response = post_label(annotator_client, project, claim, confidence="")
    assert response.status_code == 400
    assert "Pick how firmly" in response.content.decode()
    assert not Annotation.objects.filter(annotator=annotator).exists()
    htmx = post_label(annotator_client, project, claim, confidence="", htmx=True)
    assert htmx.status_code == 200 and "Pick how firmly" in htmx.content.decode()


def test_not_a_claim_needs_no_confidence(annotator_client, annotator, project, article):
    claim = article.claims.order_by("index").first()
    response = post_label(annotator_client, project, claim, confidence="", claim_kind="not_a_claim")
    assert response.status_code == 302
    assert Annotation.objects.get(annotator=annotator).claim_kind == "not_a_claim"


def test_unknown_label_value_is_refused(annotator_client, annotator, project, article):
    claim = article.claims.order_by("index").first()
    response = post_label(annotator_client, project, claim, confidence="certain")
    assert response.status_code == 400
    assert not Annotation.objects.filter(annotator=annotator).exists()


def test_label_set_is_the_projects_data(annotator_client, project, article):
    project.labels.filter(dimension="confidence", value="unclear").update(name="Disputed in text")
    page = annotator_client.get(label_url(project)).content.decode()
    assert "Disputed in text" in page


def test_skip_moves_on_and_the_claim_does_not_come_back(
    annotator_client, annotator, project, article
):
    first, second = article.claims.order_by("index")[:2]
    annotator_client.get(label_url(project))
    response = annotator_client.post(
        label_url(project), {"claim": first.pk, "action": "skip"}, **HTMX
    )
    assert f'name="claim" value="{second.pk}"' in response.content.decode()
    assert Skip.objects.filter(claim=first, user=annotator).exists()
    again = annotator_client.get(label_url(project)).content.decode()
    assert f'name="claim" value="{first.pk}"' not in again


def test_back_links_to_the_previous_claim_and_edit_keeps_a_revision(
    annotator_client, annotator, project, article
):
    first, second = article.claims.order_by("index")[:2]
    post_label(annotator_client, project, first, confidence="claimed")
    page = annotator_client.get(label_url(project)).content.decode()
    assert f"?claim={first.pk}" in page, "the back link points at the claim just labelled"
    edit = annotator_client.get(label_url(project) + f"?claim={first.pk}").content.decode()
    assert "editing my label" in edit
    assert 'name="revision" value="1"' in edit
    response = post_label(annotator_client, project, first, confidence="estimated", revision=1)
    assert response.status_code == 302
    annotation = Annotation.objects.get(claim=first, annotator=annotator)
    assert annotation.confidence == "estimated" and annotation.revision == 2
    revisions = list(annotation.revisions.values_list("number", "reason", "data__confidence"))
    assert revisions == [(1, "created", "claimed"), (2, "edited", "estimated")]
    assert Claim.objects.get(pk=first.pk).annotation_count == 1


def test_stale_edit_is_not_saved_and_shows_both_versions(
    annotator_client, annotator, project, article
):
    claim = article.claims.order_by("index").first()
    post_label(annotator_client, project, claim, confidence="claimed")
    post_label(annotator_client, project, claim, confidence="estimated", revision=1)
    response = post_label(
        annotator_client, project, claim, confidence="unclear", revision=1, htmx=True
    )
    page = response.content.decode()
    assert "changed since you opened it" in page
    assert 'name="revision" value="2"' in page
    assert Annotation.objects.get(claim=claim, annotator=annotator).confidence == "estimated"


def test_same_form_token_twice_saves_once(annotator_client, annotator, project, article):
    claim = article.claims.order_by("index").first()
    token = str(uuid.uuid4())
    post_label(annotator_client, project, claim, token=token, note="first")
    post_label(annotator_client, project, claim, token=token, note="first")
    annotation = Annotation.objects.get(annotator=annotator)
    assert annotation.revision == 1
    assert AnnotationRevision.objects.filter(annotation=annotation).count() == 1


def test_claim_with_k_labels_is_not_handed_out_again(
    project, article, annotator, annotator2, reviewer
):
    project.annotations_per_claim = 1
    project.save()
    first = Claim.objects.next_for(annotator, project)
    second = Claim.objects.next_for(annotator2, project)
    assert first != second, "a reserved claim is not handed to a second annotator when K=1"


def test_annotators_never_see_each_others_labels(
    annotator_client, annotator2_client, project, article
):
    claim = article.claims.order_by("index").first()
    post_label(annotator_client, project, claim, note="secret-note-of-annotator-one")
    page = annotator2_client.get(label_url(project) + f"?claim={claim.pk}").content.decode()
    assert "secret-note-of-annotator-one" not in page
    assert "editing my label" not in page


def test_done_page_when_nothing_is_left(annotator_client, project, article):
    for claim in article.claims.all():
        post_label(annotator_client, project, claim)
    page = annotator_client.get(label_url(project)).content.decode()
    assert "Nothing left for you here" in page


def test_progress_counts_my_labels(annotator_client, project, article):
    claim = article.claims.order_by("index").first()
    post_label(annotator_client, project, claim)
    page = annotator_client.get(label_url(project)).content.decode()
    total = article.claims.count()
    assert f'<progress id="progress" max="{total}" value="1">' in page


def test_home_lists_my_projects_with_progress(annotator_client, project, article):
    claim = article.claims.order_by("index").first()
    post_label(annotator_client, project, claim)
    page = annotator_client.get("/").content.decode()
    assert project.name in page
    assert f"1 / {article.claims.count()}" in page
    assert f"/p/{project.slug}/label/" in page


def test_claim_of_another_project_is_not_found(annotator_client, project, article, manager):
    other = type(project).objects.create(name="Other", slug="other")
    Article.objects.import_records(other, [ArticleRecord(title="X", body="Hidden claim.")])
    hidden = other.claims.get()
    assert annotator_client.get(label_url(project) + f"?claim={hidden.pk}").status_code == 404
    assert annotator_client.get(label_url(project) + "?claim=abc").status_code == 404
    # A label posted for it is answered as for a claim merged away meanwhile,
    # as a claim id no project has is: nothing tells the other project's apart.
    answers = []
    for claim_id in (hidden.pk, hidden.pk + 1000):
        response = post_label(annotator_client, project, type(hidden)(pk=claim_id))
        answers.append((response.status_code, response["Location"]))
        page = annotator_client.get(response["Location"]).content.decode()
        assert "That claim is no longer in the project" in page
        assert "Hidden claim." not in page
    assert answers[0] == answers[1] == (302, label_url(project))
    assert not hidden.annotations.exists()


def _label_page_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(label_url(project)).status_code == 200
    return len(queries)


def test_label_page_queries_do_not_grow_with_the_project(annotator_client, project, article):
    first, second = article.claims.order_by("index")[:2]
    post_label(annotator_client, project, first)
    small = _label_page_queries(annotator_client, project)
    records = [
        ArticleRecord(title=f"Copy {n}", body=f"{ARTICLE_BODY} Copy {n}.") for n in range(30)
    ]
    Article.objects.import_records(project, records)
    post_label(annotator_client, project, second)
    large = _label_page_queries(annotator_client, project)
    assert large == small
    # The session with its user, the project (with the role and the label
    # set's stamp), the queue's hand-out (one statement), the claim, progress
    # (one statement) and the article's claims: 6. PostgreSQL adds the
    # queue's transaction and project lock (3). The label set comes from this
    # process's copy.
    assert large <= (9 if connection.vendor == "postgresql" else 6)


def test_the_label_page_reads_the_label_set_once_and_sees_changes_at_once(
    annotator_client, project, article
):
    from claims.models import Label

    annotator_client.get(label_url(project))
    with CaptureQueriesContext(connection) as queries:
        page = annotator_client.get(label_url(project)).content.decode()
    assert not [q for q in queries.captured_queries if '"claims_label"."' in q["sql"]]
    assert "Estimated" in page
    # Renamed in the admin (a model save), deleted, added: each shows on the next page.
    estimated = Label.objects.get(project=project, value="estimated")
    estimated.name = "Guessed at"
    estimated.save()
    page = annotator_client.get(label_url(project)).content.decode()
    assert "Guessed at" in page and ">Estimated<" not in page
    Label.objects.filter(project=project, value="estimated").delete()
    assert 'value="estimated"' not in annotator_client.get(label_url(project)).content.decode()
    Label.objects.create(
        project=project, dimension="confidence", value="rumoured", name="Rumoured", position=9
    )
    assert 'value="rumoured"' in annotator_client.get(label_url(project)).content.decode()


def test_label_forms_of_one_label_set_share_their_fields_and_only_those(project):
    from claims.forms import GoldForm, LabelForm
    from claims.models import Label

    first, second = LabelForm(project), LabelForm(project)
    assert first.fields is not second.fields
    assert first.fields["confidence"] is second.fields["confidence"]
    assert ("estimated", "Estimated") in first.fields["confidence"].choices
    # The gold form's own changes stay on gold forms.
    gold = GoldForm(project)
    assert "certainty" not in gold.fields and "certainty" in LabelForm(project).fields
    assert gold.fields["note"].help_text and not LabelForm(project).fields["note"].help_text
    assert gold.fields["confidence"] is not first.fields["confidence"]
    # Another label set, other fields.
    Label.objects.filter(project=project, value="estimated").update(name="Guessed at")
    renamed = LabelForm(type(project).objects.get(pk=project.pk))
    assert ("estimated", "Guessed at") in renamed.fields["confidence"].choices
    assert ("estimated", "Estimated") in first.fields["confidence"].choices


def test_saving_a_label_and_getting_the_next_stays_under_a_query_budget(
    annotator_client, annotator, project, article, django_assert_max_num_queries
):
    claim = Claim.objects.next_for(annotator, project)
    annotator_client.get(label_url(project))  # the process now has the label set
    Source.objects.resolve(project, "KCNA", SourceKind.STATE_MEDIA, created_by=None)
    # The save (see below) and the next claim's page (see above) in one request.
    with django_assert_max_num_queries(18 if connection.vendor == "postgresql" else 14):
        response = post_label(annotator_client, project, claim, htmx=True, source=["KCNA"])
    assert response.status_code == 200


def test_saving_a_label_stays_under_a_query_budget(
    annotator_client, annotator, project, article, django_assert_max_num_queries
):
    claim = Claim.objects.next_for(annotator, project)
    annotator_client.get(label_url(project))  # the process now has the label set
    Source.objects.resolve(project, "KCNA", SourceKind.STATE_MEDIA, created_by=None)
    # The session with its user, the project; in a transaction (2): the one
    # read under the claim's lock (the claim, what the decision needs, the
    # sources named), the label, its count on the claim with the reservation
    # dropped (two statements), its source, its first revision.
    with django_assert_max_num_queries(10):
        response = post_label(annotator_client, project, claim, source=["KCNA"])
    assert response.status_code == 302
    annotation = Annotation.objects.get(claim=claim, annotator=annotator)
    assert annotation.source_names() == ["KCNA"]


def test_progress_keeps_counting_after_the_first_count(
    annotator_client, annotator2, project, article
):
    first, second, third = article.claims.order_by("index")[:3]
    post_label(annotator_client, project, first)
    assert 'value="1">' in annotator_client.get(label_url(project)).content.decode()
    post_label(annotator_client, project, second, htmx=True)
    post_label(annotator_client, project, third)
    # Another annotator's label is not mine.
    post_label(client_for(annotator2), project, first)
    page = annotator_client.get(label_url(project)).content.decode()
    assert f'max="{article.claims.count()}" value="3">' in page
    assert Annotation.objects.filter(project=project, annotator__username="annotator").count() == 3


def test_claim_total_follows_an_import(annotator_client, project, article):
    before = article.claims.count()
    assert f'max="{before}"' in annotator_client.get(label_url(project)).content.decode()
    more = ArticleRecord(title="More", body=ARTICLE_BODY + " More.")
    Article.objects.import_records(project, [more])
    after = Claim.objects.filter(project=project).count()
    assert after > before
    assert f'max="{after}"' in annotator_client.get(label_url(project)).content.decode()


def test_a_new_project_gets_the_default_labels_even_after_they_were_deleted(db):
    from claims.models import Label, Project

    Label.objects.filter(project=None).delete()
    project = Project.objects.create(name="Fresh", slug="fresh")
    project.copy_default_labels()
    values = project.label_choices()
    assert [label.value for label in values["confidence"]] == [
        "confirmed",
        "asserted",
        "claimed",
        "estimated",
        "speculative",
        "unclear",
    ]
    assert [label.value for label in values["claim_kind"]] == ["claim", "opinion", "not_a_claim"]
    assert Label.objects.filter(project=None).count() == 12


def test_the_article_text_around_the_claim_is_the_body_once(project, article):
    from claims.views.labelling import _article_parts

    def text(html: str) -> str:
        return unescape(re.sub(r"<[^>]+>", "", html))

    spans = [(c.pk, c.start, c.end) for c in article.claims.order_by("start")]
    claim = article.claims.order_by("index")[1]
    parts = _article_parts(claim, spans)
    assert parts["found"]
    assert text(parts["before"]) + claim.text + text(parts["after"]) == article.body
    # The other claims are marked, the current one is not among the parts.
    assert parts["before"].count('<span class="claim">') == 1
    assert parts["after"].count('<span class="claim">') == article.claims.count() - 2
    # Split meanwhile (the claim is no longer among the article's claims): the
    # body is shown once, without a current claim.
    claim.pk = 10**9
    parts = _article_parts(claim, spans)
    assert not parts["found"]
    assert text(parts["before"] + parts["after"]) == article.body


def test_the_article_text_is_escaped_on_the_labelling_page(annotator_client, project):
    body = '<b>Officials</b> said "x < y" today. Aides & sources said <script>no</script> then.'
    Article.objects.import_records(project, [ArticleRecord(title="Markup", body=body)])
    claim = Claim.objects.get(article__title="Markup", index=0)
    page = annotator_client.get(label_url(project) + f"?claim={claim.pk}").content.decode()
    assert "<b>Officials" not in page and "<script>no" not in page
    assert "&lt;b&gt;Officials&lt;/b&gt;" in page and "&lt;script&gt;no&lt;/script&gt;" in page


def test_each_claim_shows_its_own_source_rows(annotator_client, project, article):
    # The rows are drawn once per distinct row (views/labelling._drawn_once).
    shown = {}
    for claim in article.claims.all():
        page = annotator_client.get(label_url(project) + f"?claim={claim.pk}").content.decode()
        names = re.findall(r'name="source" value="([^"]*)"', page)
        expected = [source["label"] for source in claim.suggested_sources()]
        assert [unescape(name) for name in names if name] == expected
        assert len(names) == max(3, len(expected))
        shown[claim.pk] = tuple(names)
    assert len(set(shown.values())) > 1, "the article's claims differ"
    # A refused post shows what was posted, row by row, whatever was drawn before.
    claim = article.claims.order_by("index").first()
    for name, kind in (("Alpha", "official"), ("Beta", "official"), ("Beta", "expert")):
        page = post_label(
            annotator_client,
            project,
            claim,
            confidence="",
            source=[name],
            source_kind=[kind],
            source_wording=["the same words"],
        ).content.decode()
        assert re.findall(r'name="source" value="([^"]*)"', page) == [name, "", ""]
        assert f'<option value="{kind}" selected>' in page
