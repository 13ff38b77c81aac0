"""Reading numbers typed by people or sent by integrations.

``str.isdigit()`` is true for "²" and "١٢", which ``int()`` then refuses or
reads as something the user did not type; only ASCII digits count here.
"""

import re

_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}", re.ASCII)


def is_ascii_digits(text: str) -> bool:
    return bool(_ASCII_DIGITS.fullmatch(text))


def whole_number(raw: object) -> int | None:
    """``raw`` as a whole number (an id, a code, a count of days): an int, or text of
    at most nine ASCII digits with an optional minus; anything else (a bool too) is
    ``None``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and _WHOLE_NUMBER.fullmatch(raw.strip()):
        return int(raw.strip())
    return None
