"""Matplotlib drawing of a skeleton (the optional ``viewer`` extra)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_skeleton"]

_VIEWER_HINT = "pip install 'cloudvol[viewer]'"
_PALETTE = ("k", "deeppink", "dodgerblue", "mediumaquamarine", "gold")
_RADIUS_NAMES = ("radius", "radii", "r")
_CROSS_SECTION_NAMES = ("cross_section", "x")
_COMPONENT_NAMES = ("component", "components", "c")


def plot_skeleton(
    skel: Any,
    units: str = "nm",
    draw_edges: bool = True,
    draw_vertices: bool = True,
    color_by: str = "radius",
    show: bool = True,
    ax: Any = None,
) -> Any:
    """Draw ``skel`` on 3-D axes (equal scale on x, y, z) and return the figure.

    Edges are line segments; vertices are coloured by ``radius`` ('radius', 'radii',
    'r'), by ``cross_sectional_area`` ('cross_section', 'x'), by connected component
    ('component', 'components', 'c') or black (anything else). ``show=False`` builds
    the figure without pyplot (no display needed); ``ax`` draws into existing 3-D axes.
    """
    try:
        from matplotlib.figure import Figure
        from mpl_toolkits.mplot3d.art3d import Line3DCollection
    except ImportError as exc:
        raise ImportError(f"Skeleton.viewer() needs matplotlib: {_VIEWER_HINT}") from exc

    axes: Any = ax  # 3-D axes methods are not on matplotlib's Axes type
    if axes is None:
        if show:
            import matplotlib.pyplot as plt

            axes = plt.figure(figsize=(10, 10)).add_subplot(projection="3d")
        else:
            axes = Figure(figsize=(10, 10)).add_subplot(projection="3d")
    figure = axes.figure
    for set_label in (axes.set_xlabel, axes.set_ylabel, axes.set_zlabel):
        set_label(units)
    if skel.vertices.size:
        lo = skel.vertices.min(axis=0).astype(np.float64)
        hi = skel.vertices.max(axis=0).astype(np.float64)
        flat = hi - lo == 0  # a flat skeleton still needs some extent on its thin axis
        lo, hi = lo - 0.5 * flat, hi + 0.5 * flat
        axes.set_xlim(lo[0], hi[0])
        axes.set_ylim(lo[1], hi[1])
        axes.set_zlim(lo[2], hi[2])
        # the box's sides proportional to the data ranges: one unit is equally long on
        # x, y and z (matplotlib's default box is 4:4:3 whatever the data)
        axes.set_box_aspect(hi - lo)

    by_component = color_by in _COMPONENT_NAMES
    field = None
    if color_by in _RADIUS_NAMES:
        field = "radius"
    elif color_by in _CROSS_SECTION_NAMES:
        field = "cross_sectional_area"
    for i, piece in enumerate(skel.components() if by_component else [skel]):
        color = _PALETTE[i % len(_PALETTE)] if by_component else "k"
        if draw_edges and piece.edges.size:
            segments = piece.vertices[piece.edges]
            edge_color = "silver" if draw_vertices else color
            axes.add_collection3d(Line3DCollection(segments, colors=edge_color, linewidths=1))
        if not draw_vertices or not piece.vertices.size:
            continue
        x, y, z = piece.vertices.T
        values = getattr(piece, field, None) if field else None
        if values is not None and np.ndim(values) == 1:
            points = axes.scatter(x, y, z, c=values, cmap="rainbow", marker="o")
            label = "radius" if field == "radius" else "cross sectional area"
            unit = units if field == "radius" else f"{units}^2"
            figure.colorbar(points, ax=axes).set_label(f"{label} ({unit})", rotation=270)
        else:
            axes.scatter(x, y, z, color=color, marker=".")
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return figure
