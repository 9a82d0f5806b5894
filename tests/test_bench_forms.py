"""The benchmarks' annotator sends what the labelling page's form sends."""

from __future__ import annotations

from bench.labelling_loop import claim_on, label_form
from claims.models import Annotation


def test_the_benchmark_reads_the_pages_hidden_fields_and_its_label_is_saved(
    annotator_client, annotator, article
):
    url = f"/p/{article.project.slug}/label/"
    shown = claim_on(annotator_client.get(url).content)
    claim = article.claims.get(pk=shown[0])
    assert shown == (claim.pk, "0", f"{claim.start}-{claim.end}")
    response = annotator_client.post(url, label_form(shown, 1))
    assert response.status_code == 302
    saved = Annotation.objects.get(claim=claim, annotator=annotator)
    assert saved.source_names() == ["KCNA"]
    assert claim_on(b"<p>Nothing left for you here</p>") is None
