"""``python -m micro_config``: the same command as ``micro-config``."""

from .commands.main import main

raise SystemExit(main())
