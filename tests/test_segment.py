"""Splitting article bodies into claim spans (claims.segment), no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.segment import CLAIM, NOT_A_CLAIM, split

# The demo articles, kept in the repository (fixtures/articles).
ARTICLES = Path(__file__).resolve().parents[1] / "fixtures" / "articles"


def texts(body: str, **options: bool) -> list[str]:
    return [body[s.start : s.end] for s in split(body, **options)]


def assert_covers(body: str) -> None:
    segments = split(body)
    position = 0
    for seg in segments:
        assert seg.start >= position, "spans overlap or are out of order"
        assert body[position : seg.start].strip() == "", "text fell between spans"
        piece = body[seg.start : seg.end]
        assert piece == piece.strip() and piece
        position = seg.end
    assert body[position:].strip() == ""


def test_plain_sentences_split_at_full_stops() -> None:
    assert texts("Hello World. My name is Jonas.") == ["Hello World.", "My name is Jonas."]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("The U.S. Government acted. It said so.", ["The U.S. Government acted.", "It said so."]),
        ("I live in the U.S. How about you?", ["I live in the U.S.", "How about you?"]),
        (
            "On Oct. 5 Gen. Smith met Dr. Lee in Washington, D.C. on time.",
            ["On Oct. 5 Gen. Smith met Dr. Lee in Washington, D.C. on time."],
        ),
        (
            "It cost $1.5bn. Prices rose 10.5% after 2,000 layoffs.",
            ["It cost $1.5bn.", "Prices rose 10.5% after 2,000 layoffs."],
        ),
        ("Jonas E. Smith arrived.", ["Jonas E. Smith arrived."]),
    ],
)
def test_abbreviations_and_numbers_do_not_end_sentences(body: str, expected: list[str]) -> None:
    assert texts(body) == expected


def test_quote_over_several_sentences_ends_with_its_attribution() -> None:
    body = '"We won. We will win again," he said. The crowd cheered.'
    assert texts(body) == ['"We won.', 'We will win again," he said.', "The crowd cheered."]


def test_quotation_followed_by_lowercase_attribution_stays_whole() -> None:
    assert texts('She turned to him, "This is great." she said.') == [
        'She turned to him, "This is great." she said.'
    ]


def test_paragraphs_split_at_single_and_blank_lines() -> None:
    body = "First paragraph ends here\nSecond one. It has two.\n\nThird one."
    segments = split(body)
    assert [body[s.start : s.end] for s in segments] == [
        "First paragraph ends here",
        "Second one.",
        "It has two.",
        "Third one.",
    ]
    assert segments[0].kind == NOT_A_CLAIM  # an unpunctuated line is a heading


def test_dateline_and_byline_lines_are_not_claims() -> None:
    body = "Friday, July 21, 2017\nBy Jane Doe\nThe team won."
    kinds = [(body[s.start : s.end], s.kind) for s in split(body)]
    assert kinds == [
        ("Friday, July 21, 2017", NOT_A_CLAIM),
        ("By Jane Doe", NOT_A_CLAIM),
        ("The team won.", CLAIM),
    ]


def test_read_also_list_and_items_are_not_claims() -> None:
    body = "The museum opened. It is large.\nRead also:\n- First link text.\n- Second link"
    kinds = [(body[s.start : s.end], s.kind) for s in split(body)]
    assert kinds == [
        ("The museum opened.", CLAIM),
        ("It is large.", CLAIM),
        ("Read also:", NOT_A_CLAIM),
        ("- First link text.", NOT_A_CLAIM),
        ("- Second link", NOT_A_CLAIM),
    ]


def test_photo_credit_after_a_caption_is_its_own_span() -> None:
    body = "Playstation VR demo Image: Nick Moreau.\n\nThe show went on."
    kinds = [(body[s.start : s.end], s.kind) for s in split(body)]
    assert kinds == [
        ("Playstation VR demo", CLAIM),
        ("Image: Nick Moreau.", NOT_A_CLAIM),
        ("The show went on.", CLAIM),
    ]


def test_bibliography_lines_are_not_claims() -> None:
    body = "Prices rose.\nSources\nSmith, J. (2020). A book. Publisher.\nDoe, A. A paper."
    segments = split(body)
    assert [s.kind for s in segments] == [CLAIM, NOT_A_CLAIM, NOT_A_CLAIM, NOT_A_CLAIM]


def test_inline_enumeration_splits_before_each_item() -> None:
    assert texts("1. The first item 2. The second item") == [
        "1. The first item",
        "2. The second item",
    ]


def test_attributed_compound_sentence_becomes_two_claims() -> None:
    body = "Intelligence reported 2,000 deaths, while Ukraine indicated that troops had left."
    assert texts(body) == [
        "Intelligence reported 2,000 deaths,",
        "while Ukraine indicated that troops had left.",
    ]
    assert texts(body, split_compound=False) == [body]


def test_compound_without_two_reporting_clauses_stays_whole() -> None:
    body = "Prices rose in May, while wages fell sharply."
    assert texts(body) == [body]


@pytest.mark.parametrize(
    "body",
    [
        "Hello.  \n\n  World!  ",
        "A line\n- item\n\nImage: X.\nRead also:\n- a\n- b",
        '"So far, 1. But it is long." - Matthew Ingram\nWhat? Yes... no . . . . Next.',
        "",
        "   \n  ",
    ],
)
def test_every_character_lands_in_exactly_one_span(body: str) -> None:
    assert_covers(body)


def _body(name_prefix: str) -> str:
    path = next(ARTICLES.glob(f"{name_prefix}_*.txt"))
    return path.read_text(encoding="utf-8").split("\n", 1)[1]


def test_demo_article_000_has_one_claim_per_sentence() -> None:
    body = _body("000")
    claims = [s for s in split(body, split_compound=False) if s.kind == CLAIM]
    assert len(claims) == 21
    compound = [s for s in split(body) if s.kind == CLAIM]
    assert len(compound) == 22
    assert_covers(body)


def test_demo_article_004_has_nine_claims_and_a_link_list() -> None:
    body = _body("004")
    for options in ({"split_compound": False}, {"split_compound": True}):
        segments = split(body, **options)
        claims = [s for s in segments if s.kind == CLAIM]
        furniture = [body[s.start : s.end] for s in segments if s.kind == NOT_A_CLAIM]
        assert len(claims) == 9
        assert furniture[0] == "Read also:"
        assert len(furniture) == 5
        assert all(item.startswith("- ") for item in furniture[1:])
