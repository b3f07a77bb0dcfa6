"""Errors of the interactive layer, shared by :mod:`.model` and :mod:`.optimise` (a module of
its own, so that neither imports the other at import time)."""

from __future__ import annotations

__all__ = ["CutRangeError"]


class CutRangeError(ValueError):
    """A cut value the stored table cannot evaluate (looser than the preselection, not a number)."""
