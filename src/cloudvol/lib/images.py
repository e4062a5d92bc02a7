"""Writing a volume out as a stack of 2-D images for a quick look (needs Pillow)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from cloudvol.lib.helpers import mkdir, toabs

__all__ = ["save_images"]

_AXES = {"x": 0, "y": 1, "z": 2}


def _import_pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "cloudvol.lib.save_images needs Pillow, which is not installed: pip install pillow"
        ) from error
    return Image


def _normalize_float(image: np.ndarray) -> np.ndarray:
    """Scale finite values to 0..255 as uint8 (infinities count as 0)."""
    image = np.where(np.isinf(image), 0, image)
    lower, upper = image.min(), image.max()
    if upper == lower:
        return np.zeros(image.shape, dtype=np.uint8)
    return ((image - lower) / (upper - lower) * 255.0).astype(np.uint8)


def _to_pillow(Image: Any, plane: np.ndarray) -> Any:
    """A Pillow image for one 2-D plane: 8-bit grey, 16-bit grey or opaque RGBA."""
    if plane.dtype == bool:
        plane = plane.astype(np.uint8) * 255
    if plane.dtype in (np.uint8, np.uint16):
        return Image.fromarray(np.ascontiguousarray(plane))
    # Other integer types: the low three bytes become R, G, B; alpha is opaque.
    rgba = np.ascontiguousarray(plane.astype("<u4") | np.uint32(0xFF000000))
    return Image.fromarray(rgba.view(np.uint8).reshape(*plane.shape, 4))


def save_images(
    image: np.ndarray,
    directory: str | None = None,
    axis: str = "z",
    channel: int | None = None,
    global_norm: bool = True,
    image_format: str = "PNG",
    progress: bool = True,
) -> str:
    """Write ``image`` (x, y, z[, channel]) as one image file per slice along ``axis``.

    Files are named ``00000.png``, ``00001.png``… (prefixed ``{channel}-`` when several
    channels are written). Float volumes are scaled to 0..255, over the whole volume
    if ``global_norm`` else per slice; booleans become 0/255; uint8 and uint16 are
    written as grey; other integers as RGB. ``z`` slices are written with y down and
    x across. ``channel`` picks one channel (default: all). Returns the absolute
    directory, by default ``./saved_images/default/default/0/{bbox}``.
    Raises ``ImportError`` if Pillow is not installed.
    """
    from tqdm import tqdm

    Image = _import_pillow()
    if axis not in _AXES:
        raise ValueError(f"axis must be one of 'x', 'y', 'z', got {axis!r}.")
    index = _AXES[axis]

    if directory is None:
        shape = image.shape[:3]
        name = "_".join(f"0-{extent}" for extent in shape)
        directory = os.path.join("./saved_images", "default", "default", "0", name)
    mkdir(directory)
    if progress:
        print(f"Saving to {directory}")

    while image.ndim < 4:
        image = image[..., np.newaxis]
    channels: Any = slice(None) if channel is None else channel
    if global_norm and np.issubdtype(image.dtype, np.floating):
        image = _normalize_float(image)

    for level in tqdm(range(image.shape[index]), desc="Saving Images", disable=not progress):
        selector: list[Any] = [slice(None)] * 3
        selector[index] = level
        planes = image[(*selector, channels)]
        while planes.ndim < 3:
            planes = planes[..., np.newaxis]
        num_channels = planes.shape[2]

        for channel_index in range(num_channels):
            plane = planes[:, :, channel_index]
            if not global_norm and np.issubdtype(plane.dtype, np.floating):
                plane = _normalize_float(plane)
            if index == 2:
                # (x, y) array -> image rows are y, columns are x.
                plane = plane.T
            filename = f"{str(level).zfill(5)}.{image_format.lower()}"
            if num_channels > 1:
                filename = f"{channel_index}-{filename}"
            _to_pillow(Image, plane).save(os.path.join(directory, filename), image_format)

    return toabs(directory)
