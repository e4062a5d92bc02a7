"""``cloudvol`` command line: ``cloudvol info PATH``, ``cloudvol demo``, ``cloudvol serve DIR``."""

from __future__ import annotations

import argparse
import json
import sys

from cloudvol.exceptions import CloudVolError

__all__ = ["main"]


def _info(args: argparse.Namespace) -> None:
    from cloudvol import CloudVolume

    vol = CloudVolume(args.cloudpath, secrets=args.secrets)
    if args.json:
        print(json.dumps(vol.info, indent=2, sort_keys=True))
        return
    print(
        f"{vol.cloudpath}\n  type {vol.layer_type}, {vol.data_type} × {vol.num_channels} channel(s)"
    )
    for mip in vol.available_mips:
        scale = vol.mip_scale(mip)
        sharded = " sharded" if scale.get("sharding") else ""
        print(
            f"  mip {mip}: key {scale['key']}, size {tuple(vol.mip_volume_size(mip))}, "
            f"offset {tuple(vol.mip_voxel_offset(mip))}, resolution {tuple(vol.mip_resolution(mip))} nm, "
            f"chunk {tuple(vol.mip_chunk_size(mip))}, {scale['encoding']}{sharded}"
        )


def _demo(args: argparse.Namespace) -> None:
    from cloudvol import demo

    demo.main(["--dir", args.dir])


def _serve(args: argparse.Namespace) -> None:
    from cloudvol import server

    server.serve(args.directory, args.port, args.host)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cloudvol", description="Neuroglancer precomputed volumes."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="describe a layer")
    info.add_argument("cloudpath")
    info.add_argument("--json", action="store_true", help="print the info file")
    info.add_argument("--secrets", default=None, help="secrets (JSON text or file path)")
    info.set_defaults(run=_info)
    demo = commands.add_parser("demo", help="build and read back a synthetic dataset")
    demo.add_argument("--dir", default="demo-data")
    demo.set_defaults(run=_demo)
    serve = commands.add_parser("serve", help="serve a local directory to Neuroglancer")
    serve.add_argument("directory")
    serve.add_argument("--port", type=int, default=1337)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except CloudVolError as err:
        print(f"cloudvol: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
