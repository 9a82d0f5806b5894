"""Agreement among annotators: Krippendorff's alpha, Cohen's kappa, percent agreement.

Plain data in, numbers out: no Django, no database. Every function takes
*records* ``(unit, coder, value)``: ``unit`` is a claim id, ``coder`` an
annotator id (both hashable), ``value`` a hashable label, or a ``frozenset`` of
source names for the set distances. A ``value`` of ``None`` counts as missing.

Missing labels are normal (not every annotator labels every claim). A unit
with fewer than two values cannot be compared with anything and is left out of
every figure. Undefined figures are ``None``, never ``nan``: no pairable unit,
or no variation at all (see :func:`krippendorff_alpha`).

The work is vectorised with numpy (coincidences summed with ``bincount``
over the pairs of values inside each unit) so that a project of 100,000 claims
takes well under a second per figure; see ``docs/agreement.md`` for the
definitions and ``bench/agreement_speed.py`` for the timings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np

Record: TypeAlias = tuple[Hashable, Hashable, Hashable]
Level: TypeAlias = Literal["nominal", "ordinal", "interval"]
SetDistance: TypeAlias = Literal["masi", "jaccard"]

# Upper bound on the number of value pairs materialised at once, so a project
# with thousands of distinct source sets stays within tens of megabytes.
_PAIR_BUDGET = 1 << 20
# Groups with more distinct values than this get expected disagreement in
# dense blocks rather than from a list of value pairs.
_LARGE_GROUP = 512
_BLOCK = 1 << 17


@dataclass(frozen=True)
class Agreement:
    """Agreement over a set of claims (a project, an article)."""

    alpha: float | None
    """Krippendorff's alpha; None when undefined (no pairable unit, no variation)."""
    percent_agreement: float | None
    """Share of pairable units on which all annotators gave the same value."""
    units: int
    """Pairable units: units with at least two values."""
    values: int
    """Values in pairable units (Krippendorff's n)."""


@dataclass(frozen=True)
class PairStats:
    """Agreement between two annotators over the units both of them labelled."""

    units: int
    percent_agreement: float
    kappa: float | None
    """Cohen's kappa; None when chance agreement is 1 (both used one and the same value)."""


# --- Public API -----------------------------------------------------------------------------


def krippendorff_alpha(
    records: Iterable[Record],
    *,
    level: Level = "nominal",
    order: Sequence[Hashable] | None = None,
    distance: SetDistance | None = None,
) -> float | None:
    """Krippendorff's alpha over all units, or None when it is undefined.

    ``level="nominal"`` compares labels for equality; ``"ordinal"`` uses
    Krippendorff's ordinal metric over ``order`` (required, lowest rank first;
    every value must be in it); ``"interval"`` takes numeric values.
    ``distance="masi"`` or ``"jaccard"`` compares frozensets of sources and
    replaces ``level``.

    Undefined means: fewer than two pairable values, or zero expected
    disagreement (every pairable value is the same, so there is no variation
    to measure reliability against). The ``krippendorff`` package returns
    ``nan`` (0/0) or raises there; we return None rather than 1.0, because
    alpha is agreement *beyond chance* and a single-valued sample says nothing
    about that. Percent agreement still reports the plain agreement.
    """
    return agreement(records, level=level, order=order, distance=distance).alpha


def agreement(
    records: Iterable[Record],
    *,
    level: Level = "nominal",
    order: Sequence[Hashable] | None = None,
    distance: SetDistance | None = None,
) -> Agreement:
    """Alpha, percent agreement and counts over all units in one pass."""
    return _agreement_by_group(records, None, level=level, order=order, distance=distance)[None]


def agreement_by_group(
    records: Iterable[Record],
    group_of_unit: Mapping[Hashable, Hashable],
    *,
    level: Level = "nominal",
    order: Sequence[Hashable] | None = None,
    distance: SetDistance | None = None,
) -> dict[Hashable, Agreement]:
    """Agreement per group of units (per article: ``{claim_id: article_id}``), in one pass.

    Each group is computed as if its records were passed alone to
    :func:`agreement`: expected disagreement (and the ordinal metric) come
    from the group's own values. Every group with at least one record appears
    in the result; a unit missing from ``group_of_unit`` raises ``KeyError``.
    """
    return _agreement_by_group(records, group_of_unit, level=level, order=order, distance=distance)


def percent_agreement(records: Iterable[Record]) -> float | None:
    """Share of pairable units where all annotators gave the same value.

    This is the figure people expect ("on 83% of claims everyone agreed"),
    not the share of agreeing annotator pairs, which :func:`pairwise` gives
    per pair. None when no unit has two values.
    """
    return agreement(records).percent_agreement


def cohen_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa for two coders from ``(value_a, value_b)`` per shared unit.

    None when there are no pairs, or when chance agreement is 1 (both coders
    used one and the same value throughout), where kappa is 0/0.
    """
    count_a: Counter[Hashable] = Counter()
    count_b: Counter[Hashable] = Counter()
    n = agree = 0
    for value_a, value_b in pairs:
        count_a[value_a] += 1
        count_b[value_b] += 1
        agree += value_a == value_b
        n += 1
    chance = sum(count * count_b[value] for value, count in count_a.items())
    return _kappa(n, agree, chance)


def pairwise(records: Iterable[Record]) -> dict[tuple[Hashable, Hashable], PairStats]:
    """Units shared, percent agreement and Cohen's kappa for every annotator pair.

    Keys are ``(coder_a, coder_b)`` with ``coder_a < coder_b`` (first-seen
    order when coder ids cannot be sorted). Pairs without a shared unit are
    absent.
    """
    coded = _encode(records)
    coder_rank = _sort_rank(coded.coders)
    rank = coder_rank[coded.coder]
    # Sorting by (unit, coder rank) makes every pair generated below come out
    # as (lower rank, higher rank), so each annotator pair has one key.
    by_unit = np.lexsort((rank, coded.unit))
    unit, rank, value = coded.unit[by_unit], rank[by_unit], coded.value[by_unit]

    n_coders, n_values = len(coded.coders), max(len(coded.values), 1)
    shared = np.zeros(n_coders * n_coders, dtype=np.int64)
    agree = np.zeros(n_coders * n_coders, dtype=np.int64)
    first_keys, second_keys = [], []
    for i, j in _pairs_within(unit):
        pair = rank[i] * n_coders + rank[j]
        shared += np.bincount(pair, minlength=shared.size)
        agree += np.bincount(pair, weights=value[i] == value[j], minlength=agree.size).astype(
            np.int64
        )
        first_keys.append(pair * n_values + value[i])
        second_keys.append(pair * n_values + value[j])
    if not first_keys:
        return {}

    # Chance agreement needs, per pair, sum over values of count_a * count_b.
    # Kept sparse (pair, value) so many annotators and many source sets stay cheap.
    keys_a, counts_a = np.unique(np.concatenate(first_keys), return_counts=True)
    keys_b, counts_b = np.unique(np.concatenate(second_keys), return_counts=True)
    _, in_a, in_b = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    chance = np.bincount(
        keys_a[in_a] // n_values,
        weights=counts_a[in_a] * counts_b[in_b],
        minlength=shared.size,
    ).astype(np.int64)

    by_rank = sorted(range(n_coders), key=coder_rank.__getitem__)
    result = {}
    for pair in np.flatnonzero(shared):
        first, second = divmod(int(pair), n_coders)
        n = int(shared[pair])
        result[(coded.coders[by_rank[first]], coded.coders[by_rank[second]])] = PairStats(
            units=n,
            percent_agreement=int(agree[pair]) / n,
            kappa=_kappa(n, int(agree[pair]), int(chance[pair])),
        )
    return result


def unit_agrees(values: Iterable[Hashable]) -> bool:
    """Whether all values given to one claim are the same (missing ``None`` ignored).

    A claim with fewer than two values trivially agrees; whether it has
    enough labels to be settled is the project's rule, not this one's.
    """
    return len({value for value in values if value is not None}) <= 1


def disagreeing_units(records: Iterable[Record]) -> set[Hashable]:
    """Units whose values are not all the same: the reviewer's queue."""
    first_value: dict[Hashable, Hashable] = {}
    disagreeing = set()
    for unit, _coder, value in records:
        if value is None:
            continue
        if first_value.setdefault(unit, value) != value:
            disagreeing.add(unit)
    return disagreeing


def masi_distance(a: frozenset, b: frozenset) -> float:
    """1 - MASI (Passonneau 2006): Jaccard weighted by monotonicity.

    Monotonicity is 1 for equal sets, 2/3 when one contains the other, 1/3
    when they overlap otherwise, 0 when disjoint. Two empty sets are equal
    (distance 0); an empty and a non-empty set are disjoint (distance 1).
    """
    if a == b:
        return 0.0
    shared = len(a & b)
    if shared == 0:
        return 1.0
    monotonicity = 2 / 3 if shared == min(len(a), len(b)) else 1 / 3
    return 1.0 - shared / len(a | b) * monotonicity


def jaccard_distance(a: frozenset, b: frozenset) -> float:
    """1 - |a & b| / |a | b|; two empty sets are equal (distance 0)."""
    if a == b:
        return 0.0
    return 1.0 - len(a & b) / len(a | b)


# --- Encoding ---------------------------------------------------------------------------------


@dataclass
class _Coded:
    """Records as integer codes, with the labels each code stands for."""

    unit: np.ndarray
    coder: np.ndarray
    value: np.ndarray
    units: list
    coders: list
    values: list


def _codes(column: Sequence[Hashable], labels: list | None = None) -> tuple[np.ndarray, list]:
    """Integer code per item, by first appearance (or by position in ``labels``)."""
    if labels is None:
        labels = list(dict.fromkeys(column))
    index = {label: code for code, label in enumerate(labels)}
    try:
        codes = np.fromiter(map(index.__getitem__, column), dtype=np.int64, count=len(column))
    except KeyError as error:
        raise ValueError(f"value {error.args[0]!r} is not in the label order") from None
    return codes, labels


def _encode(records: Iterable[Record], order: Sequence[Hashable] | None = None) -> _Coded:
    kept = [record for record in records if record[2] is not None]
    if not kept:
        empty = np.zeros(0, dtype=np.int64)
        return _Coded(empty, empty, empty, [], [], list(order or []))
    # Three comprehensions: zip(*kept) would build 200,000 iterators.
    units = [record[0] for record in kept]
    coders = [record[1] for record in kept]
    values = [record[2] for record in kept]
    unit, unit_labels = _codes(units)
    coder, coder_labels = _codes(coders)
    value, value_labels = _codes(values, None if order is None else list(order))

    # A second label by the same annotator on the same claim would be counted
    # as a second opinion and inflate agreement; the caller must pick one.
    key = unit * len(coder_labels) + coder
    sorted_key = np.sort(key)
    repeated = sorted_key[1:][sorted_key[1:] == sorted_key[:-1]]
    if repeated.size:
        unit_code, coder_code = divmod(int(repeated[0]), len(coder_labels))
        raise ValueError(
            f"annotator {coder_labels[coder_code]!r} labelled unit "
            f"{unit_labels[unit_code]!r} more than once"
        )
    return _Coded(unit, coder, value, unit_labels, coder_labels, value_labels)


def _sort_rank(labels: list) -> np.ndarray:
    """Rank of each label in sorted order, or first-seen order if unsortable."""
    try:
        by_label = sorted(range(len(labels)), key=labels.__getitem__)
    except TypeError:
        by_label = list(range(len(labels)))
    rank = np.empty(len(labels), dtype=np.int64)
    rank[by_label] = np.arange(len(labels))
    return rank


# --- Alpha ------------------------------------------------------------------------------------


def _agreement_by_group(
    records: Iterable[Record],
    group_of_unit: Mapping[Hashable, Hashable] | None,
    *,
    level: Level,
    order: Sequence[Hashable] | None,
    distance: SetDistance | None,
) -> dict[Hashable, Agreement]:
    if distance is not None and level != "nominal":
        raise ValueError("give either a level or a set distance, not both")
    if distance not in (None, "masi", "jaccard"):
        raise ValueError(f"unknown set distance {distance!r}; use 'masi' or 'jaccard'")
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"unknown level {level!r}; use 'nominal', 'ordinal' or 'interval'")
    if level == "ordinal" and order is None:
        raise ValueError("ordinal alpha needs the label order")

    coded = _encode(records, order if level == "ordinal" else None)
    if group_of_unit is None:
        group_labels: list = [None]
        group_of_unit_code = np.zeros(len(coded.units), dtype=np.int64)
    else:
        group_of_unit_code, group_labels = _codes([group_of_unit[u] for u in coded.units])
    if not group_labels:  # no records to group
        return {}

    n_groups, n_values = len(group_labels), max(len(coded.values), 1)
    values_per_unit = np.bincount(coded.unit, minlength=len(coded.units))
    pairable = values_per_unit[coded.unit] >= 2
    unit, value = coded.unit[pairable], coded.value[pairable]
    group = group_of_unit_code[unit]

    # Cells: distinct (unit, value) with their counts, sorted by unit.
    cell_key, cell_count = np.unique(unit * n_values + value, return_counts=True)
    cell_unit, cell_value = np.divmod(cell_key, n_values)
    cell_group = group_of_unit_code[cell_unit]

    # Marginals per group: distinct (group, value) with counts, sorted by group.
    total_key, total_count = np.unique(group * n_values + value, return_counts=True)
    total_group, total_value = np.divmod(total_key, n_values)
    n = np.bincount(group, minlength=n_groups).astype(np.float64)

    pair_distance = _pair_distance(
        level, distance, coded.values, total_group, total_value, total_count, n_groups, n_values
    )

    # Observed: ordered pairs of different values inside a unit, each weighted
    # 1 / (m_u - 1). Equal values have distance 0 under every metric here, so
    # only pairs of different cells count; i < j covers half, hence the 2.
    observed = np.zeros(n_groups)
    for i, j in _pairs_within(cell_unit):
        weight = 2.0 * cell_count[i] * cell_count[j] / (values_per_unit[cell_unit[i]] - 1)
        distances = pair_distance(cell_group[i], cell_value[i], cell_value[j])
        observed += np.bincount(cell_group[i], weights=weight * distances, minlength=n_groups)

    expected = _expected_disagreement(
        total_group, total_value, total_count, n_groups, pair_distance
    )

    unit_is_pairable = values_per_unit >= 2
    cells_per_unit = np.bincount(cell_unit, minlength=len(coded.units))
    units_per_group = np.bincount(group_of_unit_code, weights=unit_is_pairable, minlength=n_groups)
    agreeing_per_group = np.bincount(
        group_of_unit_code, weights=unit_is_pairable & (cells_per_unit == 1), minlength=n_groups
    )

    result = {}
    for code, label in enumerate(group_labels):
        units = int(units_per_group[code])
        alpha = None
        if n[code] >= 2 and expected[code] > 0:
            alpha = float(1.0 - (n[code] - 1.0) * observed[code] / expected[code])
        result[label] = Agreement(
            alpha=alpha,
            percent_agreement=float(agreeing_per_group[code]) / units if units else None,
            units=units,
            values=int(n[code]),
        )
    return result


def _expected_disagreement(
    total_group: np.ndarray,
    total_value: np.ndarray,
    total_count: np.ndarray,
    n_groups: int,
    pair_distance: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Per group, the sum over ordered pairs of different values of n_c * n_k * d(c, k).

    ``total_*`` are the distinct (group, value) cells with their counts,
    sorted by group. Small groups (articles) go through one flat list of
    value pairs for all groups; a group with many distinct values (a whole
    project's source sets) is computed in dense blocks instead, which skips
    building index pairs and is several times faster.
    """
    expected = np.zeros(n_groups)
    values_per_group = np.bincount(total_group, minlength=n_groups)
    large = values_per_group > _LARGE_GROUP
    in_small = ~large[total_group]
    small_group, small_value, small_count = (
        total_group[in_small],
        total_value[in_small],
        total_count[in_small],
    )
    for i, j in _pairs_within(small_group):
        weight = 2.0 * small_count[i] * small_count[j]
        distances = pair_distance(small_group[i], small_value[i], small_value[j])
        expected += np.bincount(small_group[i], weights=weight * distances, minlength=n_groups)

    starts = np.cumsum(values_per_group) - values_per_group
    for group in np.flatnonzero(large):
        cells = slice(starts[group], starts[group] + values_per_group[group])
        # Blocks of about _BLOCK entries: big enough to amortise numpy's
        # per-call cost, small enough to stay in cache.
        rows_per_block = max(1, _BLOCK // int(values_per_group[group]))
        value, count = total_value[cells], total_count[cells].astype(np.float64)
        for first in range(0, len(value), rows_per_block):
            rows = value[first : first + rows_per_block, np.newaxis]
            with np.errstate(invalid="ignore", divide="ignore"):
                distances = pair_distance(group, rows, value[np.newaxis, :])
            # The block includes each value against itself, which is no disagreement
            # (and 0/0 for two empty source sets).
            distances = np.where(rows == value[np.newaxis, :], 0.0, distances)
            expected[group] += count[first : first + rows_per_block] @ distances @ count
    return expected


def _pair_distance(
    level: Level,
    distance: SetDistance | None,
    value_labels: list,
    total_group: np.ndarray,
    total_value: np.ndarray,
    total_count: np.ndarray,
    n_groups: int,
    n_values: int,
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Distance between value codes ``c`` and ``k`` (always different) within group ``g``."""
    if distance is not None:
        return _set_distance(distance, value_labels)

    if level == "nominal":
        return lambda g, c, k: np.ones(np.broadcast_shapes(np.shape(c), np.shape(k)))

    if level == "interval":
        try:
            numbers = np.array([float(v) for v in value_labels])
        except (TypeError, ValueError):
            raise ValueError("interval alpha needs numeric values") from None
        return lambda g, c, k: (numbers[c] - numbers[k]) ** 2

    # Ordinal: Krippendorff's metric depends on how often each rank was used
    # (in the group), so rank differences are measured in values, not steps:
    # d(c, k) = (sum of n_g for g from c to k  -  (n_c + n_k) / 2) ** 2.
    marginal = np.zeros((n_groups, n_values))
    marginal[total_group, total_value] = total_count
    cumulative = np.cumsum(marginal, axis=1)

    def ordinal(g: np.ndarray, c: np.ndarray, k: np.ndarray) -> np.ndarray:
        low, high = np.minimum(c, k), np.maximum(c, k)
        between = cumulative[g, high] - cumulative[g, low]
        return (between + (marginal[g, low] - marginal[g, high]) / 2) ** 2

    return ordinal


def _set_distance(
    distance: SetDistance, value_labels: list
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    for value in value_labels:
        if not isinstance(value, frozenset):
            raise ValueError(f"{distance} distance needs frozenset values, got {value!r}")
    # Each set as a bit mask over the source names (one uint64 word per 64
    # names), so intersections of millions of pairs are ANDs and popcounts.
    source_names = dict.fromkeys(name for value in value_labels for name in value)
    names = {name: bit for bit, name in enumerate(source_names)}
    masks = np.zeros((len(value_labels), len(names) // 64 + 1), dtype=np.uint64)
    for code, value in enumerate(value_labels):
        for name in value:
            word, bit = divmod(names[name], 64)
            masks[code, word] |= np.uint64(1 << bit)
    size = _popcount(masks).sum(axis=1)

    def set_distance(g: np.ndarray, c: np.ndarray, k: np.ndarray) -> np.ndarray:
        shared = _popcount(masks[c] & masks[k]).sum(axis=-1)
        union = size[c] + size[k] - shared  # > 0: c and k are different sets
        similarity = shared / union
        if distance == "masi":
            subset = shared == np.minimum(size[c], size[k])
            similarity *= np.where(subset, 2 / 3, 1 / 3)
        return 1.0 - similarity

    return set_distance


def _byte_popcount(words: np.ndarray) -> np.ndarray:
    """Number of set bits in each uint64, for numpy < 2.0 (no ``bitwise_count``)."""
    as_bytes = words.view(np.uint8).reshape(*words.shape, 8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=-1)


_BYTE_POPCOUNT = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.uint8)
_popcount = getattr(np, "bitwise_count", _byte_popcount)


def _pairs_within(run: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Index pairs ``i < j`` with ``run[i] == run[j]``, for ``run`` sorted, in chunks.

    Chunked by ``_PAIR_BUDGET`` because one group may hold thousands of
    distinct values (source sets), whose pairs would not fit in memory at once.
    """
    size = len(run)
    if size < 2:
        return
    run_end = np.append(np.flatnonzero(run[1:] != run[:-1]) + 1, size)
    end = np.repeat(run_end, np.diff(run_end, prepend=0))
    partners = end - np.arange(size) - 1
    cumulative = np.cumsum(partners)
    start = 0
    while start < size:
        before = cumulative[start - 1] if start else 0
        stop = max(int(np.searchsorted(cumulative, before + _PAIR_BUDGET, side="right")), start + 1)
        counts = partners[start:stop]
        total = int(counts.sum())
        if total:
            i = np.repeat(np.arange(start, stop), counts)
            offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            yield i, i + 1 + offset
        start = stop


def _kappa(n: int, agree: int, chance: int) -> float | None:
    """Kappa from integer counts: chance is sum over values of count_a * count_b.

    kappa = (p_o - p_e) / (1 - p_e) with p_o = agree/n, p_e = chance/n**2,
    rearranged over integers so "p_e is exactly 1" is an exact test.
    """
    if n == 0 or n * n == chance:
        return None
    return (agree * n - chance) / (n * n - chance)
