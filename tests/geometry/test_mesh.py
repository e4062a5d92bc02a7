"""The Mesh object: construction, equality, and geometry operations against cloudvolume.Mesh."""

from __future__ import annotations

import sys

import cloudvolume
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.geometry.mesh import Mesh
from cloudvol.lib import Bbox

# A unit square (two triangles) in the z=0 plane, with one duplicated vertex.
SQUARE_V = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]]
SQUARE_F = [[0, 1, 2], [2, 4, 3], [0, 1, 2]]


def both(vertices, faces, normals=None, segid=None):
    """The same mesh as cloudvol's and as CloudVolume's (the oracle)."""
    return (
        Mesh(vertices, faces, normals, segid=segid),
        cloudvolume.Mesh(vertices, faces, normals, segid=segid),
    )


def assert_same(ours: Mesh, theirs: cloudvolume.Mesh) -> None:
    np.testing.assert_array_equal(ours.vertices, theirs.vertices.reshape(-1, 3))
    np.testing.assert_array_equal(ours.faces, theirs.faces)
    assert ours.vertices.dtype == np.float32
    assert ours.faces.dtype == np.uint32


def fragment_pair(chunk: float = 10.0) -> list[Mesh]:
    """Two squares meeting on the plane x = chunk; their shared edge is duplicated."""
    left = Mesh([[0, 0, 0], [chunk, 0, 0], [0, 5, 0], [chunk, 5, 0]], [[0, 1, 2], [1, 3, 2]])
    right = Mesh(
        [[chunk, 0, 0], [2 * chunk - 1, 0, 0], [chunk, 5, 0], [2 * chunk - 1, 5, 0]],
        [[0, 1, 2], [1, 3, 2]],
    )
    return [left, right]


# --- construction and basics --------------------------------------------------------------


def test_constructor_casts_and_copies():
    vertices = np.array([[0, 0, 0], [1, 2, 3], [4, 5, 6]], dtype=np.float64)
    faces = np.array([[0, 1, 2]], dtype=np.int64)
    mesh = Mesh(vertices, faces, segid=7)
    vertices[0, 0] = 99
    assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.uint32
    assert mesh.vertices[0, 0] == 0
    assert mesh.normals.shape == (0, 3) and mesh.normals.dtype == np.float32
    assert len(mesh) == 3 and mesh.segid == 7


def test_flat_faces_are_kept_flat_like_cloudvolume():
    ours, theirs = both([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [0, 1, 2])
    assert ours.faces.shape == theirs.faces.shape == (3,)
    assert ours.to_precomputed() == theirs.to_precomputed()
    np.testing.assert_array_equal(ours.triangles(), [[[0, 0, 0], [1, 0, 0], [0, 1, 0]]])


def test_empty_mesh_has_three_column_arrays():
    mesh = Mesh([], [])
    assert mesh.vertices.shape == (0, 3) and mesh.faces.shape == (0, 3)
    assert mesh.empty() and len(mesh) == 0
    assert Mesh([[0, 0, 0]], []).empty()
    assert not Mesh(SQUARE_V, SQUARE_F).empty()


def test_repr_matches_cloudvolume():
    ours, theirs = both(SQUARE_V, SQUARE_F, segid=12)
    ours.encoding_type = theirs.encoding_type = "draco"
    assert repr(ours) == repr(theirs)


def test_equality_compares_vertices_faces_and_normals():
    a = Mesh(SQUARE_V, SQUARE_F)
    assert a == Mesh(SQUARE_V, SQUARE_F)
    assert a != Mesh(SQUARE_V, [[0, 1, 2], [2, 4, 3], [0, 1, 3]])
    assert a != Mesh(np.array(SQUARE_V) + 1, SQUARE_F)
    assert a != Mesh(SQUARE_V, SQUARE_F[:2])  # different face count must not broadcast
    with_normals = Mesh(SQUARE_V, SQUARE_F, normals=np.ones((5, 3)))
    assert a != with_normals
    assert with_normals == Mesh(SQUARE_V, SQUARE_F, normals=np.ones((5, 3)))
    assert with_normals != Mesh(SQUARE_V, SQUARE_F, normals=np.zeros((5, 3)))
    assert a != "not a mesh"


def test_clone_is_deep():
    mesh = Mesh(SQUARE_V, SQUARE_F, segid=3, encoding_type="draco", encoding_options={"q": 1})
    twin = mesh.clone()
    twin.vertices[0] = 5
    twin.encoding_options["q"] = 2
    assert twin != mesh and mesh.vertices[0, 0] == 0 and mesh.encoding_options == {"q": 1}
    assert twin.segid == 3 and twin.encoding_type == "draco"


def test_edges_and_triangles_match_cloudvolume():
    ours, theirs = both(SQUARE_V, SQUARE_F)
    assert list(ours.edges()) == [(int(a), int(b)) for a, b in theirs.edges()]
    np.testing.assert_array_equal(ours.triangles(), theirs.triangles())


def test_bbox_spans_the_vertices_inclusively():
    mesh = Mesh([[1, 2, 3], [-1, 5, 0.5]], [[0, 1, 1]])
    box = mesh.bbox()
    np.testing.assert_array_equal(box.minpt, [-1, 2, 0.5])
    np.testing.assert_array_equal(box.maxpt, [1, 5, 3])
    assert mesh.crop(box) == mesh


# --- consolidate -----------------------------------------------------------------------------


def test_consolidate_matches_cloudvolume():
    ours, theirs = both(SQUARE_V, SQUARE_F, segid=4)
    result = ours.consolidate()
    assert_same(result, theirs.consolidate())
    assert len(result) == 4 and result.faces.shape == (2, 3)
    assert result.segid == 4


def test_consolidate_regroups_flat_faces_into_triangles():
    # CloudVolume's np.unique(axis=0) of a 1-D face list reduces it to [0 1 2 3]
    vertices = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]]
    flat = Mesh(vertices, [0, 1, 2, 4, 3, 2, 0, 1, 2], segid=6).consolidate()
    grouped = Mesh(vertices, [[0, 1, 2], [4, 3, 2], [0, 1, 2]], segid=6).consolidate()
    assert flat == grouped
    np.testing.assert_array_equal(flat.faces, [[0, 2, 1], [2, 3, 1]])
    np.testing.assert_array_equal(flat.vertices, [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="mesh 6: its 4 face indices are not a multiple of 3"):
        Mesh(vertices, [2, 1, 0, 1], segid=6).consolidate()


def test_consolidate_drops_normals_and_handles_empty():
    mesh = Mesh(SQUARE_V, SQUARE_F, normals=np.ones((5, 3)))
    assert mesh.consolidate().normals.shape == (0, 3)
    empty = Mesh([], [], segid=9).consolidate()
    assert empty.empty() and empty.vertices.shape == (0, 3) and empty.segid == 9


@st.composite
def small_meshes(draw):
    nv = draw(st.integers(1, 12))
    coords = st.integers(-2, 2).map(float) | st.sampled_from([0.5, -0.0, 1e-3])
    vertices = draw(st.lists(st.tuples(coords, coords, coords), min_size=nv, max_size=nv))
    faces = draw(st.lists(st.tuples(*[st.integers(0, nv - 1)] * 3), min_size=1, max_size=15))
    return vertices, faces


@settings(max_examples=60, deadline=None)
@given(small_meshes())
def test_consolidate_property_equals_cloudvolume(mesh_arrays):
    vertices, faces = mesh_arrays
    ours, theirs = both(vertices, faces)
    result = ours.consolidate()
    assert_same(result, theirs.consolidate())
    # Consolidation never changes the geometry: same set of triangles by coordinates.
    before = {tuple(map(tuple, t)) for t in ours.triangles().tolist()}
    after = {tuple(map(tuple, t)) for t in result.triangles().tolist()}
    assert before == after


# --- concatenate ---------------------------------------------------------------------------


def test_concatenate_offsets_faces_like_cloudvolume():
    a_ours, a_theirs = both(SQUARE_V, SQUARE_F)
    b_ours, b_theirs = both([[5, 5, 5], [6, 5, 5], [5, 6, 5]], [[0, 1, 2]])
    for m in (a_ours, a_theirs):
        m.encoding_type = "precomputed"
    for m in (b_ours, b_theirs):
        m.encoding_type = "precomputed"
    ours = Mesh.concatenate(a_ours, b_ours, a_ours, segid=8)
    theirs = cloudvolume.Mesh.concatenate(a_theirs, b_theirs, a_theirs, segid=8)
    assert_same(ours, theirs)
    assert ours.faces[3].tolist() == [5, 6, 7]
    assert ours.segid == 8 and ours.encoding_type == "precomputed"


def test_concatenate_keeps_normals_only_when_all_have_them():
    a = Mesh(SQUARE_V, SQUARE_F, normals=np.ones((5, 3)))
    b = Mesh([[0, 0, 1]], [[0, 0, 0]], normals=[[0, 0, 1]])
    assert Mesh.concatenate(a, b).normals.shape == (6, 3)
    assert Mesh.concatenate(a, Mesh([[0, 0, 1]], [[0, 0, 0]])).normals.shape == (0, 3)


def test_concatenate_flattens_mixed_encoding_lists():
    a = Mesh(SQUARE_V, SQUARE_F, encoding_type="draco")
    b = Mesh(SQUARE_V, SQUARE_F, encoding_type="precomputed")
    c = Mesh(SQUARE_V, SQUARE_F, encoding_type="ply")
    mixed = Mesh.concatenate(a, b)
    again = Mesh.concatenate(mixed, c, a)
    assert again.encoding_type == ["draco", "precomputed", "ply"]
    assert len(again) == 20 and again.faces.shape == (12, 3)
    assert Mesh.concatenate(mixed, mixed).encoding_type == ["draco", "precomputed"]


def test_concatenate_mixed_encodings_and_nothing():
    a = Mesh(SQUARE_V, SQUARE_F, encoding_type="draco")
    b = Mesh(SQUARE_V, SQUARE_F, encoding_type="precomputed")
    assert Mesh.concatenate(a, b).encoding_type == ["draco", "precomputed"]
    nothing = Mesh.concatenate(segid=3)
    assert nothing.empty() and nothing.segid == 3


# --- deduplicate_chunk_boundaries ----------------------------------------------------------


def test_dedup_merges_vertices_across_a_chunk_boundary():
    left, right = fragment_pair(10.0)
    ours = Mesh.concatenate(left, right)
    theirs = cloudvolume.Mesh.concatenate(
        *[cloudvolume.Mesh(m.vertices, m.faces) for m in (left, right)]
    )
    result = ours.deduplicate_chunk_boundaries((10, 10, 10))
    assert_same(result, theirs.deduplicate_chunk_boundaries((10, 10, 10)))
    # the two seam vertices were doubled and are now shared: 8 -> 6 vertices
    assert len(ours) == 8 and len(result) == 6
    assert result.faces.shape == (4, 3)


def test_dedup_keeps_vertices_seen_three_times_or_off_the_grid():
    vertices = [[10, 0, 0], [10, 0, 0], [10, 0, 0], [3, 1, 1], [3, 1, 1], [4, 4, 1]]
    faces = [[0, 3, 5], [1, 4, 5], [2, 3, 5]]
    ours, theirs = both(vertices, faces)
    result = ours.deduplicate_chunk_boundaries((10, 10, 10))
    assert_same(result, theirs.deduplicate_chunk_boundaries((10, 10, 10)))
    # (10,0,0) x3 stays 3 vertices, (3,1,1) x2 is not on a chunk plane and stays 2
    assert len(result) == 6


def test_dedup_with_offset_and_draco_grid_match_cloudvolume():
    left, right = fragment_pair(10.0)
    shifted = [Mesh(m.vertices + np.array([3, 0, 0]), m.faces) for m in (left, right)]
    ours = Mesh.concatenate(*shifted)
    theirs = cloudvolume.Mesh(ours.vertices, ours.faces)
    assert_same(
        ours.deduplicate_chunk_boundaries((10, 10, 10), offset=(3, 0, 0)),
        theirs.deduplicate_chunk_boundaries((10, 10, 10), offset=(3, 0, 0)),
    )
    assert len(ours.deduplicate_chunk_boundaries((10, 10, 10), offset=(3, 0, 0))) == 6
    # Draco-snapped seam: vertices within half a grid step of the plane count as on it.
    jittered = ours.clone()
    jittered.vertices[:, 0] += 0.2
    theirs = cloudvolume.Mesh(jittered.vertices, jittered.faces)
    kwargs = dict(is_draco=True, draco_grid_size=1.0, offset=(3, 0, 0))
    result = jittered.deduplicate_chunk_boundaries((10, 10, 10), **kwargs)
    assert_same(result, theirs.deduplicate_chunk_boundaries((10, 10, 10), **kwargs))
    assert len(result) == 6


def test_dedup_drops_unused_vertices_and_handles_empty():
    ours, theirs = both([[0, 0, 0], [1, 0, 0], [0, 1, 0], [7, 7, 7]], [[0, 1, 2]])
    result = ours.deduplicate_chunk_boundaries((5, 5, 5))
    assert_same(result, theirs.deduplicate_chunk_boundaries((5, 5, 5)))
    assert len(result) == 3
    assert Mesh([], []).deduplicate_chunk_boundaries((5, 5, 5)).empty()


def test_dedup_draco_without_grid_size_raises():
    with pytest.raises(ValueError, match="draco_grid_size"):
        Mesh(SQUARE_V, SQUARE_F).deduplicate_chunk_boundaries((1, 1, 1), is_draco=True)


@settings(max_examples=40, deadline=None)
@given(small_meshes(), st.integers(1, 3))
def test_dedup_property_equals_cloudvolume(mesh_arrays, chunk):
    vertices, faces = mesh_arrays
    ours, theirs = both(vertices, faces)
    assert_same(
        ours.deduplicate_chunk_boundaries((chunk, chunk, 2)),
        theirs.deduplicate_chunk_boundaries((chunk, chunk, 2)),
    )


# --- crop ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box", [((0, 0, 0), (1, 0, 0)), ((0, 0, 0), (1, 1, 0)), ((2, 2, 2), (3, 3, 3))]
)
def test_crop_matches_cloudvolume_inclusive(box):
    ours, theirs = both(SQUARE_V, SQUARE_F, segid=5)
    result = ours.crop(Bbox(*box))
    assert_same(result, theirs.crop(cloudvolume.Bbox(*box)))
    assert result.segid == 5


def test_crop_keeps_faces_fully_inside_and_remaps():
    mesh = Mesh(
        [[0, 0, 0], [5, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], [[0, 2, 3], [2, 4, 3], [0, 1, 3]]
    )
    result = mesh.crop(Bbox((0, 0, 0), (1, 1, 1)))
    np.testing.assert_array_equal(result.vertices, [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    np.testing.assert_array_equal(result.faces, [[0, 1, 2], [1, 3, 2]])
    assert mesh.crop(cloudvolume.Bbox((0, 0, 0), (1, 1, 1))) == result
    assert mesh.crop([0, 0, 0, 1, 1, 1]) == result


def test_crop_accepts_float_lists_pairs_and_arrays():
    # vertices 0, 1 and 4 lie on y = 0; 2 and 3 at y = 1
    mesh = Mesh([[0.5, 0, 0], [1, 0, 0], [0.5, 1, 0], [1, 1, 0], [0.75, 0, 0]], SQUARE_F)
    expected = mesh.crop(Bbox((0.1, 0.0, 0.0), (1.0, 0.0, 0.0), dtype=np.float64))
    np.testing.assert_array_equal(expected.vertices, [[0.5, 0, 0], [1, 0, 0], [0.75, 0, 0]])
    for box in (
        [0.1, 0.0, 0.0, 1.0, 0.0, 0.0],
        (0.1, 0, 0, 1, 0, 0),
        np.array([0.1, 0, 0, 1, 0, 0], np.float32),
        ([0.1, 0, 0], [1, 0, 0]),
        np.array([[0.1, 0, 0], [1, 0, 0]]),
    ):
        assert mesh.crop(box) == expected
    # the upper corner is inclusive even for a float corner that is a vertex
    assert len(mesh.crop([0.1, 0.1, 0.1, 1, 1, 1])) == 0
    assert len(mesh.crop([0.5, 1.0, 0.0, 1.0, 1.0, 0.0])) == 2
    with pytest.raises(ValueError, match=r"got shape \(2, 2\)"):
        mesh.crop([[0, 0], [1, 1]])


def test_crop_carries_per_vertex_normals():
    normals = np.arange(15, dtype=np.float32).reshape(5, 3)
    mesh = Mesh(SQUARE_V, SQUARE_F, normals=normals)
    result = mesh.crop(Bbox((0, 0, 0), (1, 0, 0)))
    np.testing.assert_array_equal(result.normals, normals[[0, 1, 4]])
    assert Mesh([], []).crop(Bbox((0, 0, 0), (1, 1, 1))).empty()


# --- other libraries -----------------------------------------------------------------------


def test_trimesh_round_trip():
    pytest.importorskip("trimesh")
    mesh = Mesh(SQUARE_V, SQUARE_F, segid=2).consolidate()
    tm = mesh.trimesh()
    np.testing.assert_array_equal(tm.vertices, mesh.vertices)
    np.testing.assert_array_equal(tm.faces, mesh.faces)
    back = Mesh.from_trimesh(tm, segid=2)
    np.testing.assert_array_equal(back.vertices, mesh.vertices)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    assert back.normals.shape == (4, 3) and back.segid == 2
    np.testing.assert_allclose(np.abs(back.normals[:, 2]), 1.0)


def test_viewer_draws_without_a_display():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = Mesh(SQUARE_V, SQUARE_F, segid=77).viewer(show=False)
    ax = fig.axes[0]
    assert ax.name == "3d"
    assert "77" in ax.get_title()
    assert len(ax.collections) == 1
    np.testing.assert_allclose(ax.get_xlim(), (0, 1))
    fig.canvas.draw()  # renders headless with the Agg canvas


def test_viewer_missing_matplotlib_says_how_to_install(monkeypatch):
    for name in (
        "matplotlib",
        "matplotlib.figure",
        "mpl_toolkits",
        "mpl_toolkits.mplot3d",
        "mpl_toolkits.mplot3d.art3d",
    ):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"pip install 'cloudvol\[viewer\]'"):
        Mesh(SQUARE_V, SQUARE_F).viewer(show=False)


# --- save / load ---------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["ply", "obj", "precomputed", "stl"])
def test_save_load_by_extension(tmp_path, ext):
    mesh = Mesh(SQUARE_V, SQUARE_F, segid=1).consolidate()
    path = tmp_path / f"m.{ext}"
    mesh.save(path)
    data = path.read_bytes()
    expected = {"ply": mesh.to_ply(), "precomputed": mesh.to_precomputed()}.get(ext, mesh.to_obj())
    assert data == expected
    assert Mesh.load(path) == mesh
    assert mesh.load(str(path)) == mesh  # CloudVolume calls load on an instance


def test_save_load_draco_and_explicit_format(tmp_path):
    mesh = Mesh([[0, 0, 0], [4, 0, 0], [0, 4, 0], [4, 4, 4]], [[0, 1, 2], [1, 3, 2]])
    path = tmp_path / "m.drc"
    mesh.save(path)
    loaded = Mesh.load(path)
    assert loaded.encoding_type == "draco" and loaded.faces.shape == (2, 3)
    mesh.save(tmp_path / "m.bin", file_format="ply")
    assert Mesh.load(tmp_path / "m.bin", file_format="ply") == mesh
    with pytest.raises(ValueError, match="unknown mesh file format"):
        mesh.save(tmp_path / "m.x", file_format="stl")


def test_deduplicate_vertices_with_explicit_mask_matches_cloudvolume():
    left, right = fragment_pair(10.0)
    ours = Mesh.concatenate(left, right)
    theirs = cloudvolume.Mesh(ours.vertices, ours.faces)
    mask = np.zeros(len(ours), dtype=bool)
    mask[[1, 4]] = True  # only one of the two seam positions may merge
    result = ours.deduplicate_vertices(mask)
    assert_same(result, theirs.deduplicate_vertices(mask))
    assert len(result) == 7
