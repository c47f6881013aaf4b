"""The one-line progress bar of the command line (bench, accuracy)."""

import sys
import time


class ProgressBar:
    """A one-line progress bar on stderr: ``label  42% [#####-----] 53/126 ETA 0:31 what``.

    Redrawn in place with a carriage return; close() ends the line.
    """

    def __init__(self, total, label="", width=24, stream=None):
        self.total = max(int(total), 1)
        self.label = label
        self.width = width
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.start = time.perf_counter()
        self._last_len = 0
        self._draw("")

    def _draw(self, what):
        frac = min(self.done / self.total, 1.0)
        filled = round(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        if self.done >= self.total:
            eta = f"in {elapsed:.1f} s"
        elif self.done:
            remaining = elapsed / self.done * (self.total - self.done)
            eta = f"ETA {int(remaining) // 60}:{int(remaining) % 60:02d}"
        else:
            eta = "ETA -:--"
        text = f"{self.label} {frac:4.0%} [{bar}] {self.done}/{self.total} {eta} {what}".rstrip()
        text = text[:110]
        pad = " " * max(self._last_len - len(text), 0)
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._last_len = len(text)

    def update(self, what="", step=1):
        self.done += step
        self._draw(what)

    def clear(self):
        """Blank the line (before printing something else to the stream)."""
        self.stream.write("\r" + " " * self._last_len + "\r")
        self.stream.flush()
        self._last_len = 0

    def close(self):
        self._draw("")
        self.stream.write("\n")
        self.stream.flush()
