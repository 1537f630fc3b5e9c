"""Progress of a batch: a bar with count, rate and ETA on a terminal; plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

BAR_WIDTH = 28
PLAIN_EVERY_SECONDS = 10.0


def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts graded submissions of ``total``; ``None`` stream means silent.

    On a TTY it redraws one line (``[####....] 45/200  3.1/s  ETA 0:50``); elsewhere it prints a
    plain line every ``PLAIN_EVERY_SECONDS`` and one at the end, so logs stay short.
    """

    def __init__(self, total: int, stream: Optional[TextIO] = sys.stderr, tty: Optional[bool] = None) -> None:
        self.total = total
        self.stream = stream
        self.tty = bool(stream is not None and (stream.isatty() if tty is None else tty))
        self.done = 0
        self.failed = 0
        self.start = time.monotonic()
        self._last_plain = self.start
        self._drawn = False

    def advance(self, failed: bool = False) -> None:
        """One more submission finished (``failed``: it could not be graded)."""
        self.done += 1
        self.failed += int(failed)
        self.draw()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The current progress as text."""
        rate = self.rate
        left = self.total - self.done
        eta = format_duration(left / rate) if rate > 0 else "?"
        failed = f"  {self.failed} failed" if self.failed else ""
        counts = f"{self.done}/{self.total}  {rate:.1f}/s  ETA {eta}{failed}"
        if not self.tty:
            return f"graded {counts}"
        filled = int(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {counts}"

    def draw(self, force: bool = False) -> None:
        if self.stream is None or self.total == 0:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
            self._drawn = True
        elif force or self.done in (1, self.total) or now - self._last_plain >= PLAIN_EVERY_SECONDS:
            self._last_plain = now
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line without breaking the bar."""
        if self.stream is None:
            return
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        if self.tty and self._drawn:
            self.stream.write(self.line())
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
