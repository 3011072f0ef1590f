"""Progress of a batch: a tqdm bar (counts, failures, ETA) on a terminal; plain log lines when
standard error is not a terminal or ``CI`` is set; nothing with ``off``."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

log = logging.getLogger("perfkit.batch")

MODES = ("bar", "log", "off")


def auto_mode() -> str:
    """``bar`` on an interactive terminal outside CI, else ``log``."""
    ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return "bar" if sys.stderr.isatty() and not ci else "log"


def fmt_seconds(seconds: float) -> str:
    """``75`` → ``1m15s``; ``4`` → ``4s``."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """Counts finished jobs; ``mode`` is ``bar``, ``log``, ``off`` or None (auto)."""

    def __init__(self, total: int, mode: str | None = None, label: str = "reports") -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.mode = mode or auto_mode()
        self.t0 = time.perf_counter()
        self.bar = None
        if self.mode == "bar" and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="report", desc=label, file=sys.stderr,
                            dynamic_ncols=True, postfix={"failed": 0})

    def update(self, key: str, record: dict[str, Any]) -> None:
        self.done += 1
        status = record.get("status")
        if status == "failed":
            self.failed += 1
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)
            if status == "failed":
                err = record.get("error") or {}
                self.bar.write(f"failed: {key}: {err.get('exception')}: {err.get('message')}")
        elif self.mode == "log":
            elapsed = time.perf_counter() - self.t0
            eta = elapsed / self.done * (self.total - self.done)
            seconds = record.get("seconds")
            took = f" in {seconds:.1f}s" if isinstance(seconds, int | float) else ""
            extra = ""
            if status == "failed":
                err = record.get("error") or {}
                extra = f" ({err.get('exception')}: {err.get('message')})"
            log.info("[%d/%d] %s %s%s%s; %d failed, ETA %s", self.done, self.total, status, key,
                     took, extra, self.failed, fmt_seconds(eta))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
