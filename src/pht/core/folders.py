"""Output folders that are whole or absent: written beside their place, renamed at the end."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_folder(target: Path) -> Iterator[Path]:
    """Yield a hidden, empty folder beside *target* to write into; when the block ends without
    an error it becomes *target* (an existing *target* is swapped out in one rename, then
    removed), and on any error it is removed and *target* stays as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = target.parent / f".{target.name}.partial-{stamp}"
    tmp.mkdir()
    try:
        yield tmp
        if target.exists():
            old = target.parent / f".{target.name}.old-{stamp}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
