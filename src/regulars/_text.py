"""Text that is safe to show on a terminal: control characters made visible.

A terminal obeys control characters: ``ESC ] 0 ; title BEL`` renames the window,
``ESC [ 2 J`` clears the screen, a carriage return hides what came before it.  Data
typed by customers (names, notes, file contents) must never drive the operator's
terminal, so every surface that prints text runs it through :func:`visible` first.
"""

from __future__ import annotations

import re

__all__ = ["visible"]

#: C0 controls, DEL, C1 controls, and the bidirectional overrides and isolates that
#: reorder what is shown (the "Trojan Source" characters).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, *, keep: str = "") -> str:
    r"""``str(text)`` with every control character written as a visible escape.

    ``keep`` lists the characters left as they are, for example ``"\n"`` in a
    multi-line message.

    Examples
    --------
    >>> visible("Ann\x1b]0;pwned\x07")
    'Ann\\x1b]0;pwned\\x07'
    >>> visible("line one\nline two", keep="\n")
    'line one\nline two'
    >>> visible("tab\there")
    'tab\\x09here'
    """
    s = str(text)
    if keep:
        return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _show(m), s)
    return _CONTROL.sub(_show, s)
