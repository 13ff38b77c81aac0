"""The app's one date format, also used by admin: "Dec 1, 2026" and "Dec 1, 2026 14:05";
and the formats a typed date may take.

Templates write the same format explicitly ("M j, Y"); messages use
``django.utils.formats.date_format``, which reads it from here.
"""

DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y H:i"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y H:i"

# What a date field accepts: ISO, and the format above ("Dec 1, 2026"). Never
# "06/12/2026", which Django's English default reads as June 12 and a European reader
# means as December 6. billing.web.fields.DateField says which format it expects.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%b %d, %Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%b %d, %Y %H:%M",
    "%b %d, %Y",
]
