"""Bbox.reify_slices: CloudVolume's indexing semantics (API reference §5)."""

from __future__ import annotations

import numpy as np
import pytest

from cloudvol.exceptions import OutOfBoundsError
from cloudvol.lib import Bbox

BOX = Bbox((0, 0, 0), (10, 20, 30))
VOLUME = Bbox((0, 0, 0, 0), (10, 20, 30, 3))  # x, y, z, channel


def s(*parts):
    return [slice(*p) for p in parts]


def test_open_slices_take_the_box_bounds():
    assert BOX.reify_slices(np.s_[:, :, :]) == s((0, 10, 1), (0, 20, 1), (0, 30, 1))


def test_results_are_python_numbers():
    result = BOX.reify_slices(np.s_[:, :, :])
    assert all(type(v) is int for slc in result for v in (slc.start, slc.stop, slc.step))


def test_missing_axes_are_full():
    assert BOX.reify_slices(np.s_[2:4]) == s((2, 4, 1), (0, 20, 1), (0, 30, 1))
    assert BOX.reify_slices(slice(2, 4)) == s((2, 4, 1), (0, 20, 1), (0, 30, 1))
    assert BOX.reify_slices(()) == s((0, 10, 1), (0, 20, 1), (0, 30, 1))


def test_scalar_keeps_its_axis():
    assert BOX.reify_slices(np.s_[5, 5, 5]) == s((5, 6, 1), (5, 6, 1), (5, 6, 1))
    assert BOX.reify_slices(5) == s((5, 6, 1), (0, 20, 1), (0, 30, 1))
    assert BOX.reify_slices(np.int64(5)) == s((5, 6, 1), (0, 20, 1), (0, 30, 1))
    assert BOX.reify_slices((np.uint8(1), 2.7, np.float32(3))) == s((1, 2, 1), (2, 3, 1), (3, 4, 1))


def test_ellipsis_expands_in_the_middle():
    assert VOLUME.reify_slices(np.s_[5:10, ..., 8, 0]) == s(
        (5, 10, 1), (0, 20, 1), (8, 9, 1), (0, 1, 1)
    )
    assert VOLUME.reify_slices(np.s_[..., 0]) == s((0, 10, 1), (0, 20, 1), (0, 30, 1), (0, 1, 1))
    assert BOX.reify_slices(Ellipsis) == s((0, 10, 1), (0, 20, 1), (0, 30, 1))


def test_two_ellipses_are_an_error():
    with pytest.raises(ValueError, match="Ellipsis"):
        VOLUME.reify_slices(np.s_[..., 0, ...])


def test_extra_axes_allowed_only_if_full_or_length_one():
    assert BOX.reify_slices(np.s_[:, :, :, :]) == s((0, 10, 1), (0, 20, 1), (0, 30, 1))
    assert BOX.reify_slices(np.s_[:, :, :, 0:1]) == s((0, 10, 1), (0, 20, 1), (0, 30, 1))
    assert BOX.reify_slices(np.s_[:, :, :, 0]) == s((0, 10, 1), (0, 20, 1), (0, 30, 1))
    with pytest.raises(ValueError, match="Too many slices"):
        BOX.reify_slices(np.s_[:, :, :, 0:2])


def test_steps_default_to_one_and_must_be_positive():
    assert BOX.reify_slices(np.s_[::2])[0] == slice(0, 10, 2)
    with pytest.raises(ValueError):
        BOX.reify_slices(np.s_[::-1])
    with pytest.raises(ValueError):
        BOX.reify_slices(np.s_[::0])


def test_negative_numbers_are_coordinates_not_wraparound():
    offset = Bbox((-64, -64, -64), (64, 64, 64))
    assert offset.reify_slices(np.s_[-64:64])[0] == slice(-64, 64, 1)
    assert offset.reify_slices(np.s_[-1, :, :])[0] == slice(-1, 0, 1)
    with pytest.raises(OutOfBoundsError):
        BOX.reify_slices(np.s_[-1:5])


def test_bounded_checks_every_start_and_stop_inclusively():
    assert BOX.reify_slices(np.s_[10:10])[0] == slice(10, 10, 1)
    with pytest.raises(OutOfBoundsError):
        BOX.reify_slices(np.s_[0:11])
    with pytest.raises(OutOfBoundsError):
        BOX.reify_slices(np.s_[:, 21:25])
    with pytest.raises(OutOfBoundsError):
        BOX.reify_slices(10)


def test_scalars_inside_a_tuple_are_bounds_checked_too():
    # CloudVolume skipped this check for scalars after the first position; the
    # reference (§5) says every start/stop is checked, so cloudvol checks them all.
    with pytest.raises(OutOfBoundsError):
        BOX.reify_slices(np.s_[0:1, 25, :])
    with pytest.raises(OutOfBoundsError):
        VOLUME.reify_slices(np.s_[..., 3])


def test_unbounded_passes_outside_coordinates_through():
    assert BOX.reify_slices(np.s_[-25:25], bounded=False)[0] == slice(-25, 25, 1)


def test_autocrop_clamps_into_the_box():
    result = BOX.reify_slices(np.s_[-25:25, 15, 5:100], bounded=False, autocrop=True)
    assert result == s((0, 10, 1), (15, 16, 1), (5, 30, 1))
    # autocrop wins over bounded
    assert BOX.reify_slices(np.s_[-25:25], bounded=True, autocrop=True)[0] == slice(0, 10, 1)


def test_bbox_key_is_converted_to_slices():
    assert BOX.reify_slices(Bbox((1, 2, 3), (4, 5, 6))) == s((1, 4, 1), (2, 5, 1), (3, 6, 1))


def test_unsupported_index_elements_are_type_errors():
    with pytest.raises(TypeError):
        BOX.reify_slices("0:5")
    with pytest.raises(TypeError):
        BOX.reify_slices((None, 0, 0))
    with pytest.raises(TypeError):
        BOX.reify_slices(([1, 2], 0, 0))


def test_float_context_fills_with_its_own_coordinates():
    box = Bbox((0.5, 0.5, 0.5), (10.5, 10.5, 10.5), unit="nm")
    assert box.reify_slices(np.s_[:])[0] == slice(0.5, 10.5, 1)
    assert Bbox.from_slices(np.s_[:], context=box) == box
