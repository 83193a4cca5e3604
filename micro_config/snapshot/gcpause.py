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
