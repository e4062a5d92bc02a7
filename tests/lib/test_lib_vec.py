"""Behaviour of cloudvol.lib.Vec."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from cloudvol.lib import Vec, floating


def test_integer_components_give_int64():
    v = Vec(1, 2, 3)
    assert v.dtype == np.int64
    assert isinstance(v, np.ndarray)
    assert v.shape == (3,)


def test_any_python_float_gives_float64():
    assert Vec(1, 2.5, 3).dtype == np.float64
    assert Vec(1, np.float64(2), 3).dtype == np.float64


def test_numpy_float32_component_is_not_a_python_float():
    # CloudVolume's inference rule: only Python floats (and float64, a float subclass)
    # switch the dtype; float32 values are cast to int64.
    assert Vec(np.float32(2.7), 1).dtype == np.int64
    assert Vec(np.float32(2.7), 1).tolist() == [2, 1]


def test_explicit_dtype_wins():
    v = Vec(1, 2, 3, dtype=np.float32)
    assert v.dtype == np.float32
    assert Vec(1.9, -1.9, dtype=int).tolist() == [1, -1]


def test_repr_matches_cloudvolume():
    assert repr(Vec(1, 2, 3)) == "Vec(1,2,3, dtype=int64)"
    assert repr(Vec(1.5, 2, 3)) == "Vec(1.5,2.0,3.0, dtype=float64)"


def test_named_components_read_and_write():
    v = Vec(1, 2, 3, 4)
    assert (v.x, v.y, v.z, v.w) == (1, 2, 3, 4)
    assert (v.r, v.g, v.b, v.a) == (1, 2, 3, 4)
    v.x = 10
    v.b = 30
    v.w = 40
    assert v.tolist() == [10, 2, 30, 40]


def test_arithmetic_stays_a_vec():
    v = Vec(1, 2, 3) + 1
    assert isinstance(v, Vec)
    assert v.tolist() == [2, 3, 4]
    assert isinstance(Vec(1, 2, 3)[:2], Vec)


def test_clone_is_an_independent_copy():
    v = Vec(1, 2, 3)
    c = v.clone()
    c.x = 99
    assert v.x == 1
    assert c.dtype == v.dtype
    assert isinstance(c, Vec)


def test_length_dot_and_rect_volume():
    assert Vec(3, 4).length() == 5.0
    assert Vec(3, 4).length2() == 25
    assert Vec(1, 2, 3).dot(Vec(4, 5, 6)) == 32
    assert Vec(2, 3, 4).rectVolume() == 24


def test_null_means_near_zero_length():
    assert Vec(0, 0, 0).null()
    assert Vec(0.0, 1e-9, 0.0).null()
    assert not Vec(0, 1, 0).null()


def test_clamp_limits_each_component():
    clamped = Vec.clamp(Vec(1, 5, 9), Vec(2, 2, 2), Vec(6, 6, 6))
    assert isinstance(clamped, Vec)
    assert clamped.tolist() == [2, 5, 6]


def test_equal_vecs_hash_equal_including_negatives_and_floats():
    assert hash(Vec(1, -2, 3)) == hash(Vec(1, -2, 3))
    assert hash(Vec(0.5, 1.5)) == hash(Vec(0.5, 1.5))


def test_vec_pickles_as_vec():
    v = pickle.loads(pickle.dumps(Vec(1, 2, 3)))
    assert isinstance(v, Vec)
    assert v.tolist() == [1, 2, 3]


def test_vec_rejects_a_sequence_argument_with_a_hint():
    with pytest.raises(ValueError, match=r"Vec\(\*seq\)"):
        Vec([1, 2, 3], [4, 5, 6])


def test_floating_counts_python_floats_only():
    assert floating([1, 2.0])
    assert floating([np.float64(1)])
    assert not floating([1, np.float32(2)])
    assert not floating([])
