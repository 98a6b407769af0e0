"""Stage timers for `make bench`: each costs one `is None` check when nobody records.

`with stage("embed"): ...` adds the time spent to the active `Recorder`, if any.
The recorder is process-wide, not per thread or per task, because the bench
times one question at a time; a server never installs one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

_active: Recorder | None = None


class Recorder:
    """Seconds spent per stage while active: `with Recorder() as rec: ...; rec.seconds`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def __enter__(self) -> Recorder:
        global _active
        _active = self
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        global _active
        _active = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block into the active recorder; nothing happens without one."""
    recorder = _active
    if recorder is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        recorder.seconds[name] += time.perf_counter() - started
