"""Mesh byte formats: precomputed, PLY, OBJ and Draco, differential against cloudvolume."""

from __future__ import annotations

import time

import cloudvolume
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudvol.exceptions import EncodingError, MeshDecodeError
from cloudvol.geometry import mesh_files
from cloudvol.geometry.mesh import Mesh

TETRA_V = np.array([[0, 0, 0], [1.5, 0, 0], [0, 2.25, 0], [0, 0, -3.125]], dtype=np.float32)
TETRA_F = np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]], dtype=np.uint32)


def tetra(segid=None) -> Mesh:
    return Mesh(TETRA_V, TETRA_F, segid=segid)


def big_mesh(n_faces: int = 1_000_000, seed: int = 0) -> Mesh:
    rng = np.random.default_rng(seed)
    nv = n_faces // 2
    vertices = rng.uniform(-1e5, 1e5, size=(nv, 3)).astype(np.float32)
    faces = rng.integers(0, nv, size=(n_faces, 3), dtype=np.uint32)
    return Mesh(vertices, faces, segid=3)


def oracle(mesh: Mesh) -> cloudvolume.Mesh:
    return cloudvolume.Mesh(mesh.vertices, mesh.faces, segid=mesh.segid)


# --- precomputed -----------------------------------------------------------------------------


def test_precomputed_bytes_identical_to_cloudvolume_and_round_trip():
    mesh = tetra(segid=9)
    data = mesh.to_precomputed()
    assert data == oracle(mesh).to_precomputed()
    assert data[:4] == (4).to_bytes(4, "little") and len(data) == 4 + 4 * 12 + 4 * 12
    back = Mesh.from_precomputed(data, segid=9)
    assert back == mesh and back.segid == 9 and back.encoding_type == "precomputed"
    back.vertices[0, 0] = 7  # decoded arrays are writable copies, not views of the bytes


def test_precomputed_reads_cloudvolume_written_bytes():
    theirs = cloudvolume.Mesh(TETRA_V * 3, TETRA_F[::-1])
    ours = Mesh.from_precomputed(theirs.to_precomputed())
    np.testing.assert_array_equal(ours.vertices, theirs.vertices)
    np.testing.assert_array_equal(ours.faces, theirs.faces)


def test_precomputed_empty_round_trip():
    data = Mesh([], []).to_precomputed()
    assert data == b"\x00\x00\x00\x00"
    back = Mesh.from_precomputed(data)
    assert back.empty() and back.vertices.shape == (0, 3) and back.faces.shape == (0, 3)
    assert Mesh.from_precomputed(Mesh(TETRA_V, []).to_precomputed()) == Mesh(TETRA_V, [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00", "shorter than its 4-byte vertex count"),
        ((5).to_bytes(4, "little") + b"\x00" * 48, "header says 5 vertices"),
        (tetra().to_precomputed()[:-2], "not a multiple of 12"),
        (
            (4).to_bytes(4, "little")
            + np.asarray(TETRA_V, "<f4").tobytes()
            + np.asarray([0, 1, 4], "<u4").tobytes(),
            "refers to vertex 4 but there are only 4",
        ),
    ],
)
def test_precomputed_malformed_names_segid_and_problem(data, message):
    with pytest.raises(MeshDecodeError, match="segid 123") as info:
        Mesh.from_precomputed(data, segid=123)
    assert message in str(info.value)


def test_precomputed_encoder_rejects_partial_triangles_and_missing_vertices():
    with pytest.raises(EncodingError, match="segid 12: 4 face indices is not a multiple of 3"):
        Mesh(TETRA_V, [0, 1, 2, 3], segid=12).to_precomputed()
    with pytest.raises(EncodingError, match="segid 12: triangle 1 refers to vertex 4 but"):
        Mesh(TETRA_V, [[0, 1, 2], [0, 1, 4]], segid=12).to_precomputed()
    with pytest.raises(EncodingError, match="refers to vertex -1"):
        mesh_files.encode_precomputed(TETRA_V, np.array([[0, 1, -1]]))
    # flat faces that are whole triangles encode like their (M, 3) form
    assert Mesh(TETRA_V, [0, 1, 2]).to_precomputed() == Mesh(TETRA_V, [[0, 1, 2]]).to_precomputed()


def test_precomputed_large_round_trip_is_fast():
    mesh = big_mesh()
    data = mesh.to_precomputed()
    assert data == oracle(mesh).to_precomputed()
    start = time.perf_counter()
    back = Mesh.from_precomputed(data)
    elapsed = time.perf_counter() - start
    assert back == mesh
    assert elapsed < 0.5, f"decoding 10^6 faces took {elapsed:.3f} s"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(*[st.floats(width=32, allow_nan=False)] * 3), min_size=1, max_size=10),
    st.data(),
)
def test_precomputed_round_trip_property(vertices, data):
    nv = len(vertices)
    faces = data.draw(st.lists(st.tuples(*[st.integers(0, nv - 1)] * 3), max_size=10))
    mesh = Mesh(vertices, np.array(faces, dtype=np.uint32).reshape(-1, 3))
    assert mesh.to_precomputed() == oracle(mesh).to_precomputed()
    assert Mesh.from_precomputed(mesh.to_precomputed()) == mesh


# --- PLY -------------------------------------------------------------------------------------


def test_ply_bytes_identical_to_cloudvolume_and_round_trip():
    mesh = tetra(segid=4)
    data = mesh.to_ply()
    assert data == oracle(mesh).to_ply()
    assert isinstance(data, bytearray)
    back = Mesh.from_ply(data, segid=4)
    assert back == mesh and back.segid == 4


def test_ply_empty_and_large_round_trip():
    empty = Mesh([], [])
    assert Mesh.from_ply(empty.to_ply()) == empty
    mesh = big_mesh(seed=1)
    data = mesh.to_ply()
    assert data == oracle(mesh).to_ply()
    start = time.perf_counter()
    back = Mesh.from_ply(data)
    elapsed = time.perf_counter() - start
    assert back == mesh
    assert elapsed < 1.0, f"decoding a 10^6-face PLY took {elapsed:.3f} s"


def ply_header(fmt: str, nv: int, nf: int, vtype="float", ctype="uchar", itype="int", extra=""):
    return (
        f"ply\nformat {fmt} 1.0\ncomment made by a test\nelement vertex {nv}\n"
        f"property {vtype} x\nproperty {vtype} y\nproperty {vtype} z\n{extra}"
        f"element face {nf}\nproperty list {ctype} {itype} vertex_indices\nend_header\n"
    ).encode("ascii")


@pytest.mark.parametrize(
    ("endian", "vtype", "ctype", "itype"),
    [
        ("<", "double", "uchar", "uint"),
        (">", "float", "uchar", "int"),
        (">", "double", "int", "uint"),
    ],
)
def test_ply_binary_both_endians_and_types(endian, vtype, ctype, itype):
    fmt = "binary_little_endian" if endian == "<" else "binary_big_endian"
    codes = {"float": "f4", "double": "f8", "uchar": "u1", "int": "i4", "uint": "u4"}
    row = np.dtype([("n", endian + codes[ctype]), ("i", endian + codes[itype], (3,))])
    faces = np.zeros(len(TETRA_F), dtype=row)
    faces["n"] = 3
    faces["i"] = TETRA_F
    data = (
        ply_header(fmt, 4, 4, vtype, ctype, itype)
        + TETRA_V.astype(endian + codes[vtype]).tobytes()
        + faces.tobytes()
    )
    assert Mesh.from_ply(data) == tetra()


def test_ply_ascii_with_normals_quads_and_extra_elements():
    text = (
        "ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\nproperty float y\n"
        "property float z\nproperty float nx\nproperty float ny\nproperty float nz\n"
        "property uchar red\nelement face 2\nproperty list uchar int vertex_index\n"
        "property uchar flags\nelement edge 1\nproperty int vertex1\nproperty int vertex2\n"
        "end_header\n"
        "0 0 0 0 0 1 255\n1 0 0 0 0 1 255\n1 1 0 0 0 1 255\n0 1 0 0 0 1 255\n"
        "2 2 2 0 1 0 0\n4 0 1 2 3 7\n\n3 2 3 4 7\n0 1\n"
    )
    mesh = Mesh.from_ply(text.encode())
    np.testing.assert_array_equal(mesh.vertices[:, :2], [[0, 0], [1, 0], [1, 1], [0, 1], [2, 2]])
    # the quad is fan-triangulated in order, then the triangle follows
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(mesh.normals[0], [0, 0, 1])
    np.testing.assert_array_equal(mesh.normals[4], [0, 1, 0])


def test_ply_binary_mixed_polygons_use_the_row_path():
    header = ply_header("binary_little_endian", 5, 2, itype="int")
    verts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 2, 2]], "<f4")
    body = bytes([3]) + np.array([2, 3, 4], "<i4").tobytes()
    body += bytes([4]) + np.array([0, 1, 2, 3], "<i4").tobytes()
    mesh = Mesh.from_ply(header + verts.tobytes() + body)
    np.testing.assert_array_equal(mesh.faces, [[2, 3, 4], [0, 1, 2], [0, 2, 3]])


@pytest.mark.parametrize("encoding", ["binary", "ascii"])
def test_ply_reads_trimesh_exports(encoding):
    trimesh = pytest.importorskip("trimesh")
    box = trimesh.creation.box(extents=(2, 3, 4))
    data = trimesh.exchange.ply.export_ply(box, encoding=encoding)
    mesh = Mesh.from_ply(data)
    np.testing.assert_allclose(mesh.vertices, box.vertices)
    np.testing.assert_array_equal(mesh.faces, box.faces)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PLY\nformat ascii 1.0\nend_header\n", "'ply' magic"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\n", "no 'end_header'"),
        (b"ply\nformat weird 1.0\nend_header\n", "header line 2"),
        (
            b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float128 x\nend_header\n",
            "unknown property type 'float128'",
        ),
        (
            b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n",
            "lacks properties ['y', 'z']",
        ),
        (
            ply_header("ascii", 3, 1) + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n",
            "face 0 refers to vertex 5",
        ),
        (ply_header("ascii", 3, 1) + b"0 0 0\n1 zero 0\n0 1 0\n3 0 1 2\n", "line 12: 'zero'"),
        (
            ply_header("ascii", 3, 2) + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
            "element 'face' row 1 runs past the end",
        ),
        (ply_header("ascii", 3, 1) + b"0 0 0\n1 0 0\n0 1 0\n2 0 1\n", "face 0 has 2 vertices"),
        (ply_header("binary_little_endian", 3, 1) + b"\x00" * 20, "row 1 runs past the end"),
        (tetra().to_ply()[:-5], "element 'face' row 3 runs past the end"),
    ],
)
def test_ply_malformed_names_segid_and_place(data, message):
    with pytest.raises(MeshDecodeError, match="segid 55") as info:
        Mesh.from_ply(data, segid=55)
    assert message in str(info.value)


# --- OBJ -------------------------------------------------------------------------------------


def test_obj_bytes_identical_to_cloudvolume():
    odd = np.array(
        [[0.1, -0.0, 1e20], [123456.789, -2.5e-6, 0.333333], [np.inf, -np.inf, np.nan]],
        dtype=np.float32,
    )
    for mesh in (tetra(), Mesh(odd, [[0, 1, 2], [2, 1, 0]]), Mesh([], [])):
        assert mesh.to_obj() == oracle(mesh).to_obj()
    assert Mesh([], []).to_obj() == b"\n"
    assert tetra().to_obj().splitlines()[4] == b"f 1 2 3"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.floats(width=32)] * 3), min_size=3, max_size=8))
def test_obj_text_equals_cloudvolume_property(vertices):
    mesh = Mesh(vertices, [[0, 1, 2]])
    assert mesh.to_obj() == oracle(mesh).to_obj()


def test_obj_round_trip_and_cloudvolume_reads_ours():
    mesh = tetra(segid=6)
    back = Mesh.from_obj(mesh.to_obj(), segid=6)
    assert back == mesh and back.segid == 6  # 5 decimals are exact for these coordinates
    theirs = cloudvolume.Mesh.from_obj(mesh.to_obj())
    np.testing.assert_array_equal(theirs.vertices, back.vertices)
    np.testing.assert_array_equal(theirs.faces, back.faces)
    assert Mesh.from_obj(Mesh([], []).to_obj()).empty()


def test_obj_large_round_trip():
    mesh = big_mesh(n_faces=50_000, seed=2)
    mesh.vertices = np.round(mesh.vertices, 2)  # exactly representable at 5 decimals
    back = Mesh.from_obj(mesh.to_obj())
    np.testing.assert_allclose(back.vertices, mesh.vertices, atol=1e-2)
    np.testing.assert_array_equal(back.faces, mesh.faces)


def test_obj_face_forms_negative_indices_polygons_and_comments():
    text = """# a comment
o thing
v 0 0 0
v 1 0 0   # trailing comment
v 1 1 0
vt 0.5 0.5
vn 0 0 1
f 1/1/1 2/1/1 3/1/1
v 0 1 0
f -4//1 -2//1 -1//1
f 1/1 2/1 3/1 4/1
s off
g group
f 4 3 2
"""
    mesh = Mesh.from_obj(text, segid=2)
    assert len(mesh) == 4
    np.testing.assert_array_equal(
        mesh.faces, [[0, 1, 2], [0, 2, 3], [0, 1, 2], [0, 2, 3], [3, 2, 1]]
    )
    np.testing.assert_array_equal(mesh.normals, [[0, 0, 1]])
    theirs = cloudvolume.Mesh.from_obj("v 0 0 0\nv 1 0 0\nv 1 1 0\nvn 0 0 1\nf 1/1/1 2/2/1 3/3/1\n")
    ours = Mesh.from_obj("v 0 0 0\nv 1 0 0\nv 1 1 0\nvn 0 0 1\nf 1/1/1 2/2/1 3/3/1\n")
    assert ours == theirs and ours.encoding_type == theirs.encoding_type


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v 0 0\n", "line 1: 'v' needs three numbers"),
        ("v 0 0 0\nv 1 0 0\nv 0 x 0\n", "line 3: vertex coordinate 'x'"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\n\nf 1 2\n", "line 5: a face needs at least three"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", "line 4: face vertex 4 is outside"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 0\n", "line 4: face vertex 0 is outside"),
        ("v 0 0 0\nv 1 0 0\nf -3 1 2\nv 0 1 0\n", "line 3: face vertex -3 is outside"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3.5\n", "line 4: face vertex '3.5' is not an integer"),
        (b"v 0 0 0\xff\n", "not UTF-8"),
    ],
)
def test_obj_malformed_names_segid_and_line(text, message):
    with pytest.raises(MeshDecodeError, match="segid 31") as info:
        Mesh.from_obj(text, segid=31)
    assert message in str(info.value)


@pytest.mark.parametrize("as_bytes", [True, False])
def test_obj_with_a_byte_order_mark(as_bytes):
    text = "\ufeffv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    mesh = Mesh.from_obj(text.encode("utf-8") if as_bytes else text, segid=2)
    np.testing.assert_array_equal(mesh.vertices, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])
    # the line parser (taken for indented lines) skips it too
    slow = Mesh.from_obj(text.replace("f 1", " f 1").encode("utf-8"))
    np.testing.assert_array_equal(slow.faces, [[0, 1, 2]])


def test_flat_faces_of_bad_length_cannot_be_encoded():
    with pytest.raises(EncodingError, match="multiple of 3"):
        Mesh(TETRA_V, [0, 1, 2, 3]).to_ply()


# --- Draco -----------------------------------------------------------------------------------


def triangle_set(mesh: Mesh, decimals: int = 3) -> set:
    """Triangles by rounded coordinates, each rotated to start at its smallest corner
    (Draco keeps the winding but may start a triangle at another corner)."""
    out = set()
    for tri in np.round(mesh.triangles(), decimals).tolist():
        corners = [tuple(c) for c in tri]
        k = corners.index(min(corners))
        out.add(tuple(corners[k:] + corners[:k]))
    return out


def test_draco_round_trip_preserves_triangles():
    mesh = Mesh(TETRA_V * 8, TETRA_F, segid=5)
    data = mesh.to_draco(quantization_bits=16)
    back = Mesh.from_draco(data, segid=5)
    assert back.encoding_type == "draco" and back.segid == 5
    assert triangle_set(back, 2) == triangle_set(mesh, 2)
    theirs = cloudvolume.Mesh.from_draco(data)
    np.testing.assert_array_equal(back.vertices, theirs.vertices)
    np.testing.assert_array_equal(back.faces, theirs.faces)


def test_draco_options_pass_through():
    rng = np.random.default_rng(4)
    mesh = Mesh(rng.uniform(0, 100, (200, 3)), rng.integers(0, 200, (300, 3)))
    coarse = Mesh.from_draco(mesh.to_draco(quantization_bits=4, preserve_order=True))
    fine = Mesh.from_draco(mesh.to_draco(quantization_bits=20, preserve_order=True))
    assert len(mesh.to_draco(quantization_bits=4)) < len(mesh.to_draco(quantization_bits=20))
    # preserve_order keeps the faces in order, so triangles compare position by position
    assert fine.faces.shape == coarse.faces.shape == (300, 3)
    assert np.max(np.abs(fine.triangles() - mesh.triangles())) < 1e-3
    assert np.max(np.abs(coarse.triangles() - mesh.triangles())) > 1.0


def test_draco_empty_and_errors():
    assert Mesh([], []).to_draco() == b""
    assert Mesh.from_draco(b"").empty()
    with pytest.raises(MeshDecodeError, match=r"segid 17.*not a valid Draco"):
        Mesh.from_draco(b"garbage bytes", segid=17)
    import DracoPy

    cloud = DracoPy.encode(TETRA_V)
    with pytest.raises(MeshDecodeError, match="point cloud"):
        Mesh.from_draco(cloud, segid=17)
    with pytest.raises(EncodingError, match="Draco encoding failed"):
        tetra().to_draco(quantization_bits=99)


def test_fan_triangulate_mixed_sizes():
    flat = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    lengths = np.array([3, 5, 4])
    np.testing.assert_array_equal(
        mesh_files.fan_triangulate(flat, lengths),
        [[0, 1, 2], [3, 4, 5], [3, 5, 6], [3, 6, 7], [8, 9, 10], [8, 10, 11]],
    )


def test_decoders_accept_bytearray_and_memoryview():
    mesh = tetra()
    for wrap in (bytearray, memoryview):
        assert Mesh.from_precomputed(wrap(mesh.to_precomputed())) == mesh
        assert Mesh.from_ply(wrap(bytes(mesh.to_ply()))) == mesh
        assert Mesh.from_obj(wrap(mesh.to_obj())) == mesh


def test_ply_ascii_negative_list_length_names_row():
    data = ply_header("ascii", 3, 2) + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n-1 0 1 2\n"
    with pytest.raises(MeshDecodeError, match="element 'face' row 1: list 'vertex_indices'"):
        Mesh.from_ply(data, segid=1)
