"""Progress bars for long runs (sweeps, Monte-Carlo runs, verify): tqdm on stderr, drawn
only on a terminal, only once the work has run for `PROGRESS_DELAY` seconds, erased when
done, and never with --quiet.

    from spattenc.progress import Progress
    with Progress(total, unit="vectors", quiet=args.quiet) as bar:
        for ...:
            bar.update(done)          # absolute count of finished units
"""

from __future__ import annotations

import sys

from tqdm import tqdm

# Quick work draws nothing: a bar appears only after this many seconds.
PROGRESS_DELAY = 1.0
# Redraws at most this often (seconds), so drawing costs nothing against the work.
MIN_INTERVAL = 0.2


class Progress:
    """A tqdm bar counting `total` units; `update(done)` takes the absolute count done.

    `quiet` turns it off; otherwise it is drawn only when `stream` (default stderr) is a
    terminal (`enabled` forces it on or off) and the work has lasted `delay` seconds."""

    def __init__(self, total: int, unit: str = "trial-evaluations", quiet: bool = False,
                 enabled: bool | None = None, delay: float | None = None, stream=None, desc: str | None = None):
        self.stream = stream if stream is not None else sys.stderr
        on = (not quiet) and (_isatty(self.stream) if enabled is None else enabled)
        self.total = max(1, int(total))
        self.done = 0
        # mininterval keeps redraws cheap; leave=False erases the bar when the work ends.
        self._bar = tqdm(total=self.total, unit=f" {unit}", unit_scale=self.total >= 100_000, file=self.stream,
                         leave=False, delay=PROGRESS_DELAY if delay is None else delay, disable=not on, desc=desc,
                         mininterval=MIN_INTERVAL, miniters=1, dynamic_ncols=True, bar_format=_FORMAT)

    def update(self, done: int) -> None:
        """Record that `done` units (absolute, not an increment) are finished."""
        done = min(int(done), self.total)
        if done > self.done:
            self._bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# "37%|####      | 3.70M/10.0M trial-evaluations [00:04<00:07, 890k trial-evaluations/s]"
_FORMAT = "{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} [{elapsed}<{remaining}, {rate_fmt}]"


def _isatty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
