"""Informal Indonesian -> formal word forms, for features only.

The resident's text is never changed.

Pure Python, used by the `NormalizingTokenizer` component and by the evaluation tools.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parent.parent / "data" / "normalization"
_REPEATS = re.compile(r"(\w)\1{2,}")  # "tolonggg" -> "tolong", but keep "maaf"
_REDUPLICATION = re.compile(r"^([a-z]{2,})2$")  # "anak2" -> "anak-anak"


@lru_cache(maxsize=4)
def load_lexicon(directory: Path = LEXICON_DIR) -> dict[str, str]:
    """informal -> formal; project overrides win, "=" keeps a word as it is."""
    lexicon: dict[str, str] = {}
    with (directory / "indo-collex-transformations.csv").open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            lexicon[record["transformed"].strip().lower()] = record["original-for"].strip().lower()
    for name in ("indo-collex-dictionary.tsv", "pintu-overrides.tsv"):
        with (directory / name).open(encoding="utf-8") as handle:
            reader = csv.reader(handle, delimiter="\t")
            next(reader, None)
            for row in reader:
                if len(row) >= 2 and row[0].strip():
                    informal = row[0].strip().lower()
                    formal = row[1].strip().lower()
                    lexicon[informal] = informal if formal == "=" else formal
    # Numbers with units ("10rb", "1007mb") are noise for intent features; leave them alone.
    return {k: v for k, v in lexicon.items() if not any(ch.isdigit() for ch in k)}


def normalize_word(word: str, lexicon: dict[str, str] | None = None) -> str:
    """The formal form of one word (lower-cased), or the word itself when unknown."""
    lexicon = load_lexicon() if lexicon is None else lexicon
    lowered = word.lower()
    if lowered in lexicon:
        return lexicon[lowered]
    squeezed = _REPEATS.sub(r"\1", lowered)
    if squeezed in lexicon:
        return lexicon[squeezed]
    match = _REDUPLICATION.match(squeezed)
    if match:
        base = lexicon.get(match.group(1), match.group(1))
        return f"{base}-{base}"
    return squeezed


def normalize_text(text: str) -> str:
    """Normalizes every whitespace-separated word; for tools and reports."""
    lexicon = load_lexicon()
    return " ".join(normalize_word(w, lexicon) for w in text.split())
