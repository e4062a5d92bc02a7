"""`make demo` keeps working: a small run builds, verifies and reports every layer."""

from __future__ import annotations

from cloudvol import CloudVolume
from cloudvol.demo import LAYERS, main


def test_demo_builds_and_verifies_every_layer(tmp_path, capsys):
    main(["--dir", str(tmp_path / "demo"), "--cutouts", "3", "--shape", "96", "80", "40"])
    out = capsys.readouterr().out
    for layer in LAYERS:
        assert f"{layer.name}: " in out
        vol = CloudVolume(f"file://{tmp_path}/demo/{layer.name}")
        assert vol.encoding == layer.encoding and len(vol.available_mips) == 3
    assert out.count("all verified") == len(LAYERS)
    assert "all identical" in out and "all equivalent" in out


def test_demo_meshes_and_skeletons_read_back_with_cloudvolume(tmp_path, capsys):
    from cloudvolume import CloudVolume as CV

    main(["--dir", str(tmp_path / "demo"), "--cutouts", "1", "--shape", "128", "128", "48"])
    url = f"file://{tmp_path}/demo/segmentation"
    ours, theirs = CloudVolume(url), CV(url)
    ids = sorted(ours.mesh.spatial_index.query(ours.bounds * ours.resolution))
    assert len(ids) > 5
    mesh = ours.mesh.get(ids[:5])
    assert len(mesh.faces) == len(theirs.mesh.get(ids[:5]).faces)
    skel_ids = ours.skeleton.list().tolist()
    assert skel_ids and set(skel_ids) <= set(ids)  # every skeletonized label was meshed
    assert (
        ours.skeleton.get(skel_ids[0]).vertices.shape
        == theirs.skeleton.get(skel_ids[0]).vertices.shape
    )
