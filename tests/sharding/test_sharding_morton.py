"""Compressed Morton codes: the spec's examples, round trips, and agreement with
cloud-volume's implementation (property-based)."""

from __future__ import annotations

import numpy as np
import pytest
from cloudvolume.datasource.precomputed.common import compressed_morton_code as cv_code
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.datasource.precomputed.common import compressed_morton_code
from cloudvol.precomputed.morton import MortonCoder, axis_bits, morton_code_to_gridpt


@pytest.mark.parametrize(
    ("grid", "point", "code"),
    [((3, 5, 2), (2, 4, 1), 44), ((3, 5, 2), (1, 0, 0), 1), ((3, 5, 2), (0, 1, 0), 2),
     ((3, 5, 2), (0, 0, 1), 4), ((8, 8, 8), (5, 3, 7), 375), ((1, 1, 1), (0, 0, 0), 0)],
)  # fmt: skip
def test_reference_examples(grid, point, code):
    assert compressed_morton_code(point, grid) == code
    assert MortonCoder(grid).encode(*point) == code
    assert tuple(morton_code_to_gridpt(code, grid)) == point


def test_axis_bits_is_bit_length_of_grid_minus_one():
    assert axis_bits((1, 2, 3)) == (0, 1, 2)
    assert axis_bits((4, 5, 1024)) == (2, 3, 10)


def test_points_outside_the_grid_and_oversized_grids_raise():
    with pytest.raises(ValueError, match="inside the grid"):
        compressed_morton_code((3, 0, 0), (3, 5, 2))
    with pytest.raises(ValueError, match="64"):
        MortonCoder((2**22, 2**22, 2**22))
    assert MortonCoder((2**21, 2**21, 2**22)).total_bits == 64


def test_single_point_is_a_scalar_and_many_an_array():
    assert np.ndim(compressed_morton_code([1, 2, 0], (4, 4, 4))) == 0
    many = compressed_morton_code([[1, 2, 0], [3, 3, 3]], (4, 4, 4))
    assert many.dtype == np.uint64 and many.shape == (2,)


grids = st.tuples(*[st.integers(1, 2**20)] * 3).filter(lambda g: sum(axis_bits(g)) <= 64)


@st.composite
def grid_and_points(draw):
    grid = draw(grids)
    n = draw(st.integers(1, 20))
    pts = [tuple(draw(st.integers(0, g - 1)) for g in grid) for _ in range(n)]
    return grid, np.asarray(pts, dtype=np.int64)


@settings(max_examples=300, deadline=None)
@given(grid_and_points())
def test_encode_decode_round_trip_and_scalar_vector_agree(case):
    grid, pts = case
    coder = MortonCoder(grid)
    codes = coder.encode_many(pts)
    assert codes.tolist() == [coder.encode(*p) for p in pts.tolist()]
    np.testing.assert_array_equal(coder.decode_many(codes), pts)
    assert [coder.decode(c) for c in codes.tolist()] == [tuple(p) for p in pts.tolist()]
    assert all(c < 2**coder.total_bits for c in codes.tolist())


@settings(max_examples=200, deadline=None)
@given(grid_and_points())
def test_codes_match_cloudvolume(case):
    grid, pts = case
    expected = np.atleast_1d(cv_code(pts, grid))
    np.testing.assert_array_equal(compressed_morton_code(pts, grid), expected)


@settings(max_examples=100, deadline=None)
@given(st.tuples(*[st.integers(1, 12)] * 3))
def test_codes_of_a_grid_are_a_permutation_of_0_to_n_when_grid_is_a_power_of_two(grid):
    pow2 = tuple(1 << (g.bit_length() - 1) for g in grid)
    coder = MortonCoder(pow2)
    cells = np.stack(np.meshgrid(*[np.arange(g) for g in pow2], indexing="ij"), -1).reshape(-1, 3)
    codes = np.sort(coder.encode_many(cells))
    np.testing.assert_array_equal(codes, np.arange(len(cells), dtype=np.uint64))
