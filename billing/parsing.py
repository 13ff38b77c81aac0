"""Reading numbers typed by people or sent by integrations.

``str.isdigit()`` is true for "²" and "١٢", which ``int()`` then refuses or
reads as something the user did not type; only ASCII digits count here.
"""

import re

_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def is_ascii_digits(text: str) -> bool:
    return bool(_ASCII_DIGITS.fullmatch(text))
