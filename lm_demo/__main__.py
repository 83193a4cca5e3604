"""``python -m lm_demo`` is ``python -m lm_demo.train``."""

import sys

from .train import main

sys.exit(main())
