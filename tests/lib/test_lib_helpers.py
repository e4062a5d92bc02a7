"""Behaviour of the helpers in cloudvol.lib."""

from __future__ import annotations

import json
import os
import sys
import types

import numpy as np
import pytest

import cloudvol.lib as lib
from cloudvol.exceptions import OutOfBoundsError
from cloudvol.lib import Vec


def test_xyzrange_runs_x_fastest():
    points = [p.tolist() for p in lib.xyzrange((2, 2, 2))]
    assert points[:3] == [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    assert len(points) == 8
    assert all(isinstance(p, Vec) for p in lib.xyzrange((1, 1, 1)))


def test_xyzrange_with_start_end_stride_and_floats():
    points = [p.tolist() for p in lib.xyzrange((0, 0, 0), (4, 2, 1), (2, 1, 1))]
    assert points == [[0, 0, 0], [2, 0, 0], [0, 1, 0], [2, 1, 0]]
    floats = list(lib.xyzrange((0, 0, 0), (1, 1, 1), (0.5, 1, 1)))
    assert [p.tolist() for p in floats] == [[0.0, 0, 0], [0.5, 0, 0]]
    assert floats[0].dtype == np.float64


def test_xyzrange_rejects_non_positive_strides():
    with pytest.raises(ValueError, match="positive"):
        list(lib.xyzrange((0, 0, 0), (4, 4, 4), (1, 0, 1)))


def test_divisors_are_ints():
    assert sorted(lib.divisors(12)) == [1, 2, 3, 4, 6, 12]
    assert all(type(d) is int for d in lib.divisors(240))
    assert sorted(lib.divisors(49)) == [1, 7, 49]
    assert list(lib.divisors(0)) == []


def test_find_closest_divisor():
    assert lib.find_closest_divisor((240, 73, 64), (64, 64, 64)) == [60, 73, 64]
    assert lib.find_closest_divisor((128.0,), (50,)) == [64]


def test_min2_max2_keep_the_first_dtype():
    a = np.array([1, 5, 3], dtype=np.int32)
    assert lib.min2(a, np.array([2.5, 2.5, 2.5])).dtype == np.int32
    assert lib.max2(a, [2, 2, 2]).tolist() == [2, 5, 3]
    assert isinstance(lib.min2(a, Vec(0, 0, 0)), Vec)
    assert not isinstance(lib.min2(a, a), Vec)


def test_map2_applies_pairwise_as_float():
    result = lib.map2(lambda x, y: x * y, Vec(1, 2, 3), [2, 2, 2])
    assert isinstance(result, Vec)
    assert result.tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="lengths"):
        lib.map2(max, [1, 2], [1])


def test_clamp_and_check_bounds():
    assert lib.clamp(5, 0, 3) == 3
    assert lib.clamp(-5, 0, 3) == 0
    assert lib.check_bounds(3, 0, 3, 0) == 3
    with pytest.raises(OutOfBoundsError, match="index=2"):
        lib.check_bounds(4, 0, 3, 2)


def test_jsonify_handles_numpy():
    text = lib.jsonify(
        {"a": np.arange(3), "b": np.int64(4), "c": np.float32(0.5), "d": np.bool_(True)}
    )
    assert json.loads(text) == {"a": [0, 1, 2], "b": 4, "c": 0.5, "d": True}
    assert lib.jsonify([1], indent=2) == "[\n  1\n]"


def test_mkdir_and_touch(tmp_path):
    target = tmp_path / "a" / "b"
    assert lib.mkdir(str(target)) == str(target)
    assert target.is_dir()
    assert lib.mkdir(str(target)) == str(target)
    lib.touch(str(tmp_path / "c" / "file.txt"))
    assert (tmp_path / "c" / "file.txt").is_file()


def test_toabs_expands_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lib.toabs("~/x") == os.path.join(str(tmp_path), "x")
    assert os.path.isabs(lib.toabs("relative"))


def test_toiter_treats_strings_and_dicts_as_scalars():
    assert lib.toiter("abc") == ["abc"]
    assert lib.toiter({"a": 1}) == [{"a": 1}]
    assert lib.toiter(5) == [5]
    data = [1, 2]
    assert lib.toiter(data) is data
    assert lib.toiter(5, is_iter=True) == ([5], False)
    assert lib.toiter(data, is_iter=True) == (data, True)


def test_sip_and_scatter():
    assert list(lib.sip(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(lib.sip([], 3)) == []
    assert list(lib.scatter([0, 1, 2, 3, 4], 2)) == [[0, 2, 4], [1, 3]]


def test_first_handles_sequences_iterators_and_empties():
    assert lib.first([3, 4]) == 3
    assert lib.first([]) is None
    assert lib.first(x for x in [7, 8]) == 7
    assert lib.first(iter([])) is None
    assert lib.first({9}) == 9
    assert lib.first({"k": 1}) == "k"
    assert lib.first(np.array([])) is None


def test_nvl_duplicates_and_getprecision():
    assert lib.nvl(None, None, 3, 4) == 3
    assert lib.nvl(None) is None
    assert lib.duplicates([1, 2, 2, 3, 3, 3]) == {2, 3}
    assert lib.getprecision(1.25) == 2
    assert lib.getprecision(3) == 0


def test_generate_random_string():
    text = lib.generate_random_string(12)
    assert len(text) == 12
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz0123456789")
    assert len(lib.generate_random_string()) == 6


def test_colors_wrap_text_in_ansi_codes():
    assert lib.red("x") == "\033[1;91mx\033[m"
    assert lib.yellow("x").startswith("\033[1;93m")
    assert lib.green("x") == lib.colorize("GREEN", "x")
    with pytest.raises(ValueError):
        lib.colorize("mauve", "x")


def test_moving_average_averages_the_window_ending_at_each_sample():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    out = lib.moving_average(a, 3)
    assert out.shape == a.shape
    assert out[2] == pytest.approx(2.0)
    assert out[4] == pytest.approx(4.0)
    assert lib.moving_average(a, 1) is a
    two_d = lib.moving_average(np.arange(12, dtype=float).reshape(6, 2), 2)
    assert two_d.shape == (6, 2)
    with pytest.raises(ValueError):
        lib.moving_average(a, 0)


def test_constants():
    assert pytest.approx(2.220446049250313e-16) == lib.MACHINE_EPSILON
    assert lib.UNIT_SCALES["nm"] == 1e-9 and lib.UNIT_SCALES["Tm"] == 1e12
    assert set(lib.UNIT_SCALES) == {"pm", "nm", "um", "mm", "m", "km", "Mm", "Gm", "Tm"}
    assert lib.spatial_unit_in_meters("nanometer") == 1e-9
    assert lib.time_unit_in_seconds("hour") == 3600.0
    with pytest.raises(ValueError):
        lib.spatial_unit_in_meters("parsec")


# --- save_images -----------------------------------------------------------------


class _FakeImage:
    def __init__(self, array):
        self.array = array

    def save(self, path, image_format):
        with open(path, "wb") as f:
            f.write(image_format.encode())
        _FakeImage.saved.append((os.path.basename(path), self.array))


def _fake_pillow(monkeypatch):
    _FakeImage.saved = []
    image_module = types.SimpleNamespace(fromarray=lambda array: _FakeImage(array))
    pil = types.ModuleType("PIL")
    pil.Image = image_module
    monkeypatch.setitem(sys.modules, "PIL", pil)
    monkeypatch.setitem(sys.modules, "PIL.Image", image_module)


def test_save_images_writes_one_file_per_z_slice(monkeypatch, tmp_path):
    _fake_pillow(monkeypatch)
    image = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = lib.save_images(image, directory=str(tmp_path / "imgs"), progress=False)
    assert out == str(tmp_path / "imgs")
    names = [name for name, _ in _FakeImage.saved]
    assert names == ["00000.png", "00001.png", "00002.png", "00003.png"]
    first_plane = _FakeImage.saved[0][1]
    assert first_plane.shape == (3, 2)  # rows are y, columns are x
    np.testing.assert_array_equal(first_plane, image[:, :, 0].T)


def test_save_images_channels_and_dtypes(monkeypatch, tmp_path):
    _fake_pillow(monkeypatch)
    image = np.zeros((2, 2, 1, 2), dtype=np.uint32)
    image[0, 0, 0, 1] = 0x010203
    lib.save_images(image, directory=str(tmp_path), axis="z", progress=False)
    names = [name for name, _ in _FakeImage.saved]
    assert names == ["0-00000.png", "1-00000.png"]
    rgba = _FakeImage.saved[1][1]
    assert rgba.shape == (2, 2, 4)
    assert rgba[0, 0].tolist() == [3, 2, 1, 255]

    _FakeImage.saved = []
    floats = np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 2, 2)
    lib.save_images(floats, directory=str(tmp_path), axis="x", progress=False)
    assert [a.dtype for _, a in _FakeImage.saved] == [np.uint8, np.uint8]
    assert _FakeImage.saved[-1][1].max() == 255

    _FakeImage.saved = []
    lib.save_images(
        np.ones((2, 2, 2), dtype=bool), directory=str(tmp_path), axis="y", progress=False
    )
    assert _FakeImage.saved[0][1].max() == 255


def test_save_images_without_pillow_names_the_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        lib.save_images(
            np.zeros((2, 2, 2), dtype=np.uint8), directory=str(tmp_path), progress=False
        )
