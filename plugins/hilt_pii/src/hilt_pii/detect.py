"""The PII detectors: precompiled patterns, each confirmed by a check before it replaces.

Detectors run in a fixed order, each on the output of the one before: secrets (a key may
hold digits that look like a phone), e-mail addresses, IBANs, payment cards, IP addresses,
then phone numbers (the loosest patterns, last, so they never eat a card or an IBAN). A
placeholder holds no digit and no ``@``, so later detectors never match inside one.

Cost: a regex pass costs about the length of the text, so each detector first asks a
cheap question (is there an ``@``, a ``+``, enough digits, a ``.d.d``?) and most texts
skip most passes. Patterns start with a literal or a character class (a lookbehind, if
any, comes after the first character) so that the regex engine can skip ahead quickly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from hilt_pii import checks

KINDS = ("SECRET", "EMAIL", "IBAN", "CARD", "IP", "PHONE")


class Finding(NamedTuple):
    kind: str
    value: str


_Found = list[Finding] | None


class _Text:
    """The text under scan, with the cheap facts the detectors' gates ask about."""

    __slots__ = ("_low", "_runs", "value")

    def __init__(self, value: str) -> None:
        self.value = value
        self._low: str | None = None
        self._runs: list[tuple[int, int, int]] | None = None

    @property
    def low(self) -> str:
        if self._low is None:
            self._low = self.value.lower()
        return self._low

    def windows(self, min_digits: int = 7) -> list[tuple[int, int]]:
        """Where number-shaped PII with ``min_digits`` digits can be: around each run of
        digits and separators holding that many digits.

        Every card, phone number and IBAN holds such a run; their detectors search only
        these windows (with room on both sides for prefixes, cue words and the letters
        of an IBAN), not the whole text, and skip the text when there is none.
        """
        if self._runs is None:
            runs = []
            for m in _NUMERIC_RUN.finditer(self.value):
                digits = len(m.group(0).translate(_SEPARATORS))
                if digits >= 7:  # no detector here needs fewer
                    runs.append((m.start(), m.end(), digits))
            self._runs = runs
        spans: list[tuple[int, int]] = []
        size = len(self.value)
        for run_start, run_end, digits in self._runs:
            if digits < min_digits:
                continue
            start, end = max(0, run_start - _MARGIN), min(size, run_end + _MARGIN)
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    def set(self, value: str) -> None:
        if value is not self.value:
            self.value = value
            self._low = None
            self._runs = None


_DIGIT = re.compile(r"\d")
_NUMERIC_RUN = re.compile(r"[0-9][0-9 ().+/-]{5,}[0-9]")
_MARGIN = 40
_SEPARATORS = str.maketrans("", "", " ().+/-")  # deletes them: what is left are digits


def _sub(
    pattern: re.Pattern[str],
    text: str,
    fn: Callable[[re.Match[str]], str | None],
    haystack: str | None = None,
    windows: list[tuple[int, int]] | None = None,
) -> str:
    """``pattern.sub`` where ``fn`` returns the replacement, or None to keep the match.

    With ``haystack`` (the lowercased text, same length) the pattern runs on it and the
    spans cut ``text``: a case-sensitive pattern over lowercase is much faster than an
    ``IGNORECASE`` one, whose first character the regex engine cannot skip to. With
    ``windows``, only those ``(start, end)`` ranges are searched.
    """
    hay = text if haystack is None else haystack
    ranges = windows if windows is not None else [(0, len(text))]
    out: list[str] = []
    last = 0
    for start, end in ranges:
        for m in pattern.finditer(hay, max(start, last), end):
            new = fn(m)
            if new is None:
                continue
            out.append(text[last : m.start()])
            out.append(new)
            last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _caseless(
    t: _Text, lower: re.Pattern[str], anycase: re.Pattern[str]
) -> tuple[re.Pattern[str], str | None]:
    """The pattern and haystack for a case-insensitive search of ``t``."""
    low = t.low
    if len(low) == len(t.value):
        return lower, low
    return anycase, None  # a few characters change length when lowercased


def _note(found: _Found, kind: str, value: str) -> None:
    if found is not None:
        found.append(Finding(kind, value))


# -- secrets ------------------------------------------------------------------------------
_BLOCK = re.compile(
    # Cut off (no END line), a private key block runs to the end of the text.
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)"
)
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-[A-Za-z0-9_-]{20,}"  # OpenAI (sk-proj-...), Anthropic (sk-ant-...)
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # a JWT
    r")"
)
# Substrings one of the token patterns needs: a text with none of them skips the pass.
_TOKEN_HINTS_UNDERSCORE = ("k_", "gh", "github_pat_", "hf_", "npm_")
_TOKEN_HINTS = ("sk-", "AKIA", "ASIA", "xox", "AIza", "glpat-", "eyJ")
_AUTH_SRC = r"(?:bearer|basic|token)\s+(?P<v>[a-zA-Z0-9._~+/=-]{16,})"
_AUTH = re.compile(_AUTH_SRC)
_AUTH_ANYCASE = re.compile(_AUTH_SRC, re.IGNORECASE)
_KEYVALUE_SRC = (
    r"(?:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|password|passwd|pwd"
    r"|(?:access|auth|refresh|bearer)[_-]?token|token|private[_-]?key)"
    r"[\"']?\s*[:=]\s*"
    r"(?:\"(?P<dq>[^\"\s]{6,})\"|'(?P<sq>[^'\s]{6,})'"
    r"|(?P<bare>[a-zA-Z0-9_+/=.!@#$%^&*~-]{8,})(?![\w(\[.]))"
)
_KEYVALUE = re.compile(_KEYVALUE_SRC)
_KEYVALUE_ANYCASE = re.compile(_KEYVALUE_SRC, re.IGNORECASE)
_KEY_WORDS = ("key", "secret", "passw", "pwd", "token")


def _secrets(t: _Text, found: _Found) -> None:
    text = t.value
    if "-----BEGIN" in text:
        text = _sub(_BLOCK, text, lambda m: _whole(m, "SECRET", found))
    if ("_" in text and any(h in text for h in _TOKEN_HINTS_UNDERSCORE)) or any(
        h in text for h in _TOKEN_HINTS
    ):
        text = _sub(_TOKEN, text, lambda m: _whole(m, "SECRET", found))
    t.set(text)
    low = t.low
    if "bearer" in low or "basic" in low or "token" in low:
        pattern, hay = _caseless(t, _AUTH, _AUTH_ANYCASE)
        orig = t.value
        t.set(_sub(pattern, orig, lambda m: _auth(m, orig, found), hay))
    if ("=" in text or ":" in text) and any(w in t.low for w in _KEY_WORDS):
        pattern, hay = _caseless(t, _KEYVALUE, _KEYVALUE_ANYCASE)
        orig = t.value
        t.set(_sub(pattern, orig, lambda m: _keyvalue(m, orig, found), hay))


def _whole(m: re.Match[str], kind: str, found: _Found) -> str:
    _note(found, kind, m.group(0))
    return f"[{kind}]"


def _word_start(m: re.Match[str]) -> bool:
    i = m.start()
    return i == 0 or not m.string[i - 1].isalnum()


def _auth(m: re.Match[str], text: str, found: _Found) -> str | None:
    start, end = m.span("v")
    value = text[start:end]
    if not _word_start(m) or not _DIGIT.search(value):
        return None  # "Bearer authentication...": a word, not a token
    _note(found, "SECRET", value)
    return text[m.start() : start] + "[SECRET]"


def _keyvalue(m: re.Match[str], text: str, found: _Found) -> str | None:
    if not _word_start(m):
        return None
    group = next(g for g in ("dq", "sq", "bare") if m.group(g) is not None)
    start, end = m.span(group)
    _note(found, "SECRET", text[start:end])
    return text[m.start() : start] + "[SECRET]" + text[end : m.end()]


# -- e-mail -------------------------------------------------------------------------------
# Found from the "@": the domain by pattern, the local part by walking back.
_EMAIL_DOMAIN = re.compile(
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,24})\b(?!@)"
)
_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+'-")
# "icon@2x.png" is a file name, not an address.
_FILE_SUFFIXES = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "css", "js",
     "mjs", "ts", "tsx", "jsx", "json", "html", "htm", "xml", "txt", "md", "py", "rb", "go",
     "rs", "java", "pdf", "zip", "gz"}
)  # fmt: skip


def _emails(t: _Text, found: _Found) -> None:
    if "@" not in t.value:
        return
    text = t.value
    out: list[str] = []
    last = 0
    for m in _EMAIL_DOMAIN.finditer(text):
        if m.group("tld").lower() in _FILE_SUFFIXES:
            continue
        start = at = m.start()
        while start > last and at - start < 64 and text[start - 1] in _LOCAL:
            start -= 1
        while start < at and not text[start].isalnum():
            start += 1  # a local part starts with a letter or digit
        if start == at or (start > 0 and text[start - 1].isalnum()):
            continue  # no local part, or one longer than an address allows
        _note(found, "EMAIL", text[start : m.end()])
        out.append(text[last:start])
        out.append("[EMAIL]")
        last = m.end()
    if out:
        out.append(text[last:])
        t.set("".join(out))


# -- IBAN ---------------------------------------------------------------------------------
_IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]){10,30}")


def _ibans(t: _Text, found: _Found) -> None:
    windows = t.windows(7)
    if windows:
        t.set(_sub(_IBAN, t.value, lambda m: _iban(m, found), windows=windows))


def _iban(m: re.Match[str], found: _Found) -> str | None:
    text = m.group(0)
    length = checks.IBAN_LENGTHS.get(text[:2])
    if length is None:
        return None
    # The pattern may run on into the next word; the country fixes the length.
    seen = end = 0
    for i, ch in enumerate(text):
        if ch != " ":
            seen += 1
            if seen == length:
                end = i + 1
                break
    if not end or (end < len(text) and text[end] != " "):
        return None
    if not checks.iban(text[:end].replace(" ", "")):
        return None
    _note(found, "IBAN", text[:end])
    return "[IBAN]" + text[end:]


# -- payment cards ------------------------------------------------------------------------
_CARD = re.compile(r"[0-9](?<![\w.,+-][0-9])(?:[ -]?[0-9]){12,18}(?![\w-]|[.,][0-9])")


def _cards(t: _Text, found: _Found) -> None:
    windows = t.windows(13)
    if windows:
        t.set(_sub(_CARD, t.value, lambda m: _card(m, found), windows=windows))


def _tail_of_a_group(m: re.Match[str]) -> bool:
    """True when the match continues a run of digit groups ("DE89 3704 0044 ..."): the
    end of a longer number, not a number of its own."""
    i = m.start()
    return i >= 2 and m.string[i - 1] in " .-" and m.string[i - 2].isdigit()


def _card(m: re.Match[str], found: _Found) -> str | None:
    text = m.group(0)
    separated = " " in text or "-" in text
    if (" " in text and "-" in text) or (separated and _tail_of_a_group(m)):
        return None
    if not checks.card_number(text.replace(" ", "").replace("-", "")):
        return None
    _note(found, "CARD", text)
    return "[CARD]"


# -- IP addresses -------------------------------------------------------------------------
_IPV4_HINT = re.compile(r"\.[0-9]{1,3}\.[0-9]")
_IPV4 = re.compile(r"[0-9](?<![\w.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?!\.?[0-9]|\w)")
_VERSION_BEFORE = re.compile(
    r"(?i)(?:(?:\bversion|\bver\.?|\brelease|\bv)\s*[:=]?\s*|[=<>!~]=\s*|[\^~<>]\s*)$"
)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:])"
)


def _ips(t: _Text, found: _Found) -> None:
    text = t.value
    if "::" in text or text.count(":") >= 7:
        t.set(_sub(_IPV6, text, lambda m: _ipv6(m, found)))
    if _IPV4_HINT.search(t.value):
        t.set(_sub(_IPV4, t.value, lambda m: _ipv4(m, found)))


def _ipv4(m: re.Match[str], found: _Found) -> str | None:
    text = m.group(0)
    parts = text.split(".")
    if any(int(p) > 255 or (len(p) > 1 and p[0] == "0") for p in parts):
        return None
    # "version 1.2.3.4" / "==1.2.3.4" is a version that happens to be a valid address;
    # 0.0.0.0, 255.255.255.255 and netmasks name nobody.
    if parts[0] in ("0", "255") or _VERSION_BEFORE.search(
        m.string, max(0, m.start() - 12), m.start()
    ):
        return None
    _note(found, "IP", text)
    return "[IP]"


def _ipv6(m: re.Match[str], found: _Found) -> str | None:
    text = m.group(0)
    if not checks.ipv6(text):
        return None
    _note(found, "IP", text)
    return "[IP]"


# -- phone numbers ------------------------------------------------------------------------
# International: +CC then groups, e.g. "+44 20 7946 0958", "+1 (555) 010-4477".
_INTL = re.compile(
    r"\+(?<![\w+]\+)[0-9]{1,3}(?:[ .-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,7}(?![\w-]|\.[0-9])"
)
# North American: "(555) 010-4477", "555-010-4477", "555.010.4477", "1-800-555-0199".
_NANP_PAREN = re.compile(r"\((?<![\w]\()[0-9]{3}\) ?[0-9]{3}[ .-][0-9]{4}(?![\w-]|\.[0-9])")
_NANP = re.compile(
    r"[0-9](?<![\w+.-][0-9])(?:[ .-][0-9]{3}|[0-9]{2})"  # "1-800" or the area code
    r"(?P<s>[ .-])[0-9]{3}(?P=s)[0-9]{4}(?![\w-]|\.[0-9])"
)
# National, with a trunk 0: "06 12 34 56 78", "020 7946 0958", "030 1234567".
_NATIONAL = re.compile(
    r"0(?<![\w+.,/:-]0)[1-9][0-9]{0,3}(?:(?P<s>[ .-])[0-9]{2,8}){1,4}(?![\w-]|[.,/:][0-9])"
)
# Digits named a phone by the words before them: "call me at 5550104477".
_CUE_SRC = (
    r"(?:phone|tel|telephone|mobile|cell|call me|call|sms|text me|whatsapp|fax)\b"
    r"[^\d+(\n]{0,12}(?P<v>[+(]?\d[\d .()-]{5,18}\d)(?![\w-]|\.\d)"
)
_CUE = re.compile(_CUE_SRC)
_CUE_ANYCASE = re.compile(_CUE_SRC, re.IGNORECASE)
_CUE_WORDS = ("phone", "tel", "mobile", "cell", "call", "sms", "text me", "whatsapp", "fax")


def _phones(t: _Text, found: _Found) -> None:
    if "+" in t.value and (windows := t.windows(8)):
        t.set(_sub(_INTL, t.value, lambda m: _counted(m, found, 8, 15), windows=windows))
    if "(" in t.value and (windows := t.windows(10)):
        t.set(_sub(_NANP_PAREN, t.value, lambda m: _counted(m, found, 10, 10), windows=windows))
    if windows := t.windows(10):
        t.set(_sub(_NANP, t.value, lambda m: _nanp(m, found), windows=windows))
    if windows := t.windows(9):
        t.set(_sub(_NATIONAL, t.value, lambda m: _national(m, found), windows=windows))
    if (windows := t.windows(7)) and any(w in t.low for w in _CUE_WORDS):
        pattern, hay = _caseless(t, _CUE, _CUE_ANYCASE)
        orig = t.value
        t.set(_sub(pattern, orig, lambda m: _cued(m, orig, found), hay, windows))


def _counted(m: re.Match[str], found: _Found, low: int, high: int) -> str | None:
    value = m.group(0)
    if not low <= sum(ch.isdigit() for ch in value) <= high:
        return None
    _note(found, "PHONE", value)
    return "[PHONE]"


def _nanp(m: re.Match[str], found: _Found) -> str | None:
    value = m.group(0)
    if _tail_of_a_group(m) or (value[1] in " .-" and value[0] != "1"):
        return None  # only the country code 1 stands alone before the area code
    return _counted(m, found, 10, 11)


def _national(m: re.Match[str], found: _Found) -> str | None:
    value = m.group(0)
    sep = m.group("s")
    # one separator throughout, and the length of a national number
    if _tail_of_a_group(m) or any(not ch.isdigit() and ch != sep for ch in value):
        return None
    return _counted(m, found, 9, 11)


def _cued(m: re.Match[str], text: str, found: _Found) -> str | None:
    start, end = m.span("v")
    value = text[start:end]
    if not _word_start(m) or not 7 <= sum(ch.isdigit() for ch in value) <= 15:
        return None
    if m.start() and m.string[m.start() - 1] == "[":
        return None  # the word is our own "[PHONE]" placeholder, not a cue
    _note(found, "PHONE", value)
    return text[m.start() : start] + "[PHONE]"


_DETECTORS: tuple[tuple[str, Callable[[_Text, _Found], None]], ...] = (
    ("SECRET", _secrets),
    ("EMAIL", _emails),
    ("IBAN", _ibans),
    ("CARD", _cards),
    ("IP", _ips),
    ("PHONE", _phones),
)


def scan(text: str, kinds: Iterable[str] = KINDS, *, found: _Found = None) -> str:
    """``text`` with the PII of ``kinds`` replaced by ``[KIND]``; each finding is appended
    to ``found`` when a list is given."""
    if len(text) < 6:
        return text
    wanted = kinds if isinstance(kinds, tuple | frozenset | set) else tuple(kinds)
    t = _Text(text)
    for kind, detect in _DETECTORS:
        if kind in wanted:
            detect(t, found)
    return t.value


def redact_text(text: str) -> str:
    """Replace every kind of PII in ``text`` by its typed placeholder."""
    if text.startswith("data:") and ";base64," in text[:100]:
        return text  # an inline image or file: no readable text in it
    return scan(text)


def find_pii(text: str, kinds: Iterable[str] = KINDS) -> list[Finding]:
    """What :func:`redact_text` would replace, as ``(kind, value)`` findings, grouped by
    detector in the order the detectors run."""
    found: list[Finding] = []
    scan(text, kinds, found=found)
    return found
