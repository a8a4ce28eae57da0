"""Text from a log made safe to print on a terminal.

A log holds what users typed and what models answered: an escape sequence in a prompt
(``ESC ] 0 ; ... BEL`` sets the window title, ``ESC [ 2 J`` clears the screen; some
terminals run worse) would act on the operator's terminal if ``hilt tail`` or ``hilt
stats`` printed it, and a newline in a model name would break a table. Such characters
are shown as the escapes Python would write for them (``\\x1b``, ``\\n``): visible,
inert, and one line stays one line.
"""

from __future__ import annotations

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI for many terminals), the line
# and paragraph separators, and the bidirectional controls that make text display in an
# order other than it is read ("Trojan Source").
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_UNSAFE: dict[int, str] = {
    c: _NAMED.get(c, f"\\x{c:02x}") for c in (*range(0x20), *range(0x7F, 0xA0))
}
_UNSAFE.update(
    {
        c: f"\\u{c:04x}"
        for c in (0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
    }
)


def printable(text: str) -> str:
    """``text`` with every control character written as its escape (``\\x1b``)."""
    return text.translate(_UNSAFE)
