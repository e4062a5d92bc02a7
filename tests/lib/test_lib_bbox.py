"""Behaviour of cloudvol.lib.Bbox (construction, measures, grid, arithmetic, units)."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest

from cloudvol.exceptions import OutOfBoundsError
from cloudvol.lib import FILENAME_RE, Bbox, Vec

# --- construction ---------------------------------------------------------------


def test_corners_are_sorted_per_axis():
    b = Bbox((10, 0, 5), (0, 10, 1))
    assert b.minpt.tolist() == [0, 0, 1]
    assert b.maxpt.tolist() == [10, 10, 5]


def test_default_dtype_is_int32_or_float32():
    assert Bbox((0, 0, 0), (1, 2, 3)).dtype == np.int32
    assert Bbox((0, 0, 0.5), (1, 2, 3)).dtype == np.float32
    assert Bbox((0, 0, 0), (1, 2, 3), dtype=np.int64).minpt.dtype == np.int64


def test_corners_are_vecs_and_properties_work():
    b = Bbox((1, 2, 3), (4, 6, 8), unit="nm")
    assert isinstance(b.minpt, Vec) and isinstance(b.maxpt, Vec)
    assert (b.dx, b.dy, b.dz) == (3, 4, 5)
    assert b.ndim == 3
    assert b.is_physical
    assert not Bbox((0, 0, 0), (1, 1, 1)).is_physical


def test_assigning_a_corner_keeps_it_a_vec():
    b = Bbox((0, 0, 0), (1, 1, 1))
    b.maxpt = [5, 6, 7]
    assert isinstance(b.maxpt, Vec)
    assert b.size().tolist() == [5, 6, 7]


def test_repr_matches_cloudvolume():
    assert (
        repr(Bbox((0, 0, 0), (1, 2, 3))) == "Bbox([0, 0, 0],[1, 2, 3], dtype=np.int32, unit='vx')"
    )
    assert (
        repr(Bbox((0.5, 0, 0), (1, 2, 3), unit="nm"))
        == "Bbox([0.5, 0.0, 0.0],[1.0, 2.0, 3.0], dtype=np.float32, unit='nm')"
    )


def test_create_accepts_every_region_form():
    expected = Bbox((0, 2, 4), (1, 3, 5))
    assert Bbox.create(expected) is expected
    assert Bbox.create([0, 2, 4, 1, 3, 5]) == expected
    assert Bbox.create((0, 2, 4, 1, 3, 5)) == expected
    assert Bbox.create(np.s_[0:1, 2:3, 4:5]) == expected
    assert Bbox.create([slice(0, 1), slice(2, 3), slice(4, 5)]) == expected
    assert Bbox.create("0-1_2-3_4-5") == expected
    assert Bbox.create(expected.to_dict()) == expected
    assert Bbox.create(Vec(1, 2, 3)) == Bbox((0, 0, 0), (1, 2, 3))


def test_create_rejects_unknown_types_with_type_error():
    with pytest.raises(TypeError, match="not a Bbox convertible type"):
        Bbox.create(3.5)
    with pytest.raises(TypeError):
        Bbox.create(np.array([0, 0, 0, 1, 1, 1]))


def test_create_with_context_autocrops():
    context = Bbox((0, 0, 0), (10, 10, 10))
    cropped = Bbox.create(Bbox((-5, 2, 2), (5, 20, 5)), context=context, autocrop=True)
    assert cropped == Bbox((0, 2, 2), (5, 10, 5))


def test_create_with_context_bounded_raises_out_of_bounds():
    context = Bbox((0, 0, 0), (10, 10, 10))
    with pytest.raises(OutOfBoundsError):
        Bbox.create(Bbox((-5, 2, 2), (5, 8, 5)), context=context, bounded=True)
    with pytest.raises(OutOfBoundsError):
        Bbox.create([0, 0, 0, 11, 1, 1], context=context, bounded=True)
    with pytest.raises(OutOfBoundsError):
        Bbox.create(np.s_[0:11, :, :], context=context, bounded=True)
    assert isinstance(OutOfBoundsError("x"), ValueError)


def test_create_slices_fill_open_ends_from_context():
    context = Bbox((0, 0, 0), (10, 20, 30), unit="vx")
    assert Bbox.create(np.s_[2:4], context=context) == Bbox((2, 0, 0), (4, 20, 30))


def test_from_slices_collapses_reversed_slice_at_start():
    assert Bbox.from_slices(np.s_[1:10, 10:1, 1:10]) == Bbox((1, 10, 1), (10, 10, 10))


def test_from_slices_rejects_steps_other_than_one():
    with pytest.raises(ValueError, match="Non-unitary"):
        Bbox.from_slices(np.s_[0:10:2, 0:10, 0:10])
    assert Bbox.from_slices(np.s_[0:10:1, 0:10, 0:10]) == Bbox((0, 0, 0), (10, 10, 10))


def test_from_slices_without_context_needs_closed_slices():
    with pytest.raises(ValueError, match="context"):
        Bbox.from_slices(np.s_[:, 0:1, 0:1])


def test_from_slices_takes_the_context_unit():
    context = Bbox((0, 0, 0), (100, 100, 100), unit="nm")
    assert Bbox.from_slices(np.s_[0:10, 0:10, 0:10], context=context).unit == "nm"


def test_from_list_splits_in_half():
    assert Bbox.from_list([1, 2, 3, 4, 5, 6]) == Bbox((1, 2, 3), (4, 5, 6))
    assert Bbox.from_list([1, 2, 3, 4]).ndim == 2


def test_from_vec_is_int64_from_origin():
    b = Bbox.from_vec(Vec(4, 5, 6))
    assert b == Bbox((0, 0, 0), (4, 5, 6))
    assert b.dtype == np.int64


def test_from_points_covers_every_point_voxel():
    b = Bbox.from_points([[1, 2, 3], [4, 5, 6], [0, 9, 3]])
    assert b == Bbox((0, 2, 3), (5, 10, 7))
    assert b.dtype == np.int64


def test_from_points_is_exact_for_large_integers():
    b = Bbox.from_points([[16_777_217, 0, 0]])
    assert b.minpt.x == 16_777_217


def test_from_delta_adds_the_size():
    assert Bbox.from_delta((1, 2, 3), (10, 10, 10)) == Bbox((1, 2, 3), (11, 12, 13))


@pytest.mark.parametrize(
    "name, expected",
    [
        ("0-1_2-3_4-5", Bbox((0, 2, 4), (1, 3, 5))),
        ("some/dir/0-64_64-128_0-64.gz", Bbox((0, 64, 0), (64, 128, 64))),
        ("-64-0_0-64_0-64.br", Bbox((-64, 0, 0), (0, 64, 64))),
        ("0-64_0-64_0-64.zstd", Bbox((0, 0, 0), (64, 64, 64))),
    ],
)
def test_from_filename_parses_chunk_names(name, expected):
    assert Bbox.from_filename(name) == expected
    assert Bbox.from_filename(name).dtype == np.int64


def test_from_filename_parses_decimal_names_without_suffix():
    b = Bbox.from_filename("0.5-1.5_2-3_4-5.25", dtype=np.float64)
    assert b.minpt.tolist() == [0.5, 2, 4]
    assert b.maxpt.tolist() == [1.5, 3, 5.25]


def test_from_filename_rejects_other_names():
    with pytest.raises(ValueError, match="Unable to decode"):
        Bbox.from_filename("info")
    with pytest.raises(ValueError):
        Bbox.from_filename("0-1_2-3_4-5.png")
    assert FILENAME_RE.search("0-1_2-3_4-5.gz")


def test_to_and_from_dict_and_serialize_round_trip():
    b = Bbox((0, 2, 4), (1, 3, 5))
    assert b.to_dict() == {"minpt": [0, 2, 4], "maxpt": [1, 3, 5], "dtype": "int32"}
    assert json.loads(b.serialize()) == b.to_dict()
    restored = Bbox.deserialize(b.serialize())
    assert restored == b
    assert restored.dtype == np.int32
    assert Bbox.from_dict({"minpt": [0, 0, 0], "maxpt": [1, 1, 1]}).dtype == np.float32


# --- measures and predicates ---------------------------------------------------


def test_volume_is_an_exact_python_int():
    v = Bbox((0, 0, 0), (2000, 2000, 2000)).volume()
    assert v == 8_000_000_000
    assert isinstance(v, int)


def test_float_volume_is_float():
    assert Bbox((0, 0, 0), (0.5, 2, 2)).volume() == pytest.approx(2.0)


def test_size_size3_and_center():
    b = Bbox((0, 0, 0, 0), (2, 4, 6, 3))
    assert b.size().tolist() == [2, 4, 6, 3]
    assert b.size3().tolist() == [2, 4, 6]
    assert b.volume() == 48
    assert Bbox((0, 0, 0), (2, 4, 5)).center().tolist() == [1.0, 2.0, 2.5]


def test_contains_includes_maxpt():
    b = Bbox((0, 0, 0), (10, 10, 10))
    assert b.contains((10, 10, 10))
    assert b.contains((0, 0, 0))
    assert not b.contains((10, 10, 11))
    assert not b.contains((-1, 0, 0))


def test_contains_bbox_and_overlaps_bbox_count_touching():
    b = Bbox((0, 0, 0), (10, 10, 10))
    assert b.contains_bbox(Bbox((0, 0, 0), (10, 10, 10)))
    assert not b.contains_bbox(Bbox((0, 0, 0), (11, 10, 10)))
    assert b.overlaps_bbox(Bbox((10, 0, 0), (20, 10, 10)))
    assert not b.overlaps_bbox(Bbox((11, 0, 0), (20, 10, 10)))


def test_intersects_is_strict_about_shared_faces():
    b = Bbox((0, 0, 0), (10, 10, 10))
    assert not Bbox.intersects(b, Bbox((10, 0, 0), (20, 10, 10)))
    assert Bbox.intersects(b, Bbox((9, 0, 0), (20, 10, 10)))


def test_intersection_without_overlap_is_the_zero_box():
    b = Bbox((0, 0, 0), (10, 10, 10))
    none = Bbox.intersection(b, Bbox((10, 0, 0), (20, 10, 10)))
    assert none == Bbox((0, 0, 0), (0, 0, 0))
    assert Bbox.intersection(b, Bbox((5, -5, 2), (50, 5, 3))) == Bbox((5, 0, 2), (10, 5, 3))


def test_intersection_keeps_float_coordinates_and_unit():
    a = Bbox((0.5, 0.5, 0.5), (10.5, 10.5, 10.5), unit="nm")
    c = Bbox.intersection(a, Bbox((1.25, 0, 0), (4, 4, 4), unit="nm"))
    assert c.minpt.tolist() == [1.25, 0.5, 0.5]
    assert c.unit == "nm"


def test_subvoxel_empty_and_valid():
    assert Bbox((0, 0, 0), (0, 1, 1)).subvoxel()
    assert Bbox((0, 0, 0), (0, 1, 1)).empty()
    assert not Bbox((0, 0, 0), (1, 1, 1)).subvoxel()
    assert Bbox((0, 0, 0), (0.5, 1, 1)).subvoxel()
    assert not Bbox((0, 0, 0), (0.5, 1, 1)).empty()
    inverted = Bbox((0, 0, 0), (1, 1, 1))
    inverted.maxpt = Vec(1, -1, -1, dtype=np.int32)
    assert not inverted.valid()
    assert inverted.subvoxel() and inverted.empty()
    assert not inverted.clone().valid()


def test_expand_is_the_union_in_first_dtype():
    a = Bbox((0, 0, 0), (1, 1, 1))
    b = Bbox((-5, 2, 0), (0, 9, 3), dtype=np.int64)
    union = Bbox.expand(a, b)
    assert union == Bbox((-5, 0, 0), (1, 9, 3))
    assert union.dtype == np.int32


def test_clamp_moves_corners_inside():
    assert Bbox.clamp(Bbox((-5, 5, 5), (15, 8, 15)), Bbox((0, 0, 0), (10, 10, 10))) == Bbox(
        (0, 5, 5), (10, 8, 10)
    )


def test_near_edge():
    a = Bbox((0, 0, 0), (10, 10, 10))
    assert Bbox.near_edge(a, Bbox((0, 5, 5), (3, 7, 7)))
    assert not Bbox.near_edge(a, Bbox((1, 1, 1), (9, 9, 9)))
    assert Bbox.near_edge(a, Bbox((1, 1, 1), (9, 9, 9)), distance=1)


# --- the chunk grid ----------------------------------------------------------------


def test_expand_to_chunk_size_grows_to_grid_lines_through_offset():
    b = Bbox((10, 70, 3), (20, 130, 4))
    assert b.expand_to_chunk_size((64, 64, 64)) == Bbox((0, 64, 0), (64, 192, 64))
    assert b.expand_to_chunk_size((64, 64, 64), offset=(3, 3, 3)) == Bbox((3, 67, 3), (67, 131, 67))


def test_shrink_to_chunk_size_collapses_to_a_point_when_nothing_fits():
    b = Bbox((10, 0, 0), (100, 128, 128))
    assert b.shrink_to_chunk_size((64, 64, 64)) == Bbox((64, 0, 0), (64, 128, 128))
    assert b.shrink_to_chunk_size((128, 64, 64)) == Bbox((128, 0, 0), (128, 0, 0))


def test_round_to_chunk_size_rounds_halves_to_even_cells():
    b = Bbox((32, 96, 20), (33, 97, 50))
    assert b.round_to_chunk_size((64, 64, 64)) == Bbox((0, 128, 0), (64, 128, 64))


def test_grid_alignment_keeps_dtype_and_unit():
    b = Bbox((1, 1, 1), (5, 5, 5), dtype=np.int64, unit="nm")
    for aligned in (
        b.expand_to_chunk_size((4, 4, 4)),
        b.shrink_to_chunk_size((4, 4, 4)),
        b.round_to_chunk_size((4, 4, 4)),
    ):
        assert aligned.dtype == np.int64
        assert aligned.unit == "nm"


def test_grid_alignment_of_float_boxes():
    b = Bbox((0.5, 0.5, 0.5), (7.5, 7.5, 7.5))
    assert b.expand_to_chunk_size((4, 4, 4)) == Bbox((0, 0, 0), (8, 8, 8))
    assert b.expand_to_chunk_size((4, 4, 4)).dtype == np.float32


def test_grid_alignment_rejects_non_positive_chunk_sizes():
    with pytest.raises(ValueError, match="positive"):
        Bbox((0, 0, 0), (1, 1, 1)).expand_to_chunk_size((0, 64, 64))


def test_is_chunk_aligned_allows_offset():
    assert Bbox((0, 0, 0), (128, 64, 64)).is_chunk_aligned((64, 64, 64))
    assert not Bbox((0, 0, 0), (100, 64, 64)).is_chunk_aligned((64, 64, 64))
    assert Bbox((5, 5, 5), (69, 69, 69)).is_chunk_aligned((64, 64, 64), offset=(5, 5, 5))


def test_num_chunks_rounds_up_per_axis():
    assert Bbox((0, 0, 0), (100, 64, 1)).num_chunks((64, 64, 64)) == 2
    assert Bbox((0, 0, 0), (129, 65, 64)).num_chunks((64, 64, 64)) == 6


# --- in-place resizing -----------------------------------------------------------


def test_grow_and_shrink_work_in_place_and_return_self():
    b = Bbox((10, 10, 10), (20, 20, 20))
    assert b.grow(2) is b
    assert b == Bbox((8, 8, 8), (22, 22, 22))
    assert b.shrink((1, 2, 3)) is b
    assert b == Bbox((9, 10, 11), (21, 20, 19))
    assert b.adjust(-1) == Bbox((10, 11, 12), (20, 19, 18))


def test_shrinking_below_zero_raises_and_leaves_box_unchanged():
    b = Bbox((0, 0, 0), (4, 4, 4))
    with pytest.raises(ValueError, match="below zero"):
        b.shrink(3)
    assert b == Bbox((0, 0, 0), (4, 4, 4))


def test_shrink_rejects_negative_amounts():
    with pytest.raises(ValueError):
        Bbox((0, 0, 0), (4, 4, 4)).shrink(-1)


def test_adjust_rejects_wrong_number_of_amounts():
    with pytest.raises(ValueError):
        Bbox((0, 0, 0), (4, 4, 4)).grow((1, 1))


# --- slices, lists and names ---------------------------------------------------------


def test_to_slices_and_to_list():
    b = Bbox((0, 2, 4), (1, 3, 5))
    assert b.to_slices() == (slice(0, 1), slice(2, 3), slice(4, 5))
    assert b.to_list() == [0, 2, 4, 1, 3, 5]
    assert all(type(v) is int for v in b.to_list())


def test_to_filename_with_and_without_precision():
    assert Bbox((0, 2, 4), (1, 3, 5)).to_filename() == "0-1_2-3_4-5"
    assert Bbox((-64, 0, 0), (0, 64, 64)).to_filename() == "-64-0_0-64_0-64"
    f = Bbox((0.5, 0, 0), (1.25, 1, 1))
    assert f.to_filename() == "0.5-1.25_0.0-1.0_0.0-1.0"
    assert f.to_filename(precision=1) == "0.5-1.2_0.0-1.0_0.0-1.0"
    assert f.to_filename(precision=3) == "0.500-1.250_0.000-1.000_0.000-1.000"


# --- copies -------------------------------------------------------------------------


def test_clone_is_independent():
    b = Bbox((0, 0, 0), (1, 1, 1), unit="nm")
    c = b.clone()
    c.minpt.x = -5
    assert b.minpt.x == 0
    assert c.unit == "nm" and c.dtype == b.dtype


def test_astype_changes_dtype_and_truncates():
    b = Bbox((0.7, -0.7, 0), (1.5, 1, 1)).astype(int)
    assert b.dtype == np.int64
    assert b.minpt.tolist() == [0, 0, 0]


def test_transpose_reverses_axes_and_keeps_dtype():
    b = Bbox((1, 2, 3), (4, 5, 6.5), unit="nm").transpose()
    assert b.minpt.tolist() == [3, 2, 1]
    assert b.maxpt.tolist() == [6.5, 5, 4]
    assert b.dtype == np.float32 and b.unit == "nm"


def test_pickle_and_deepcopy():
    b = Bbox((0, 1, 2), (3, 4, 5), unit="nm")
    for restored in (pickle.loads(pickle.dumps(b)), copy.deepcopy(b)):
        assert restored == b
        assert restored.dtype == b.dtype


# --- arithmetic ---------------------------------------------------------------------


def test_add_and_subtract_scalars_vectors_and_boxes():
    b = Bbox((0, 0, 0), (10, 10, 10))
    assert b + 1 == Bbox((1, 1, 1), (11, 11, 11))
    assert b + Vec(1, 2, 3) == Bbox((1, 2, 3), (11, 12, 13))
    assert b - (1, 2, 3) == Bbox((-1, -2, -3), (9, 8, 7))
    assert b + Bbox((1, 1, 1), (2, 2, 2)) == Bbox((1, 1, 1), (12, 12, 12))
    assert b - Bbox((1, 1, 1), (2, 2, 2)) == Bbox((-1, -1, -1), (8, 8, 8))
    assert Vec(1, 1, 1) + b == Bbox((1, 1, 1), (11, 11, 11))
    assert b == Bbox((0, 0, 0), (10, 10, 10))


def test_adding_a_float_makes_a_float_box_with_matching_dtype():
    b = Bbox((0, 0, 0), (1, 1, 1)) + 0.5
    assert b.minpt.tolist() == [0.5, 0.5, 0.5]
    assert b.dtype == b.minpt.dtype == np.float64


def test_multiplication_keeps_integers():
    b = Bbox((1, 2, 3), (4, 5, 6)) * 2
    assert b == Bbox((2, 4, 6), (8, 10, 12))
    assert b.dtype == np.int32
    assert 2 * Bbox((1, 1, 1), (2, 2, 2)) == Bbox((2, 2, 2), (4, 4, 4))
    assert (Bbox((1, 1, 1), (2, 2, 2)) * (1, 2, 3)) == Bbox((1, 2, 3), (2, 4, 6))


def test_true_division_gives_float64_and_floor_division_int64():
    b = Bbox((0, 0, 0), (3, 5, 7))
    half = b / 2
    assert half.dtype == np.float64
    assert half.maxpt.tolist() == [1.5, 2.5, 3.5]
    floored = b // 2
    assert floored.dtype == np.int64
    assert floored.maxpt.tolist() == [1, 2, 3]


def test_in_place_division_mutates_and_keeps_dtype():
    b = Bbox((0, 0, 0), (3, 5, 7))
    same = b
    b /= 2
    assert b is same
    assert b.dtype == np.int32
    assert b.maxpt.tolist() == [1, 2, 3]
    f = Bbox((0, 0, 0), (3.0, 5, 7))
    f /= 2
    assert f.maxpt.tolist() == [1.5, 2.5, 3.5]
    g = Bbox((0, 0, 0), (3, 5, 7))
    g //= 2
    assert g.maxpt.tolist() == [1, 2, 3]


def test_in_place_add_and_multiply():
    b = Bbox((0, 0, 0), (3, 5, 7))
    b += 1
    b *= 2
    b -= (2, 2, 2)
    assert b == Bbox((0, 0, 0), (6, 10, 14))


def test_negative_scaling_reflects_the_box():
    b = Bbox((1, 2, 3), (4, 5, 6))
    assert b * -1 == Bbox((-4, -5, -6), (-1, -2, -3))
    assert (b * -1).valid()
    assert (b / -2).valid() and (b // -2).valid()
    c = b.clone()
    c *= -1
    c //= -1
    assert c == b


def test_true_division_of_integer_box_is_exact():
    # CloudVolume truncated to the integer dtype before converting (maxpt 1.0, 2.0, 3.0).
    assert (Bbox((0, 0, 0), (3, 5, 7)) / 2).maxpt.tolist() == [1.5, 2.5, 3.5]


def test_multiplying_by_a_float_keeps_the_fraction():
    b = Bbox((0, 0, 0), (3, 5, 7)) * 0.5
    assert b.dtype == np.float64
    assert b.maxpt.tolist() == [1.5, 2.5, 3.5]


def test_multiplying_two_boxes_is_a_type_error():
    with pytest.raises(TypeError):
        Bbox((0, 0, 0), (1, 1, 1)) * Bbox((0, 0, 0), (1, 1, 1))


# --- equality and hashing -------------------------------------------------------------


def test_equality_compares_corners_and_unit_not_dtype():
    a = Bbox((0, 0, 0), (1, 1, 1))
    assert a == Bbox((0, 0, 0), (1, 1, 1), dtype=np.float64)
    assert a != Bbox((0, 0, 0), (1, 1, 1), unit="nm")
    assert a != Bbox((0, 0, 0), (1, 1, 2))
    assert a != "0-1_0-1_0-1"


def test_equal_boxes_hash_equal_including_negative_coordinates():
    a = Bbox((0, -1, 0), (1, 1, 1))
    assert hash(a) == hash(Bbox((0, -1, 0), (1, 1, 1), dtype=np.float64))
    assert len({a, a.clone(), Bbox((0, 0, 0), (1, 1, 1))}) == 2


# --- units ----------------------------------------------------------------------------


def test_voxels_to_nanometres_and_back():
    b = Bbox((1, 2, 3), (10, 20, 30))
    nm = b.convert_units("nm", resolution=(4, 4, 40))
    assert nm == Bbox((4, 8, 120), (40, 80, 1200), unit="nm")
    back = nm.convert_units("vx", resolution=(4, 4, 40))
    assert back == b
    assert back.dtype == np.int64


def test_physical_to_voxels_floors_both_faces():
    b = Bbox((5, 5, 5), (11, 11, 11), unit="nm")
    assert b.convert_units("vx", resolution=(4, 4, 4)) == Bbox((1, 1, 1), (2, 2, 2))


def test_physical_unit_conversion_is_float32():
    um = Bbox((0, 0, 0), (1000, 2000, 3500), unit="nm").convert_units("um")
    assert um.unit == "um"
    assert um.dtype == np.float32
    assert um.maxpt.tolist() == [1.0, 2.0, 3.5]


def test_micrometre_box_to_voxels_uses_resolution_unit():
    b = Bbox((0, 0, 0), (1, 1, 2), unit="um")
    assert b.convert_units("vx", resolution=(4, 4, 40)) == Bbox((0, 0, 0), (250, 250, 50))


def test_voxels_to_micrometres_uses_resolution_unit():
    b = Bbox((0, 0, 0), (250, 250, 50))
    um = b.convert_units("um", resolution=(4, 4, 40), resolution_unit="nm")
    assert um.unit == "um"
    assert um.maxpt.tolist() == [1.0, 1.0, 2.0]


def test_voxel_to_voxel_conversion_is_a_copy():
    b = Bbox((0, 0, 0), (1, 1, 1))
    c = b.convert_units("vx")
    assert c == b and c is not b


def test_unknown_unit_is_a_value_error():
    with pytest.raises(ValueError, match="Unknown length unit"):
        Bbox((0, 0, 0), (1, 1, 1), unit="nm").convert_units("furlong")
