"""``python -m micro_config``: the same command as ``micro-config``."""

from .commands import main

raise SystemExit(main())
