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
