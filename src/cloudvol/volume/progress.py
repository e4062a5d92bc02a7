"""Progress bars for chunk operations (``progress=True``), safe to tick from workers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

__all__ = ["chunk_progress"]


@contextlib.contextmanager
def chunk_progress(enabled: bool, total: int, desc: str) -> Iterator[Callable[[], None]]:
    """Yield a ``tick()`` to call once per finished chunk; a tqdm bar when enabled."""
    if not enabled or total == 0:
        yield lambda: None
        return
    from tqdm import tqdm

    lock = threading.Lock()
    with tqdm(total=total, desc=desc, unit="chunk") as bar:

        def tick() -> None:
            with lock:
                bar.update(1)

        yield tick
