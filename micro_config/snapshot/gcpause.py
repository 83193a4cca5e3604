"""The conditions a whole dump or load runs under: the cyclic garbage collector paused, and
room on the call stack for the format's depth limit."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator

from .format import DEPTH_LIMIT, depth_error

# Python frames a recursive walk may spend per level of data (dump, emit, load: two to four),
# on top of the caller's own: a tree DEPTH_LIMIT deep fits, whatever the default limit is.
_ROOM = 6 * DEPTH_LIMIT + 1000


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a big dump or load allocates millions of objects
    that live on, and the collector would rescan them again and again (a third of the time).

    Also make room for a tree :data:`~.format.DEPTH_LIMIT` levels deep on the call stack, and
    turn running out of it into the format's depth error (a ConfigError, never a
    RecursionError)."""
    was_enabled = gc.isenabled()
    gc.disable()
    limit = sys.getrecursionlimit()
    if limit < _ROOM:
        sys.setrecursionlimit(_ROOM)
    try:
        yield
    except RecursionError:
        raise depth_error(" (or endlessly recursive)") from None
    finally:
        if limit < _ROOM:
            sys.setrecursionlimit(limit)
        if was_enabled:
            gc.enable()


def _frames() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1
    return n


@contextlib.contextmanager
def recursion_room(levels: int) -> Iterator[None]:
    """Room for about ``levels`` more nested calls of C code that counts against the recursion
    limit (``json``'s encoder and decoder: one per level of data), and no more, so that deep
    input stops there instead of exhausting the C stack. About: calls into Python from C
    higher up the stack count too, so a caller that must be exact retries with more room and
    checks the depth itself (see emit/parse)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_frames() + levels + 2)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)
