"""Tuning constants and environment settings of the kernels, in one place.

`LOOM_KERNEL_BACKEND` picks a backend (``c``, ``numba`` or ``numpy``) for every call
that does not pass one. `LOOM_NUM_THREADS` caps the threads a call may use (default:
the CPUs this process may run on).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = [
    "BACKEND_VARIABLE",
    "BLOCK_WORDS",
    "CACHE_BUDGET_BYTES",
    "PARALLEL_MIN_WORK",
    "THREADS_VARIABLE",
    "thread_count",
    "thread_limit",
]

BACKEND_VARIABLE = "LOOM_KERNEL_BACKEND"
THREADS_VARIABLE = "LOOM_NUM_THREADS"

# Words per block in rule scoring: 4 KiB per column, so the columns of a batch of about
# 100 literals stay in a 512 KiB L2 cache while every rule visits the block.
BLOCK_WORDS = 512

# Bytes of per-rule block vectors that rule-set and decision-list scoring keep at once;
# their block size shrinks as the number of rules grows so that these stay in cache.
CACHE_BUDGET_BYTES = 512 * 1024

# Below this many word operations (rules x literals x words) a call runs on one thread:
# a second thread costs tens of microseconds to start and join.
PARALLEL_MIN_WORK = 1 << 21


_limit: int | None = None


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Cap the threads of kernel calls made inside the block (None: no cap).

    The cap is process-wide, so it also applies to other threads' calls meanwhile.
    """
    global _limit
    previous = _limit
    _limit = threads
    try:
        yield
    finally:
        _limit = previous


def thread_count() -> int:
    """Return the most threads a kernel call may use (at least 1)."""
    if _limit is not None:
        return max(1, _limit)
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value >= 1:
            return value
        from loom.exceptions import InvalidParameterError

        msg = (
            f"{THREADS_VARIABLE} must be an int >= 1, got {text!r}. Unset it or fix it."
        )
        raise InvalidParameterError(msg)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # sched_getaffinity is Linux only
        return max(1, os.cpu_count() or 1)
