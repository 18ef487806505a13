"""The library's log: what it cannot return to a caller (a failed background
flush, a snapshot or state encoding that failed after a successful save,
recovery cutting a torn tail), routed to a Python function.

The handler is process-wide and called from any thread, possibly at once
from several; it must not call back into estoria. An exception it raises
cannot go back into C: it is printed (traceback) and dropped.

Every callback object ever installed is kept alive: a library thread may be
inside the previous handler while a new one is set, and freeing its ctypes
trampoline then would crash.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable, List, Optional

from . import _native as n

ERROR = 0
WARNING = 1
INFO = 2

_installed: List[object] = []  # every trampoline ever handed to the library
_lock = threading.Lock()


def set_log_handler(handler: Optional[Callable[[int, str], None]]) -> None:
    """Sends the library's log lines to handler(level, message); None discards them."""
    if handler is not None and not callable(handler):
        raise TypeError("handler must be callable or None")
    with _lock:
        if handler is None:
            n.lib.est_set_log_handler(n.log_fn(), None)
            return

        def trampoline(_user: Optional[int], level: int, message: Optional[bytes]) -> None:
            try:
                handler(level, (message or b"").decode("utf-8", "replace"))
            except BaseException:  # noqa: B036 - nothing may unwind into C
                try:
                    traceback.print_exc()
                except BaseException:  # pragma: no cover
                    pass

        callback = n.log_fn(trampoline)
        _installed.append(callback)
        n.lib.est_set_log_handler(callback, None)


_LEVELS = {ERROR: logging.ERROR, WARNING: logging.WARNING, INFO: logging.INFO}


def log_to_logging(logger: Optional[logging.Logger] = None) -> None:
    """Sends the library's log to the `logging` logger "estoria" (or the one given)."""
    target = logger if logger is not None else logging.getLogger("estoria")
    set_log_handler(lambda level, message: target.log(_LEVELS.get(level, logging.ERROR), "%s", message))
