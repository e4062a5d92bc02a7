"""Property-based tests of Bbox geometry (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import OutOfBoundsError
from cloudvol.lib import Bbox

coord = st.integers(-1000, 1000)
extent = st.integers(0, 300)
chunk = st.tuples(*[st.integers(1, 128)] * 3)
offset = st.tuples(*[st.integers(-200, 200)] * 3)

FAST = settings(max_examples=150, deadline=None)


@st.composite
def boxes(draw, min_extent=0):
    lo = draw(st.tuples(coord, coord, coord))
    size = draw(st.tuples(*[st.integers(min_extent, 300)] * 3))
    return Bbox(lo, [a + s for a, s in zip(lo, size, strict=True)])


@st.composite
def index_expressions(draw, box):
    """Random x, y, z index expressions near ``box`` (scalars, slices, Ellipsis)."""
    parts = []
    for axis in range(draw(st.integers(0, 3))):
        lo, hi = int(box.minpt[axis]), int(box.maxpt[axis])
        near = st.integers(lo - 20, hi + 20)
        if draw(st.booleans()):
            parts.append(draw(near))
        else:
            start = draw(st.none() | near)
            stop = draw(st.none() | near)
            step = draw(st.none() | st.integers(1, 3))
            parts.append(slice(start, stop, step))
    if parts and draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), Ellipsis)
    return tuple(parts)


def _aligned(values, cs, off):
    return all((v - o) % c == 0 for v, c, o in zip(values, cs, off, strict=True))


@FAST
@given(boxes(), boxes())
def test_intersection_is_commutative_and_within_both(a, b):
    ab, ba = Bbox.intersection(a, b), Bbox.intersection(b, a)
    assert ab == ba
    if Bbox.intersects(a, b):
        assert a.contains_bbox(ab) and b.contains_bbox(ab)
        if a.volume() > 0 and b.volume() > 0:
            assert ab.volume() > 0
    else:
        assert ab == Bbox((0, 0, 0), (0, 0, 0))


@FAST
@given(boxes(), boxes(), boxes())
def test_expand_contains_every_argument(a, b, c):
    union = Bbox.expand(a, b, c)
    assert union.contains_bbox(a) and union.contains_bbox(b) and union.contains_bbox(c)
    assert union.minpt.tolist() == np.minimum.reduce([a.minpt, b.minpt, c.minpt]).tolist()


@FAST
@given(boxes(), chunk, offset)
def test_expand_to_chunk_size_is_the_smallest_aligned_cover(box, cs, off):
    grown = box.expand_to_chunk_size(cs, off)
    assert grown.contains_bbox(box)
    assert _aligned(grown.minpt, cs, off) and _aligned(grown.maxpt, cs, off)
    assert np.all(box.minpt - grown.minpt < cs)
    assert np.all(grown.maxpt - box.maxpt < cs)
    assert grown.is_chunk_aligned(cs, off)


@FAST
@given(boxes(), chunk, offset)
def test_shrink_to_chunk_size_is_aligned_and_inside(box, cs, off):
    shrunk = box.shrink_to_chunk_size(cs, off)
    assert _aligned(shrunk.minpt, cs, off) and _aligned(shrunk.maxpt, cs, off)
    assert shrunk.valid()
    assert np.all(shrunk.minpt - box.minpt < cs) and np.all(shrunk.minpt >= box.minpt)
    fits = all(
        math.ceil((lo - o) / c) <= math.floor((hi - o) / c)
        for lo, hi, c, o in zip(box.minpt.tolist(), box.maxpt.tolist(), cs, off, strict=True)
    )
    if fits:
        assert box.contains_bbox(shrunk)
        assert np.all(box.maxpt - shrunk.maxpt < cs)
    else:
        # no whole cell fits on some axis: the box collapses to its aligned min point
        assert np.array_equal(shrunk.minpt, shrunk.maxpt)


@FAST
@given(boxes(), chunk, offset)
def test_round_to_chunk_size_moves_faces_at_most_half_a_chunk(box, cs, off):
    rounded = box.round_to_chunk_size(cs, off)
    assert _aligned(rounded.minpt, cs, off) and _aligned(rounded.maxpt, cs, off)
    half = np.asarray(cs) / 2
    assert np.all(np.abs(rounded.minpt - box.minpt) <= half)
    assert np.all(np.abs(rounded.maxpt - box.maxpt) <= half)


@FAST
@given(boxes(), st.sampled_from(["", ".gz", ".br", ".zstd"]), st.sampled_from(["", "dir/4_4_40/"]))
def test_to_filename_from_filename_round_trip(box, suffix, prefix):
    assert Bbox.from_filename(prefix + box.to_filename() + suffix) == box


@FAST
@given(
    st.lists(st.integers(-10_000, 10_000), min_size=6, max_size=6).map(
        lambda v: Bbox(np.array(v[:3]) / 4, np.array(v[3:]) / 4, dtype=np.float64)
    ),
    st.integers(2, 4),
)
def test_float_to_filename_from_filename_round_trip(box, precision):
    name = box.to_filename(precision=precision)
    assert Bbox.from_filename(name, dtype=np.float64) == box


@FAST
@given(boxes())
def test_from_slices_to_slices_round_trip(box):
    assert Bbox.from_slices(box.to_slices()) == box
    assert Bbox.create(box.to_slices()) == box


@FAST
@given(boxes())
def test_serialize_round_trip(box):
    restored = Bbox.deserialize(box.serialize())
    assert restored == box and restored.dtype == box.dtype


@FAST
@given(st.data(), boxes(min_extent=1))
def test_reify_slices_lands_in_bounds_when_bounded(data, box):
    expr = data.draw(index_expressions(box))
    try:
        slices = box.reify_slices(expr, bounded=True)
    except OutOfBoundsError:
        return
    for axis, slc in enumerate(slices):
        assert box.minpt[axis] <= slc.start <= box.maxpt[axis]
        assert box.minpt[axis] <= slc.stop <= box.maxpt[axis]
        assert slc.step >= 1


@FAST
@given(st.data(), boxes(min_extent=1))
def test_reify_slices_autocrop_never_leaves_the_box(data, box):
    expr = data.draw(index_expressions(box))
    slices = box.reify_slices(expr, bounded=False, autocrop=True)
    assert len(slices) == 3
    cropped = Bbox.from_slices([slice(s.start, s.stop) for s in slices])
    assert box.contains_bbox(cropped)


@FAST
@given(
    st.tuples(*[st.integers(-(2**40), 2**40)] * 3),
    st.tuples(*[st.integers(0, 2**20)] * 3),
)
def test_volume_equals_product_of_size(lo, size):
    box = Bbox(lo, [a + s for a, s in zip(lo, size, strict=True)], dtype=np.int64)
    assert box.volume() == math.prod(int(v) for v in box.size3())
    assert isinstance(box.volume(), int)


@FAST
@given(boxes(), st.tuples(*[st.integers(1, 64)] * 3))
def test_voxel_nanometre_round_trip(box, resolution):
    nm = box.convert_units("nm", resolution=resolution)
    assert nm.convert_units("vx", resolution=resolution) == box


@FAST
@given(boxes(), boxes())
def test_contains_bbox_agrees_with_intersection(a, b):
    if a.contains_bbox(b) and b.volume() > 0:
        assert Bbox.intersection(a, b) == b
