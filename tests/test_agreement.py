"""Agreement statistics, checked against the krippendorff package, published
examples, hand computations and slow reference implementations written here.

No database: claims.agreement takes plain (unit, coder, value) records.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims import agreement as agreement_module
from claims.agreement import (
    Agreement,
    agreement,
    agreement_by_group,
    cohen_kappa,
    disagreeing_units,
    jaccard_distance,
    krippendorff_alpha,
    masi_distance,
    pairwise,
    percent_agreement,
    unit_agrees,
)

CONFIDENCE = ["confirmed", "asserted", "claimed", "estimated", "speculative", "unclear"]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the
# 4 coders x 12 units example with missing values (None). Published results:
# nominal 0.743, ordinal 0.815, interval 0.849.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def records_from_matrix(matrix):
    """(unit, coder, value) from a coders x units matrix with None for missing."""
    return [
        (unit, coder, value)
        for coder, row in enumerate(matrix)
        for unit, value in enumerate(row)
        if value is not None
    ]


def library_alpha(matrix, level, domain):
    """The krippendorff package on a coders x units matrix of domain labels.

    Labels are passed as their index in ``domain`` (floats, nan for missing),
    so the ordinal value domain is exactly the project's order. Returns None
    where the package refuses (no pairable unit, one value) or gives nan (0/0).
    """
    index = {label: position for position, label in enumerate(domain)}
    data = np.array(
        [[np.nan if value is None else index[value] for value in row] for row in matrix],
        dtype=float,
    )
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            result = krippendorff.alpha(
                reliability_data=data,
                level_of_measurement=level,
                value_domain=list(range(len(domain))),
            )
    except ValueError:
        return None
    return None if math.isnan(result) else float(result)


def random_matrix(rng, labels, *, max_units=60, max_coders=6, missing=0.4):
    units = rng.randint(1, max_units)
    coders = rng.randint(1, max_coders)
    used = rng.sample(labels, rng.randint(1, len(labels)))
    return [
        [None if rng.random() < missing else rng.choice(used) for _ in range(units)]
        for _ in range(coders)
    ]


def assert_same_alpha(ours, theirs):
    if theirs is None:
        assert ours is None
    else:
        assert ours is not None
        assert ours == pytest.approx(theirs, abs=1e-9)


# --- Published values --------------------------------------------------------------------------


def test_krippendorff_published_example_nominal():
    records = records_from_matrix(KRIPPENDORFF_2011)
    assert round(krippendorff_alpha(records), 3) == 0.743


def test_krippendorff_published_example_ordinal_over_label_order():
    words = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    matrix = [[None if v is None else words[v] for v in row] for row in KRIPPENDORFF_2011]
    order = ["very low", "low", "mid", "high", "very high"]
    alpha = krippendorff_alpha(records_from_matrix(matrix), level="ordinal", order=order)
    assert round(alpha, 3) == 0.815


def test_krippendorff_published_example_interval():
    records = records_from_matrix(KRIPPENDORFF_2011)
    assert round(krippendorff_alpha(records, level="interval"), 3) == 0.849


def test_ordinal_alpha_depends_on_the_given_order_not_alphabetical():
    # Alphabetical order of these words differs from the scale; a label order
    # mix-up must change the answer.
    words = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    matrix = [[None if v is None else words[v] for v in row] for row in KRIPPENDORFF_2011]
    records = records_from_matrix(matrix)
    alphabetical = krippendorff_alpha(records, level="ordinal", order=sorted(words.values()))
    assert round(alphabetical, 3) != 0.815


# --- Against the krippendorff package on random data -------------------------------------------


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("level", ["nominal", "ordinal"])
def test_alpha_matches_krippendorff_package_on_random_data(seed, level):
    rng = random.Random(seed)
    matrix = random_matrix(rng, CONFIDENCE)
    ours = krippendorff_alpha(records_from_matrix(matrix), level=level, order=CONFIDENCE)
    assert_same_alpha(ours, library_alpha(matrix, level, CONFIDENCE))


@pytest.mark.parametrize("seed", range(20))
def test_interval_alpha_matches_krippendorff_package(seed):
    rng = random.Random(1000 + seed)
    numbers = [0, 1, 2.5, 4, 10]
    matrix = random_matrix(rng, numbers)
    ours = krippendorff_alpha(records_from_matrix(matrix), level="interval")
    # The package takes numbers as they are; indices would change the distances.
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            theirs = float(
                krippendorff.alpha(
                    reliability_data=data, level_of_measurement="interval", value_domain=numbers
                )
            )
        theirs = None if math.isnan(theirs) else theirs
    except ValueError:
        theirs = None
    assert_same_alpha(ours, theirs)


def test_alpha_matches_krippendorff_package_on_a_large_skewed_sample():
    rng = np.random.default_rng(3)
    coders, units = 20, 3000
    weights = np.array([0.08, 0.45, 0.22, 0.10, 0.12, 0.03])
    truth = rng.choice(6, size=units, p=weights)
    matrix = [[None] * units for _ in range(coders)]
    for unit in range(units):
        for coder in rng.choice(coders, size=rng.integers(1, 5), replace=False):
            label = truth[unit] if rng.random() < 0.7 else rng.choice(6, p=weights)
            matrix[coder][unit] = CONFIDENCE[label]
    records = records_from_matrix(matrix)
    for level in ("nominal", "ordinal"):
        ours = krippendorff_alpha(records, level=level, order=CONFIDENCE)
        assert_same_alpha(ours, library_alpha(matrix, level, CONFIDENCE))


label_matrices = st.integers(1, 5).flatmap(
    lambda coders: st.integers(1, 12).flatmap(
        lambda units: st.lists(
            st.lists(st.none() | st.sampled_from(CONFIDENCE), min_size=units, max_size=units),
            min_size=coders,
            max_size=coders,
        )
    )
)


@settings(max_examples=200, deadline=None)
@given(matrix=label_matrices, level=st.sampled_from(["nominal", "ordinal"]))
def test_alpha_matches_krippendorff_package_for_any_labels(matrix, level):
    ours = krippendorff_alpha(records_from_matrix(matrix), level=level, order=CONFIDENCE)
    assert_same_alpha(ours, library_alpha(matrix, level, CONFIDENCE))


def test_large_groups_are_paired_in_chunks_without_changing_alpha(monkeypatch):
    rng = random.Random(5)
    matrix = random_matrix(rng, CONFIDENCE, max_units=200, max_coders=6, missing=0.2)
    records = records_from_matrix(matrix)
    whole = krippendorff_alpha(records, level="ordinal", order=CONFIDENCE)
    monkeypatch.setattr(agreement_module, "_PAIR_BUDGET", 7)
    assert krippendorff_alpha(records, level="ordinal", order=CONFIDENCE) == pytest.approx(
        whole, abs=1e-12
    )


@pytest.mark.parametrize("seed", range(5))
def test_groups_with_many_values_computed_in_blocks_give_the_same_alpha(monkeypatch, seed):
    # Force the dense-block path (normally for groups with > 512 distinct
    # values, e.g. a project's source sets), with blocks of a few rows.
    monkeypatch.setattr(agreement_module, "_LARGE_GROUP", 2)
    monkeypatch.setattr(agreement_module, "_BLOCK", 7)
    rng = random.Random(seed)
    matrix = random_matrix(rng, CONFIDENCE, max_units=80)
    for level in ("nominal", "ordinal"):
        ours = krippendorff_alpha(records_from_matrix(matrix), level=level, order=CONFIDENCE)
        assert_same_alpha(ours, library_alpha(matrix, level, CONFIDENCE))
    sources = random_source_records(rng, units=30, coders=3, names=["KCNA", "NATO", "AP", "UN"])
    assert_same_alpha(
        krippendorff_alpha(sources, distance="masi"), reference_alpha(sources, reference_masi)
    )


# --- Set-valued sources: MASI and Jaccard ------------------------------------------------------


def reference_masi(a, b):
    # Written out from Passonneau (2006), independently of the module.
    if not a and not b:
        return 0.0
    jaccard = len(a & b) / len(a | b)
    if a == b:
        monotonicity = 1.0
    elif a <= b or b <= a:
        monotonicity = 2 / 3
    elif a & b:
        monotonicity = 1 / 3
    else:
        monotonicity = 0.0
    return 1 - jaccard * monotonicity


def reference_jaccard(a, b):
    if not a and not b:
        return 0.0
    return 1 - len(a & b) / len(a | b)


def reference_alpha(records, distance):
    """alpha = 1 - D_o / D_e from pairwise distances, the slow way."""
    by_unit = defaultdict(list)
    for unit, _coder, value in records:
        by_unit[unit].append(value)
    pairable = [values for values in by_unit.values() if len(values) >= 2]
    everything = [value for values in pairable for value in values]
    n = len(everything)
    if n < 2:
        return None
    observed = (
        sum(
            sum(distance(a, b) for a, b in itertools.permutations(values, 2)) / (len(values) - 1)
            for values in pairable
        )
        / n
    )
    expected = sum(distance(a, b) for a, b in itertools.permutations(everything, 2)) / (n * (n - 1))
    return None if expected == 0 else 1 - observed / expected


def test_masi_distance_matches_passonneau_cases():
    ab, abc, ac, cd = {"A", "B"}, {"A", "B", "C"}, {"A", "C"}, {"C", "D"}
    assert masi_distance(frozenset(ab), frozenset(ab)) == 0
    assert masi_distance(frozenset(ab), frozenset(abc)) == pytest.approx(1 - 2 / 3 * 2 / 3)
    assert masi_distance(frozenset(ab), frozenset(ac)) == pytest.approx(1 - 1 / 3 * 1 / 3)
    assert masi_distance(frozenset(ab), frozenset(cd)) == 1
    assert masi_distance(frozenset(), frozenset()) == 0
    assert masi_distance(frozenset(), frozenset({"KCNA"})) == 1
    assert jaccard_distance(frozenset(ab), frozenset(ac)) == pytest.approx(2 / 3)


def test_masi_alpha_hand_computed():
    # Unit 1: {A} vs {A, B} (subset: distance 1 - 1/2 * 2/3 = 2/3); unit 2: {C} vs {C}.
    # D_o = 2 * 2/3 / 4 = 1/3. D_e: over the 4 values, ordered pairs sum to
    # 2 * (2/3 + 1 + 1 + 1 + 1 + 0) = 28/3, divided by 4 * 3 -> 7/9.
    # alpha = 1 - (1/3) / (7/9) = 4/7.
    records = [
        (1, "ann", frozenset({"A"})),
        (1, "bob", frozenset({"A", "B"})),
        (2, "ann", frozenset({"C"})),
        (2, "bob", frozenset({"C"})),
    ]
    assert krippendorff_alpha(records, distance="masi") == pytest.approx(4 / 7)


def random_source_records(rng, *, units, coders, names):
    records = []
    for unit in range(units):
        for coder in rng.sample(range(coders), rng.randint(1, coders)):
            sources = frozenset(rng.sample(names, rng.choice([0, 1, 1, 1, 2, 3])))
            records.append((unit, coder, sources))
    return records


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize(
    ("distance", "reference"), [("masi", reference_masi), ("jaccard", reference_jaccard)]
)
def test_set_alpha_matches_pairwise_definition(seed, distance, reference):
    rng = random.Random(seed)
    records = random_source_records(
        rng,
        units=rng.randint(1, 25),
        coders=4,
        names=["KCNA", "NATO", "United States", "South Korea", "AP"],
    )
    assert_same_alpha(
        krippendorff_alpha(records, distance=distance), reference_alpha(records, reference)
    )


def test_set_alpha_with_more_than_64_source_names():
    # Bit masks span several 64-bit words here.
    rng = random.Random(11)
    names = [f"source {number}" for number in range(150)]
    records = random_source_records(rng, units=40, coders=3, names=names)
    assert_same_alpha(
        krippendorff_alpha(records, distance="masi"), reference_alpha(records, reference_masi)
    )


def test_popcount_fallback_for_old_numpy_counts_bits():
    words = np.random.default_rng(1).integers(0, 2**63, size=(50, 3), dtype=np.uint64)
    expected = [[bin(int(word)).count("1") for word in row] for row in words]
    assert agreement_module._byte_popcount(words).tolist() == expected


def test_nominal_alpha_on_sets_treats_only_identical_sets_as_agreement():
    records = random_source_records(
        random.Random(2), units=20, coders=3, names=["KCNA", "NATO", "AP"]
    )
    assert_same_alpha(
        krippendorff_alpha(records), reference_alpha(records, lambda a, b: float(a != b))
    )


# --- Undefined cases and missing values --------------------------------------------------------


def test_alpha_is_none_without_variation_but_percent_agreement_is_one():
    records = [(unit, coder, "asserted") for unit in range(5) for coder in ("ann", "bob")]
    result = agreement(records)
    assert result == Agreement(alpha=None, percent_agreement=1.0, units=5, values=10)


def test_alpha_is_none_when_no_unit_has_two_values():
    records = [(1, "ann", "asserted"), (2, "bob", "claimed")]
    assert krippendorff_alpha(records) is None
    assert percent_agreement(records) is None
    assert agreement([]) == Agreement(None, None, 0, 0)


def test_units_with_a_single_value_are_left_out():
    records = records_from_matrix(KRIPPENDORFF_2011)
    with_singletons = records + [(100, 0, 1), (101, 2, 7)]
    assert krippendorff_alpha(with_singletons) == krippendorff_alpha(records)
    assert agreement(with_singletons).units == agreement(records).units


def test_none_values_count_as_missing():
    records = records_from_matrix(KRIPPENDORFF_2011)
    assert krippendorff_alpha(records + [(10, 0, None)]) == krippendorff_alpha(records)


def test_same_annotator_twice_on_a_claim_is_rejected():
    with pytest.raises(ValueError, match="more than once"):
        krippendorff_alpha([(1, "ann", "asserted"), (1, "ann", "claimed"), (1, "bob", "x")])


def test_ordinal_needs_an_order_that_covers_every_label():
    records = [(1, "ann", "asserted"), (1, "bob", "rumoured")]
    with pytest.raises(ValueError, match="order"):
        krippendorff_alpha(records, level="ordinal")
    with pytest.raises(ValueError, match="rumoured"):
        krippendorff_alpha(records, level="ordinal", order=CONFIDENCE)


def test_set_distance_rejects_plain_labels_and_levels():
    with pytest.raises(ValueError, match="frozenset"):
        krippendorff_alpha([(1, "ann", "KCNA"), (1, "bob", "NATO")], distance="masi")
    with pytest.raises(ValueError, match="not both"):
        krippendorff_alpha([], level="ordinal", order=CONFIDENCE, distance="masi")


# --- Percent agreement and per-unit helpers ----------------------------------------------------


def test_percent_agreement_counts_claims_where_everyone_agrees():
    records = [
        (1, "ann", "asserted"),
        (1, "bob", "asserted"),
        (1, "cy", "asserted"),
        (2, "ann", "asserted"),
        (2, "bob", "claimed"),
        (2, "cy", "asserted"),
        (3, "ann", "claimed"),
        (3, "bob", "claimed"),
        (4, "ann", "unclear"),  # one label: not counted
    ]
    assert percent_agreement(records) == pytest.approx(2 / 3)


def test_unit_agrees_ignores_missing_values():
    assert unit_agrees(["asserted", "asserted", None])
    assert unit_agrees([frozenset({"KCNA"}), frozenset({"KCNA"})])
    assert not unit_agrees([frozenset({"KCNA"}), frozenset({"KCNA", "NATO"})])
    assert unit_agrees([])


def test_disagreeing_units_are_the_review_queue():
    records = [
        (1, "ann", "asserted"),
        (1, "bob", "asserted"),
        (2, "ann", "asserted"),
        (2, "bob", "claimed"),
        (3, "ann", "claimed"),
        (3, "bob", None),
        (3, "cy", "unclear"),
        (4, "ann", "unclear"),
    ]
    assert disagreeing_units(records) == {2, 3}


# --- Per group (per article) -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(
    "options",
    [{"level": "nominal"}, {"level": "ordinal", "order": CONFIDENCE}, {"distance": "masi"}],
)
def test_agreement_by_group_equals_agreement_on_each_group_alone(seed, options):
    rng = random.Random(seed)
    if "distance" in options:
        records = random_source_records(rng, units=60, coders=4, names=["KCNA", "NATO", "AP"])
    else:
        records = records_from_matrix(random_matrix(rng, CONFIDENCE, max_units=80))
    article_of_claim = {unit: rng.randrange(7) for unit, _, _ in records}
    by_article = agreement_by_group(records, article_of_claim, **options)
    assert set(by_article) == set(article_of_claim.values())
    for article, figures in by_article.items():
        alone = [record for record in records if article_of_claim[record[0]] == article]
        expected = agreement(alone, **options)
        assert_same_alpha(figures.alpha, expected.alpha)
        assert figures.percent_agreement == expected.percent_agreement
        assert (figures.units, figures.values) == (expected.units, expected.values)


def test_agreement_by_group_mixes_small_and_block_computed_groups(monkeypatch):
    monkeypatch.setattr(agreement_module, "_LARGE_GROUP", 5)
    rng = random.Random(8)
    records = random_source_records(
        rng, units=80, coders=3, names=["KCNA", "NATO", "AP", "UN", "Yonhap"]
    )
    # Article 0 holds most claims (many distinct sets), the others a few each.
    article_of_claim = {unit: 0 if unit < 50 else unit % 4 + 1 for unit, _, _ in records}
    by_article = agreement_by_group(records, article_of_claim, distance="masi")
    for article, figures in by_article.items():
        alone = [record for record in records if article_of_claim[record[0]] == article]
        assert_same_alpha(figures.alpha, reference_alpha(alone, reference_masi))


def test_agreement_by_group_needs_every_unit_grouped():
    with pytest.raises(KeyError):
        agreement_by_group([(1, "ann", "asserted"), (2, "ann", "x")], {1: "article"})


# --- Cohen's kappa and annotator pairs ---------------------------------------------------------


def reference_kappa(pairs):
    """Kappa from marginal probabilities, as in the textbooks."""
    n = len(pairs)
    if n == 0:
        return None
    categories = {value for pair in pairs for value in pair}
    observed = sum(a == b for a, b in pairs) / n
    chance = sum(
        (sum(a == c for a, _ in pairs) / n) * (sum(b == c for _, b in pairs) / n)
        for c in categories
    )
    if math.isclose(chance, 1.0):
        return None
    return (observed - chance) / (1 - chance)


def test_cohen_kappa_hand_computed():
    # 50 claims: both "yes" 20, A yes/B no 5, A no/B yes 10, both "no" 15.
    # p_o = 0.7; A says yes 25/50, B 30/50; p_e = 0.5*0.6 + 0.5*0.4 = 0.5;
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_cohen_kappa_undefined_and_extreme_cases():
    assert cohen_kappa([]) is None
    assert cohen_kappa([("asserted", "asserted")] * 3) is None
    assert cohen_kappa([("a", "a"), ("b", "b")]) == 1
    assert cohen_kappa([("a", "b"), ("b", "a")]) == -1


@pytest.mark.parametrize("seed", range(30))
def test_cohen_kappa_matches_reference(seed):
    rng = random.Random(seed)
    labels = rng.sample(CONFIDENCE, rng.randint(1, 4))
    pairs = [
        (a, a if rng.random() < 0.5 else rng.choice(labels))
        for a in rng.choices(labels, k=rng.randint(1, 40))
    ]
    expected = reference_kappa(pairs)
    if expected is None:
        assert cohen_kappa(pairs) is None
    else:
        assert cohen_kappa(pairs) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_pairwise_matches_kappa_per_annotator_pair(seed):
    rng = random.Random(seed)
    coders = ["ann", "bob", "cy", "dee", "eve"]
    records = [
        (unit, coder, rng.choice(CONFIDENCE[:3]))
        for unit in range(rng.randint(1, 50))
        for coder in rng.sample(coders, rng.randint(1, 4))
    ]
    labels = {(unit, coder): value for unit, coder, value in records}
    expected = {}
    for first, second in itertools.combinations(sorted(coders), 2):
        pairs = [
            (labels[unit, first], labels[unit, second])
            for unit in {unit for unit, _, _ in records}
            if (unit, first) in labels and (unit, second) in labels
        ]
        if pairs:
            expected[first, second] = pairs
    result = pairwise(records)
    assert set(result) == set(expected)
    for pair, shared in expected.items():
        stats = result[pair]
        assert stats.units == len(shared)
        assert stats.percent_agreement == pytest.approx(
            sum(a == b for a, b in shared) / len(shared)
        )
        kappa = reference_kappa(shared)
        if kappa is None:
            assert stats.kappa is None
        else:
            assert stats.kappa == pytest.approx(kappa, abs=1e-12)


def test_pairwise_on_source_sets_compares_whole_sets():
    kcna, both = frozenset({"KCNA"}), frozenset({"KCNA", "NATO"})
    records = [(1, 2, kcna), (1, 1, kcna), (2, 1, both), (2, 2, kcna), (3, 1, both), (3, 2, both)]
    stats = pairwise(records)[1, 2]
    assert stats.units == 3
    assert stats.percent_agreement == pytest.approx(2 / 3)
    assert stats.kappa == pytest.approx(reference_kappa([(kcna, kcna), (both, kcna), (both, both)]))


def test_pairwise_is_empty_without_shared_units():
    assert pairwise([(1, "ann", "asserted"), (2, "bob", "asserted")]) == {}
    assert pairwise([]) == {}
