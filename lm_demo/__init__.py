"""The micro_config demo: a transformer language model trained from the configs in ``schemas``.

``python -m lm_demo.train`` trains it, ``python -m lm_demo.resume PATH`` continues a run.
Importing this package is cheap; torch is imported by its submodules.
"""
