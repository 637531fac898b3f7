"""Child processes that end with their parent: workers and isolated adversaries."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

__all__ = ["die_with"]


def die_with(parent: int) -> None:
    """End this process when ``parent`` does, and leave Ctrl-C to the parent.

    Linux: the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); elsewhere a watchdog thread
    notices the parent is gone. Ctrl-C is ignored here: the parent stops the run between
    chunks and ends its children itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    linux = sys.platform.startswith("linux")
    if linux:
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the signal was set
    if not linux:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
