"""Turn values the way clerks type them into clean typed values.

(Being written; `normalize_label` is final and used by the header locator.)
"""
from __future__ import annotations

import re
import unicodedata

_LABEL_NOISE = re.compile(r"[\s\"'“”‘’「」『』：:*＊·•]")


def normalize_label(text: object) -> str:
    """A label reduced for matching: NFKC (full-width -> half-width), no spaces, quotes or colons."""
    return _LABEL_NOISE.sub("", unicodedata.normalize("NFKC", str(text)))
