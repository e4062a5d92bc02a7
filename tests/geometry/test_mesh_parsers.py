"""The fast (whole-buffer) parsers agree with the careful ones and with numpy/cloudvolume."""

from __future__ import annotations

import cloudvolume
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.geometry import mesh_files
from cloudvol.geometry.mesh import Mesh, unique_rows

# --- OBJ: the vectorised path and the line parser ------------------------------------------

blank = st.sampled_from([" ", "  ", "\t", " \t"])
number = st.sampled_from(["0", "1", "-2.5", "1e3", "0.125", "-0.0", "3.25e-2"])


@st.composite
def obj_texts(draw):
    """OBJ text with random spacing, comments, extra statements and face forms."""
    lines: list[str] = []
    nv = 0
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["v", "v", "v", "vn", "f", "f", "other", "blank"]))
        if kind in ("v", "vn"):
            coords = [draw(number) for _ in range(3)]
            lines.append(
                kind
                + draw(blank)
                + draw(blank).join(coords)
                + draw(st.sampled_from(["", " ", "  # c"]))
            )
            nv += kind == "v"
        elif kind == "f" and nv:
            corners = []
            for _ in range(draw(st.integers(3, 5))):
                index = draw(st.integers(1, nv))
                if draw(st.booleans()):
                    index = index - nv - 1  # the same vertex, counted back from the end
                corners.append(str(index) + draw(st.sampled_from(["", "/1", "//2", "/3/4"])))
            lines.append("f" + draw(blank) + draw(blank).join(corners))
        elif kind == "other":
            lines.append(
                draw(st.sampled_from(["# comment", "o name", "vt 0.5 0.5", "s off", "g a b"]))
            )
        else:
            lines.append("")
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@settings(max_examples=80, deadline=None)
@given(obj_texts())
def test_obj_fast_path_agrees_with_line_parser(text):
    careful = mesh_files._decode_obj_lines(text, "OBJ mesh")
    fast = mesh_files._decode_obj_fast(text.encode())
    assert fast is not None  # every generated layout is one the fast path takes
    np.testing.assert_array_equal(fast.vertices, careful.vertices)
    np.testing.assert_array_equal(fast.faces, careful.faces)
    assert (fast.normals is None) == (careful.normals is None)
    if fast.normals is not None:
        np.testing.assert_array_equal(fast.normals, careful.normals)


def test_obj_fast_path_declines_what_it_cannot_parse():
    for text in [
        "  v 0 0 0\n",
        "v 0 0\n",
        "v 0 0 0 1\n",
        "v 0 0 0\nf 1 1\n",
        "v 0 0 0\nf\n",
        "v 0 x 0\n",
        "v 0 0 0\nf 1 1 2\n",
        "v 0 0 0\nf 0 1 1\n",
    ]:
        assert mesh_files._decode_obj_fast(text.encode()) is None, text


def test_obj_fast_path_takes_cloudvolume_output():
    mesh = Mesh(np.arange(12).reshape(4, 3) / 8, [[0, 1, 2], [1, 2, 3]])
    data = cloudvolume.Mesh(mesh.vertices, mesh.faces).to_obj()
    fast = mesh_files._decode_obj_fast(data)
    assert fast is not None
    np.testing.assert_array_equal(fast.vertices, mesh.vertices)
    np.testing.assert_array_equal(fast.faces, mesh.faces)


# --- unique_rows equals np.unique(axis=0) ---------------------------------------------------

special = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 20), st.integers(1, 4), st.data())
def test_unique_rows_equals_numpy(n, width, data):
    values = data.draw(st.lists(special, min_size=n * width, max_size=n * width))
    rows = np.array(values, dtype=np.float32).reshape(n, width)
    expected = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    got = unique_rows(rows)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1].reshape(-1))
    np.testing.assert_array_equal(got[2], expected[2])


def test_consolidate_with_nan_vertices_matches_cloudvolume():
    vertices = [[np.nan, 0, 0], [1, 0, 0], [np.nan, 0, 0], [1, 0, 0], [0, np.nan, 1]]
    faces = [[0, 1, 2], [2, 3, 4], [1, 0, 4]]
    ours = Mesh(vertices, faces).consolidate()
    theirs = cloudvolume.Mesh(vertices, faces).consolidate()
    np.testing.assert_array_equal(ours.vertices, theirs.vertices)
    np.testing.assert_array_equal(ours.faces, theirs.faces)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([np.uint32, np.int64, np.int32]),
    st.sampled_from([(0, 3), (-5, 5), (0, 2**40)]),
    st.integers(0, 25),
    st.integers(1, 3),
    st.data(),
)
def test_unique_rows_of_integers_equals_numpy(dtype, bounds, n, width, data):
    low, high = bounds
    if dtype is np.uint32:
        low, high = max(low, 0), min(high, 2**32 - 1)
    if dtype is np.int32:
        high = min(high, 2**31 - 1)
    values = data.draw(st.lists(st.integers(low, high), min_size=n * width, max_size=n * width))
    rows = np.array(values, dtype=dtype).reshape(n, width)
    expected = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    got = unique_rows(rows)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1].reshape(-1))
    np.testing.assert_array_equal(got[2], expected[2])
