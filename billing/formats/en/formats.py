"""The app's one date format, also used by admin: "Dec 1, 2026" and "Dec 1, 2026 14:05".

Templates write the same format explicitly ("M j, Y"); messages use
``django.utils.formats.date_format``, which reads it from here.
"""

DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y H:i"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y H:i"
