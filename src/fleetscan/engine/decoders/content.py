"""Importing this registers every content decoder: everything but archives and compressors.

Every decoder that claims a layer is asked, so the registry's order only orders the layers; no decoder claims the
normalised text layer (``text.NORMALISED``), so that layer ends its branch of the walk.
"""

from __future__ import annotations

from . import html, mail, ole2, pdf, rtf, text, tnef

__all__ = ["html", "mail", "ole2", "pdf", "rtf", "text", "tnef"]
