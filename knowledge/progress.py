"""Progress of long work: a tqdm bar with an ETA on a terminal, a few plain lines in a log.

`make eval`, `make load`, `make bench` and index builds over many articles run
for minutes. On a terminal they show a tqdm bar; when the stream is not a
terminal (CI logs, `| tee`), carriage-return redraws would fill the log, so
the same progress is printed as sparse plain lines instead: one each time
another tenth of the work is done, or after `seconds` without a line, e.g.

    load: 120/1000 replies (12 %) elapsed 1m03s, about 7m42s left

tqdm is imported only for the bar, so this module (and knowledge/) works
without it in a log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO


def duration(seconds: float) -> str:
    """Seconds as `45s`, `3m07s` or `1h02m`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Counts done units of `total`; a bar on a terminal, a line per tenth (or per `seconds`) elsewhere.

    `tty` forces one mode (tests); by default it is the stream's isatty(). Use
    `write` for a message while the bar runs, so that it does not tear the bar.
    """

    def __init__(
        self, total: int, desc: str = "", unit: str = "it", *, stream: TextIO | None = None,
        tty: bool | None = None, seconds: float = 30.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.desc, self.unit = max(0, int(total)), desc, unit
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.tty = _is_tty(self.stream) if tty is None else tty
        self.seconds, self.clock = seconds, clock
        self.done = 0
        self.started = self._last_at = clock()
        self._last_done = 0
        self._closed = False
        self.bar: Any = None
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total or None, desc=desc or None, unit=f" {unit}", file=self.stream,
                            mininterval=0.5, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        """`n` more units done."""
        if n <= 0 or self._closed:
            return
        before, self.done = self.done, self.done + n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = self.clock()
        tenth = self.total and self.done * 10 // self.total != before * 10 // self.total
        if tenth or now - self._last_at >= self.seconds:
            self._line(now)

    def line(self, now: float | None = None) -> str:
        """The plain progress line: counts, share, elapsed time and what is left."""
        now = self.clock() if now is None else now
        elapsed = now - self.started
        head = f"{self.desc}: " if self.desc else ""
        if not self.total:
            return f"{head}{self.done} {self.unit} elapsed {duration(elapsed)}"
        share = f"{self.done}/{self.total} {self.unit} ({100 * self.done // self.total} %)"
        if self.done >= self.total:
            return f"{head}{share} done in {duration(elapsed)}"
        left = f", about {duration(elapsed / self.done * (self.total - self.done))} left" if self.done else ""
        return f"{head}{share} elapsed {duration(elapsed)}{left}"

    def _line(self, now: float) -> None:
        print(self.line(now), file=self.stream, flush=True)
        self._last_at, self._last_done = now, self.done

    def write(self, message: str) -> None:
        """A message line, above the bar on a terminal."""
        if self.bar is not None:
            self.bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar; in a log, a last line unless the last one already said as much."""
        if self._closed:
            return
        self._closed = True
        if self.bar is not None:
            self.bar.close()
        elif self.done != self._last_done:
            self._line(self.clock())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
