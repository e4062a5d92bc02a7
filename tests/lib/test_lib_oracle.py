"""Differential tests: cloudvol.lib against cloudvolume.lib (the installed oracle).

Each test runs one operation on the same random input with both libraries and
compares results. Inputs stay inside the region where CloudVolume's behaviour is the
contract; the places where cloudvol deliberately differs are covered by behaviour
tests in the other files.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cloudvol.lib as ours

theirs = pytest.importorskip("cloudvolume.lib")

FAST = settings(max_examples=120, deadline=None)

coord = st.integers(-500, 500)
size = st.integers(0, 200)
chunk = st.tuples(*[st.integers(1, 100)] * 3)
offset = st.tuples(*[st.integers(-100, 100)] * 3)


@st.composite
def corners(draw, ndim=3, min_extent=0):
    lo = draw(st.tuples(*[coord] * ndim))
    extent = draw(st.tuples(*[st.integers(min_extent, 200)] * ndim))
    return lo, tuple(a + e for a, e in zip(lo, extent, strict=True))


def both(lo, hi, **kwargs):
    return ours.Bbox(lo, hi, **kwargs), theirs.Bbox(lo, hi, **kwargs)


def same_box(mine, oracle, check_dtype=True):
    assert mine.minpt.tolist() == oracle.minpt.tolist()
    assert mine.maxpt.tolist() == oracle.maxpt.tolist()
    assert mine.unit == oracle.unit
    if check_dtype:
        assert mine.dtype == oracle.dtype


def outcome(fn):
    """("ok", value) or ("ValueError", exception class name) for a call."""
    try:
        return "ok", fn()
    except ValueError as error:
        return "ValueError", type(error).__name__


# --- reify_slices -------------------------------------------------------------------


@st.composite
def reify_case(draw, ndims=(3, 4)):
    ndim = draw(st.sampled_from(ndims))
    lo, hi = draw(corners(ndim=ndim, min_extent=1))
    count = draw(st.integers(0, ndim))
    ellipsis_at = draw(st.none() | st.integers(0, count))
    # The axis each explicit part lands on: after an Ellipsis, parts align to the end.
    if ellipsis_at is None:
        axes = list(range(count))
    else:
        axes = list(range(ellipsis_at)) + list(range(ndim - (count - ellipsis_at), ndim))
    parts = []
    for axis in axes:
        near = st.integers(lo[axis] - 15, hi[axis] + 15)
        if draw(st.booleans()):
            # CloudVolume bounds-checks scalars only when the whole key is one scalar;
            # cloudvol checks every scalar (§5). Compare on in-bounds scalars.
            parts.append(draw(st.integers(lo[axis], hi[axis] - 1)))
        else:
            step = draw(st.none() | st.integers(1, 4))
            parts.append(slice(draw(st.none() | near), draw(st.none() | near), step))
    if ellipsis_at is not None:
        parts.insert(ellipsis_at, Ellipsis)
    key = tuple(parts)
    if len(parts) == 1 and draw(st.booleans()):
        key = parts[0]
    return lo, hi, key


@FAST
@given(reify_case(), st.booleans(), st.booleans())
def test_reify_slices_matches_cloudvolume(case, bounded, autocrop):
    lo, hi, key = case
    mine, oracle = both(lo, hi)
    expected = outcome(lambda: oracle.reify_slices(key, bounded=bounded, autocrop=autocrop))
    actual = outcome(lambda: mine.reify_slices(key, bounded=bounded, autocrop=autocrop))
    assert actual == expected


@FAST
@given(st.data(), corners(min_extent=1))
def test_reify_single_scalar_matches_cloudvolume(data, box):
    lo, hi = box
    value = data.draw(st.integers(lo[0] - 5, hi[0] + 5) | st.floats(lo[0] - 5, hi[0] + 5))
    mine, oracle = both(lo, hi)
    for kwargs in ({}, {"bounded": False}, {"bounded": False, "autocrop": True}):
        expected = outcome(lambda kw=kwargs: oracle.reify_slices(value, **kw))
        assert outcome(lambda kw=kwargs: mine.reify_slices(value, **kw)) == expected


@FAST
@given(reify_case(ndims=(3,)), st.booleans())
def test_from_slices_with_context_matches_cloudvolume(case, autocrop):
    lo, hi, key = case
    mine, oracle = both(lo, hi)
    try:
        expected = theirs.Bbox.from_slices(key, context=oracle, bounded=True, autocrop=autocrop)
    except ValueError:
        with pytest.raises(ValueError):
            ours.Bbox.from_slices(key, context=mine, bounded=True, autocrop=autocrop)
        return
    same_box(ours.Bbox.from_slices(key, context=mine, bounded=True, autocrop=autocrop), expected)


# --- the chunk grid ------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", ["expand_to_chunk_size", "shrink_to_chunk_size", "round_to_chunk_size"]
)
@FAST
@given(box=corners(), cs=chunk, off=offset, dtype=st.sampled_from([None, np.int64]))
def test_chunk_alignment_matches_cloudvolume(method, box, cs, off, dtype):
    mine, oracle = both(*box, dtype=dtype)
    same_box(getattr(mine, method)(cs, off), getattr(oracle, method)(cs, off))
    assert mine.is_chunk_aligned(cs, off) == bool(oracle.is_chunk_aligned(cs, off))


@FAST
@given(
    st.lists(st.integers(-4000, 4000), min_size=6, max_size=6),
    chunk,
    offset,
)
def test_float_box_alignment_matches_cloudvolume(values, cs, off):
    lo = tuple(v / 8 for v in values[:3])
    hi = tuple(v / 8 for v in values[3:])
    mine, oracle = both(lo, hi)
    for method in ("expand_to_chunk_size", "shrink_to_chunk_size", "round_to_chunk_size"):
        same_box(getattr(mine, method)(cs, off), getattr(oracle, method)(cs, off))


@FAST
@given(corners(), chunk)
def test_num_chunks_matches_cloudvolume(box, cs):
    mine, oracle = both(*box)
    assert mine.num_chunks(cs) == oracle.num_chunks(cs)


# --- combining boxes ------------------------------------------------------------------


@FAST
@given(corners(), corners())
def test_intersection_and_predicates_match_cloudvolume(a, b):
    mine_a, oracle_a = both(*a)
    mine_b, oracle_b = both(*b)
    same_box(ours.Bbox.intersection(mine_a, mine_b), theirs.Bbox.intersection(oracle_a, oracle_b))
    assert ours.Bbox.intersects(mine_a, mine_b) == bool(theirs.Bbox.intersects(oracle_a, oracle_b))
    assert mine_a.overlaps_bbox(mine_b) == bool(oracle_a.overlaps_bbox(oracle_b))
    assert mine_a.contains_bbox(mine_b) == bool(oracle_a.contains_bbox(oracle_b))
    assert mine_a.contains(mine_b.minpt) == bool(oracle_a.contains(oracle_b.minpt))
    same_box(ours.Bbox.expand(mine_a, mine_b), theirs.Bbox.expand(oracle_a, oracle_b))
    same_box(
        ours.Bbox.clamp(mine_a, mine_b), theirs.Bbox.clamp(oracle_a, oracle_b), check_dtype=False
    )


@FAST
@given(corners(), st.integers(-50, 50) | st.tuples(*[st.integers(-50, 50)] * 3))
def test_integer_arithmetic_matches_cloudvolume(box, operand):
    mine, oracle = both(*box)
    # CloudVolume's `+` leaves the reported dtype stale (int32 after adding an int64
    # vector); cloudvol reports the corners' real dtype, so compare values only here.
    same_box(mine + operand, oracle + operand, check_dtype=False)
    same_box(mine - operand, oracle - operand)
    same_box(mine * operand, oracle * operand)
    divisor = operand if np.all(np.asarray(operand) != 0) else 7
    same_box(mine // divisor, oracle // divisor)
    mine_copy, oracle_copy = mine.clone(), oracle.clone()
    mine_copy /= divisor
    oracle_copy /= divisor
    same_box(mine_copy, oracle_copy)
    other_lo, other_hi = box[1], tuple(v + 3 for v in box[1])
    same_box(mine - ours.Bbox(other_lo, other_hi), oracle - theirs.Bbox(other_lo, other_hi))


@FAST
@given(
    st.lists(st.integers(-4000, 4000), min_size=6, max_size=6),
    st.sampled_from([2, -4, 0.5, 0.25]) | st.tuples(*[st.sampled_from([1, 2, -4, 0.5])] * 3),
)
def test_float_division_matches_cloudvolume(values, divisor):
    # CloudVolume's `/` on an integer box truncates before turning float
    # ((0, 0, 0)-(3, 5, 7) / 2 gives maxpt 1.0, 2.0, 3.0); cloudvol divides exactly, so
    # compare on float boxes and power-of-two divisors, where both are exact.
    mine, oracle = both([v / 8 for v in values[:3]], [v / 8 for v in values[3:]])
    same_box(mine / divisor, oracle / divisor)
    same_box(mine // divisor, oracle // divisor)
    mine_copy, oracle_copy = mine.clone(), oracle.clone()
    mine_copy /= divisor
    oracle_copy /= divisor
    same_box(mine_copy, oracle_copy)


@FAST
@given(corners(), corners())
def test_measures_match_cloudvolume(a, b):
    mine, oracle = both(*a)
    assert mine.volume() == oracle.volume()
    assert mine.size().tolist() == oracle.size().tolist()
    assert mine.center().tolist() == oracle.center().tolist()
    assert mine.subvoxel() == bool(oracle.subvoxel())
    assert mine.empty() == bool(oracle.empty())
    assert mine.to_slices() == oracle.to_slices()
    assert mine.to_dict() == oracle.to_dict()
    assert repr(mine) == repr(oracle)
    assert (mine == ours.Bbox(*b)) == (oracle == theirs.Bbox(*b))


# --- names -------------------------------------------------------------------------------


@FAST
@given(corners(), st.sampled_from(["", ".gz", ".br", ".zstd"]), st.sampled_from(["", "a/b/"]))
def test_from_filename_matches_cloudvolume(box, suffix, prefix):
    name = prefix + ours.Bbox(*box).to_filename() + suffix
    same_box(ours.Bbox.from_filename(name), theirs.Bbox.from_filename(name))


@FAST
@given(
    st.lists(st.integers(-40_000, 40_000), min_size=6, max_size=6),
    st.sampled_from([np.float64, int]),
)
def test_decimal_from_filename_matches_cloudvolume(values, dtype):
    # CloudVolume parses decimals only when the name has a suffix after them.
    name = "{}-{}_{}-{}_{}-{}.gz".format(*(f"{v / 100:.2f}" for v in values))
    same_box(
        ours.Bbox.from_filename(name, dtype=dtype), theirs.Bbox.from_filename(name, dtype=dtype)
    )


@FAST
@given(st.text("0123456789-_.gzbr", max_size=24))
def test_filename_rejection_matches_cloudvolume(name):
    assert (ours.FILENAME_RE.search(name) is None) == (theirs.FILENAME_RE.search(name) is None)


@FAST
@given(
    st.lists(st.integers(-100_000, 100_000), min_size=6, max_size=6),
    st.sampled_from([None, 1, 2, 3, 5]),
    st.sampled_from([None, np.float32, np.float64]),
)
def test_to_filename_matches_cloudvolume(values, precision, dtype):
    lo = [v / 16 if dtype else v for v in values[:3]]
    hi = [v / 16 if dtype else v for v in values[3:]]
    mine, oracle = both(lo, hi, dtype=dtype)
    assert mine.to_filename(precision) == oracle.to_filename(precision)


# --- units ----------------------------------------------------------------------------------


@FAST
@given(
    corners(),
    st.tuples(*[st.integers(1, 64)] * 3)
    | st.tuples(*[st.sampled_from([0.5, 4.0, 7.25, 40.0])] * 3),
)
def test_convert_units_between_voxels_and_nanometres_matches_cloudvolume(box, resolution):
    mine, oracle = both(*box)
    same_box(mine.convert_units("nm", resolution), oracle.convert_units("nm", resolution))
    mine_nm, oracle_nm = both(*box, unit="nm")
    same_box(mine_nm.convert_units("vx", resolution), oracle_nm.convert_units("vx", resolution))
    same_box(mine.convert_units("vx"), oracle.convert_units("vx"))


@FAST
@given(
    corners(),
    st.sampled_from(list(ours.UNIT_SCALES)),
    st.sampled_from(list(ours.UNIT_SCALES)),
)
def test_convert_units_between_lengths_matches_cloudvolume(box, source, target):
    mine, oracle = both(*box, unit=source)
    converted, expected = mine.convert_units(target), oracle.convert_units(target)
    assert converted.unit == expected.unit and converted.dtype == expected.dtype
    np.testing.assert_allclose(converted.minpt, expected.minpt, rtol=1e-6)
    np.testing.assert_allclose(converted.maxpt, expected.maxpt, rtol=1e-6)


# --- helpers -----------------------------------------------------------------------------------


@FAST
@given(st.tuples(*[st.integers(1, 5000)] * 3), st.tuples(*[st.integers(1, 512)] * 3))
def test_find_closest_divisor_matches_cloudvolume(sizes, targets):
    assert ours.find_closest_divisor(sizes, targets) == theirs.find_closest_divisor(sizes, targets)


@FAST
@given(st.integers(0, 100_000))
def test_divisors_match_cloudvolume_as_a_set(n):
    assert set(ours.divisors(n)) == set(theirs.divisors(n))


@FAST
@given(
    st.tuples(*[st.integers(-3, 3)] * 3),
    st.tuples(*[st.integers(-3, 6)] * 3),
    st.tuples(*[st.integers(1, 3)] * 3) | st.tuples(*[st.sampled_from([0.5, 1, 0.1, 1.5])] * 3),
)
def test_xyzrange_matches_cloudvolume(start, end, stride):
    mine = list(ours.xyzrange(start, end, stride))
    oracle = list(theirs.xyzrange(start, end, stride))
    assert [v.tolist() for v in mine] == [v.tolist() for v in oracle]
    assert [v.dtype for v in mine] == [v.dtype for v in oracle]
    one_arg = [v.tolist() for v in ours.xyzrange(end)]
    assert one_arg == [v.tolist() for v in theirs.xyzrange(end)]


@FAST
@given(
    st.lists(st.integers(-1000, 1000), min_size=3, max_size=3),
    st.lists(st.integers(-1000, 1000), min_size=3, max_size=3),
)
def test_min2_max2_match_cloudvolume(a, b):
    for vec_a in (ours.Vec(*a), np.array(a, dtype=np.int32)):
        ours_min = ours.min2(vec_a, np.array(b))
        theirs_min = theirs.min2(vec_a.view(np.ndarray), np.array(b))
        assert ours_min.tolist() == theirs_min.tolist() and ours_min.dtype == theirs_min.dtype
        assert (
            ours.max2(vec_a, np.array(b)).tolist()
            == theirs.max2(vec_a.view(np.ndarray), np.array(b)).tolist()
        )


@FAST
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), st.integers(1, 8))
def test_moving_average_matches_cloudvolume(values, n):
    a = np.array(values)
    np.testing.assert_allclose(
        ours.moving_average(a, n), theirs.moving_average(a, n), rtol=1e-9, atol=1e-6
    )


def test_constants_match_cloudvolume():
    assert ours.UNIT_SCALES == theirs.UNIT_SCALES
    assert ours.MACHINE_EPSILON == theirs.MACHINE_EPSILON
    assert ours.FILENAME_RE.pattern == theirs.FILENAME_RE.pattern
    assert ours.COLORS == theirs.COLORS
    for name in ("red", "yellow", "green"):
        assert getattr(ours, name)("text") == getattr(theirs, name)("text")
    assert ours.jsonify({"a": np.arange(3)}) == theirs.jsonify({"a": np.arange(3)})
