"""A package a class swap must never import (see trap_pkg.evil)."""
