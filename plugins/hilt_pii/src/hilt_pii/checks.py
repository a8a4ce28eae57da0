"""Checksums and formats that turn a pattern match into a finding: a random number that
only looks like a card or an IBAN fails them, which is what keeps precision high."""

from __future__ import annotations

import ipaddress

# Length of the IBAN of each country (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def luhn(digits: str) -> bool:
    """The Luhn checksum of payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


CARD_LENGTHS = frozenset({13, 14, 15, 16, 19})  # 17 and 18 are all but unused


def card_number(digits: str) -> bool:
    """A card length, a prefix issued to a card network, and a valid Luhn checksum."""
    if len(digits) not in CARD_LENGTHS:
        return False
    # Networks issue from 3, 4, 5, 6, and Mastercard's 2-series (2221-2720).
    issued = digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720
    return issued and luhn(digits)


def iban(code: str) -> bool:
    """An IBAN without spaces: known country, its length, and ISO 7064 mod-97 == 1."""
    if IBAN_LENGTHS.get(code[:2]) != len(code) or not code[2:4].isdigit():
        return False
    moved = code[4:] + code[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def ipv6(text: str) -> bool:
    """A valid IPv6 address that is not a bare ``::1``-like token or a slice ``1::2``."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    if not any(ch.isdigit() for ch in text):
        return False  # "dead::beef", "cafe::" read as words in code and prose
    groups = [g for g in text.replace(".", ":").split(":") if g]
    return text.count(":") >= 3 or any(len(g) >= 3 for g in groups)
