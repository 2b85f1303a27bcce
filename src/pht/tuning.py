"""Process-wide memory tuning for programs that own their process: the ``pht`` command applies it
(``--tune-memory``, the default) and the benchmarks do; no room of the library ever calls it.

Library code never changes process-wide settings: a program that imports pht keeps its own
allocator and its own numpy and Arrow settings. The command owns its process, so it may tune it
for the large arrays of the generator and the importers:

- glibc (``mallopt``) keeps freed memory for the next array instead of returning it at once
  (mmap threshold 32 MiB, trim threshold 2 GiB). The generator makes and frees many arrays of a
  few to a few tens of megabytes; by default each is handed back and the next costs fresh page
  faults (system time was a third of a national run).
- numpy's advice to back large arrays with huge pages is switched off: on arrays that live for
  milliseconds the kernel spends more zeroing 2 MiB pages than it saves (pilot 2015-2023: 7 s
  instead of 11 s of system time, 29.9 s instead of 33.3 s wall, median of runs).
- Arrow allocates from the C library's allocator instead of mimalloc: reading a 5,000,000-contact
  Parquet file cost 1.2-1.5 s more system time (page faults) with mimalloc.

``pht --no-tune-memory ...`` leaves all three as they are. Benchmarks call :func:`tune_process`
themselves to measure what the command does.
"""

from __future__ import annotations

import ctypes
import importlib
import sys

__all__ = ["tune_process"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_process() -> list[str]:
    """Apply the three settings above to this process; the names of those that took effect."""
    done = []
    if _glibc_keeps_freed_memory():
        done.append("malloc")
    if _no_huge_page_advice():
        done.append("numpy-hugepage")
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    done.append("arrow-system-pool")
    return done


def _glibc_keeps_freed_memory() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
    mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    return True


def _no_huge_page_advice() -> bool:
    # numpy reads NUMPY_MADVISE_HUGEPAGE only when it is imported, which the command has done by
    # the time its options are parsed; this setter is the switch numpy documents beside it.
    try:
        setter = importlib.import_module("numpy._core.multiarray")._set_madvise_hugepage
    except (ImportError, AttributeError):
        return False
    setter(False)
    return True
