"""The experiments' one way to hand back a result: print it, and write it when asked."""

from __future__ import annotations

import json
from pathlib import Path


def emit(doc: dict, out: str | Path | None) -> dict:
    """Print ``doc`` as indented JSON and, with ``out``, write the same text there."""
    text = json.dumps(doc, indent=1)
    if out:
        Path(out).write_text(text + "\n")
    print(text)
    return doc
