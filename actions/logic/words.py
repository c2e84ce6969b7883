"""Short answers residents type for yes, cancel and skip."""

from __future__ import annotations

import re

_YES = {"ya", "iya", "y", "yes", "ok", "oke", "okay", "kirim", "benar", "betul", "setuju", "lanjut",
        "sip", "siap", "yoi", "yup", "ya kirim", "ya, kirim", "muhun", "nggih", "enggih", "heeh"}
_CANCEL = {"batal", "tidak", "tdk", "ga", "gak", "nggak", "enggak", "no", "jangan", "cancel",
           "gajadi", "ga jadi", "gak jadi", "nggak jadi", "tidak jadi", "stop", "berhenti", "kagak"}
_SKIP = {"lewati", "lewat", "skip", "tidak ada", "tidak", "ga ada", "gak ada", "nggak ada", "gada",
         "nanti", "tanpa foto", "ga", "gak", "tdk ada", "kosong", "-"}


def _clean(text: str) -> str:
    return re.sub(r"[^\w\s,]", "", text.lower()).strip()


def is_yes(text: str) -> bool:
    return _clean(text) in _YES


def is_cancel(text: str) -> bool:
    return _clean(text) in _CANCEL


def is_skip(text: str) -> bool:
    return _clean(text) in _SKIP
