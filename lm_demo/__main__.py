"""``python -m lm_demo`` is ``python -m lm_demo.train``."""

from .console import run_command
from .train import main

run_command(main)
