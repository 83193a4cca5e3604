"""Build the shipped ``wikitext-tiny`` corpus from the documentation text inside Python itself.

The source is ``pydoc_data.topics`` (the help text of the language reference, PSF licence),
formatted like wikitext-2-raw: `` = Title = `` headings, `` = = Sub = = `` subheadings, one
paragraph per line, blank lines between. Run once (``python lm_demo/data/make_corpus.py``);
the output is committed, so the demo needs no network and no particular Python version.
"""

from __future__ import annotations

import re
from pathlib import Path
from pydoc_data.topics import topics

OUT = Path(__file__).resolve().parent / "wikitext-tiny"
TRAIN_BYTES = 240_000  # caps keep the package small and the default run about a minute
VALID_BYTES = 30_000
VALID_EVERY = 8  # every 8th topic goes to the validation split
UNDERLINES = {"*": 1, "=": 2, "-": 3}


def to_wikitext(text: str) -> str:
    """One topic as wikitext lines: headings from reST underlines, paragraphs joined."""
    lines: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = [row.rstrip() for row in block.splitlines() if row.strip()]
        if not rows:
            continue
        underline = rows[-1]
        if len(rows) == 2 and set(underline) <= set(UNDERLINES) and len(set(underline)) == 1:
            marks = " ".join("=" * UNDERLINES[underline[0]])
            lines.append(f" {marks} {rows[0].strip()} {marks} ")
        else:
            lines.append(" " + " ".join(row.strip() for row in rows) + " ")
        lines.append(" ")
    return "\n".join(lines) + "\n"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    train: list[str] = []
    valid: list[str] = []
    for index, name in enumerate(sorted(topics)):
        split, cap = (valid, VALID_BYTES) if index % VALID_EVERY == 3 else (train, TRAIN_BYTES)
        article = to_wikitext(topics[name])
        if sum(len(part.encode()) for part in split) + len(article.encode()) <= cap:
            split.append(article)
    for name, split in (("wiki.train.raw", train), ("wiki.valid.raw", valid)):
        path = OUT / name
        path.write_text(" \n" + "".join(split), encoding="utf-8")
        print(f"{path}: {path.stat().st_size} bytes, {len(split)} articles")


if __name__ == "__main__":
    main()
