"""Source, cue and confidence suggestions (claims.attribution), no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.attribution import CONFIDENCE_VALUES, SOURCE_KINDS, ClaimSuggestion, analyse

# The demo articles, kept in the repository (fixtures/articles).
ARTICLES = Path(__file__).resolve().parents[1] / "fixtures" / "articles"


def only(text: str, **options) -> ClaimSuggestion:
    claims = analyse(text, **options)
    assert len(claims) == 1, [c.text for c in claims]
    return claims[0]


def assert_offsets_true(text: str, claims: list[ClaimSuggestion]) -> None:
    """Every claim, cue and source span names the text it reports."""
    for claim in claims:
        assert text[claim.start : claim.end] == claim.text
        if claim.cue is not None:
            assert text[claim.cue.start : claim.cue.end] == claim.cue.text
        for source in claim.sources:
            assert source.kind in SOURCE_KINDS
            if source.start is None:
                continue
            written = text[source.start : source.end]
            # A resolved pronoun keeps the pronoun's offsets and the person's name.
            assert written == source.name or written == source.wording
            assert claim.start <= source.start < source.end <= claim.end
        assert claim.confidence in (*CONFIDENCE_VALUES, None)


def names(claim: ClaimSuggestion) -> list[str]:
    return [s.name for s in claim.sources]


@pytest.mark.parametrize(
    ("text", "source", "cue"),
    [
        ("KCNA said the test succeeded.", "KCNA", "said"),
        ("The test succeeded, said KCNA.", "KCNA", "said"),
        ('"The test succeeded," said Ambassador Mohib.', "Ambassador Mohib", "said"),
        ("According to KCNA, the test succeeded.", "KCNA", "According to"),
        ("The test succeeded, per KCNA.", "KCNA", "per"),
        ("Analysts previously suspected that the missile was Russian.", "Analysts", "suspected"),
        ("The museum is described by Kim as a groundbreaking initiative.", "Kim", "described"),
        ("Ukraine has also claimed that troops were withdrawn.", "Ukraine", "claimed"),
        ("Moscow denied it, citing Xinhua reports.", "Xinhua", "denied"),
    ],
)
def test_cue_and_source_are_found_with_their_offsets(text: str, source: str, cue: str) -> None:
    claims = analyse(text)
    assert_offsets_true(text, claims)
    claim = claims[0]
    assert source in names(claim)
    assert claim.cue is not None and claim.cue.text == cue


def test_descriptor_is_cut_from_the_name_but_kept_as_wording() -> None:
    text = "The test failed, according to the state-run news agency KCNA."
    claim = only(text)
    (source,) = claim.sources
    assert source.name == "KCNA"
    assert text[source.start : source.end] == "KCNA"
    assert source.wording == "the state-run news agency KCNA"
    assert source.kind == "state_media"


def test_aliases_give_the_canonical_source() -> None:
    text = "The test failed, according to the state-run news agency KCNA."
    claim = only(text, aliases={"the state-run news agency kcna": "Korean Central News Agency"})
    assert claim.sources[0].canonical == "Korean Central News Agency"
    other = only("Reuters said the test failed.", aliases={"kcna": "KCNA"})
    assert other.sources[0].canonical is None


def test_attribution_noun_with_a_list_gives_each_source() -> None:
    text = (
        "In October 2024, intelligence reports from NATO, the United States, and South Korea "
        "confirmed the deployment of troops."
    )
    claim = only(text)
    assert_offsets_true(text, [claim])
    assert names(claim) == ["NATO", "the United States", "South Korea"]
    assert [s.kind for s in claim.sources] == ["international_org", "government", "government"]
    assert claim.confidence == "confirmed"


def test_nested_attribution_gives_speaker_and_channel() -> None:
    text = (
        "Kim emphasized the alliance. "
        '"Our friendship will grow," he stated, according to the state-run news agency KCNA.'
    )
    claims = analyse(text)
    assert_offsets_true(text, claims)
    speaker, channel = claims[1].sources
    assert (speaker.name, text[speaker.start : speaker.end]) == ("Kim", "he")
    assert channel.name == "KCNA"


def test_pronoun_without_a_known_person_stays_as_written() -> None:
    text = "The weather was bad. He proclaimed that the match would go on."
    claim = analyse(text)[1]
    (source,) = claim.sources
    assert source.name == "He"
    assert text[source.start : source.end] == "He"


def test_inverted_subject_after_a_closing_quote_only() -> None:
    text = 'Critics said it was "damning" after the agency "recommended it two years ago."'
    claim = only(text)
    assert names(claim) == ["Critics"]


def test_appositive_between_subject_and_verb_is_skipped() -> None:
    text = "Steve Whitmore, a representative for the sheriff's office, told reporters it was theft."
    claim = only(text)
    assert names(claim) == ["Steve Whitmore"]
    assert claim.sources[0].kind == "official"


def test_reporting_word_used_as_a_noun_or_passive_is_no_attribution() -> None:
    for text in (
        "Outstanding asylum claims rose over 150,000.",
        "They were twice denied visas to enter the country.",
        "After news of the attack was reported, crowds gathered.",
        "Montalvo had read an article in the magazine.",
    ):
        assert only(text).sources == (), text


def test_photo_credit_names_its_source() -> None:
    text = "The convention floor.\n\nImage: Nick Moreau."
    credit = analyse(text)[1]
    assert credit.kind == "not_a_claim"
    assert names(credit) == ["Nick Moreau"]
    assert credit.confidence is None
    assert_offsets_true(text, [credit])


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("TASS reported the strike.", "state_media"),
        ("South Korean intelligence reported the losses.", "intelligence"),
        ("The Ukrainian General Staff reported the attack.", "military"),
        ("The United Nations said the crisis deepened.", "international_org"),
        ("Researchers say the salt is iodised.", "expert"),
        ("A defense ministry spokesman said the drill ended.", "military"),
        ("The foreign minister said the talks ended.", "official"),
        ("Sources said the talks ended.", "anonymous"),
        ("Ukraine indicated that the troops had left.", "government"),
    ],
)
def test_source_kind_is_guessed_from_the_wording(text: str, kind: str) -> None:
    assert only(text).sources[0].kind == kind


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("Estimates suggest that over 10,000 soldiers have been deployed.", "estimated"),
        ("Intelligence reported around 2,000 fatalities.", "estimated"),
        ("The missile was reportedly built abroad.", "speculative"),
        ("The minister said the navy might have received help.", "speculative"),
        ("Analysts suspected that the missile was Russian.", "speculative"),
        ("Ukraine claimed that the troops were operating drones.", "claimed"),
        ("The ministry confirmed the deployment.", "confirmed"),
        ("The number of soldiers still in combat remains unclear.", "unclear"),
        ("Casualty estimates have varied widely.", "unclear"),
        ("Kim inaugurated a museum in Pyongyang.", "asserted"),
        ("The festival ends in May this year.", "asserted"),
    ],
)
def test_confidence_follows_the_wording(text: str, confidence: str) -> None:
    assert only(text).confidence == confidence


def test_advice_in_the_article_voice_is_an_opinion() -> None:
    claim = only("If you want to avoid the crowds, avoid the weekends.")
    assert claim.kind == "opinion"
    assert only('She said "you should go".').kind == "claim"


def test_to_json_has_the_split_claims_shape() -> None:
    text = "KCNA said the test succeeded."
    data = only(text).to_json()
    assert data == {
        "start": 0,
        "end": len(text),
        "text": text,
        "kind": "claim",
        "sources": [{"name": "KCNA", "start": 0, "end": 4}],
        "cue": {"text": "said", "start": 5, "end": 9},
        "confidence": "asserted",
    }


def test_compound_claims_each_keep_their_source() -> None:
    text = (
        "South Korean intelligence reported around 2,000 fatalities, while Ukraine indicated "
        "that North Korean forces had been withdrawn."
    )
    first, second = analyse(text)
    assert names(first) == ["South Korean intelligence"]
    assert first.confidence == "estimated"
    assert names(second) == ["Ukraine"]
    assert_offsets_true(text, [first, second])
    (whole,) = analyse(text, split_compound=False)
    assert names(whole) == ["South Korean intelligence", "Ukraine"]


def test_demo_articles_offsets_hold_and_furniture_has_no_confidence() -> None:
    for path in sorted(ARTICLES.glob("*.txt")):
        body = path.read_text(encoding="utf-8").split("\n", 1)[1]
        claims = analyse(body)
        assert_offsets_true(body, claims)
        for claim in claims:
            assert (claim.confidence is None) == (claim.kind == "not_a_claim")
