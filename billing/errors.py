"""The one domain error that every service raises.

Each error carries a stable numeric code. Codes from seed 001 keep their
meaning; the project's own codes fill the gaps. The API maps each code to an
HTTP status; forms show the message next to ``field``.
"""

from http import HTTPStatus

# code -> (short description, HTTP status the API answers with)
ERROR_CODES: dict[int, tuple[str, int]] = {
    0: ("OK", HTTPStatus.OK),
    1001: ("Unexpected error", HTTPStatus.INTERNAL_SERVER_ERROR),
    1003: ("Permission denied for this caller's role", HTTPStatus.FORBIDDEN),
    1004: ("Authentication error", HTTPStatus.UNAUTHORIZED),
    1005: ("Idempotency key reused with different content", HTTPStatus.CONFLICT),
    1006: ("Request body too large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    1007: ("Malformed request body", HTTPStatus.BAD_REQUEST),
    1008: ("HTTP method not allowed for this API call", HTTPStatus.METHOD_NOT_ALLOWED),
    1009: ("Account does not exist", HTTPStatus.NOT_FOUND),
    1010: ("Missing required input", HTTPStatus.BAD_REQUEST),
    1011: ("Invalid input value", HTTPStatus.BAD_REQUEST),
    1012: ("No such API call", HTTPStatus.NOT_FOUND),
    1024: ("Invalid date format (use yyyy-mm-dd)", HTTPStatus.BAD_REQUEST),
    3004: ("Invoice does not exist", HTTPStatus.NOT_FOUND),
    3024: ("Invalid reason code", HTTPStatus.BAD_REQUEST),
    3119: ("Amount is more than the available balance", HTTPStatus.BAD_REQUEST),
    3120: ("Invalid amount", HTTPStatus.BAD_REQUEST),
    3121: ("Invoice is not open (draft or void)", HTTPStatus.BAD_REQUEST),
    3122: ("Invalid write-off date", HTTPStatus.BAD_REQUEST),
    3123: ("Invalid accounting code", HTTPStatus.BAD_REQUEST),
    3124: ("Entry is not in a state that allows this change", HTTPStatus.BAD_REQUEST),
    3125: ("Dispute hold does not exist", HTTPStatus.NOT_FOUND),
    3126: ("Invalid settlement action", HTTPStatus.BAD_REQUEST),
    3127: ("Invalid comments length", HTTPStatus.BAD_REQUEST),
    3150: ("Bulk run criteria are invalid", HTTPStatus.BAD_REQUEST),
    3151: ("Bulk run total is above the approval limit", HTTPStatus.FORBIDDEN),
    3152: ("Bulk run has no invoices to write off", HTTPStatus.BAD_REQUEST),
    3153: ("Bulk run is not in a state that allows this", HTTPStatus.BAD_REQUEST),
    25020: ("Illegal characters entered", HTTPStatus.BAD_REQUEST),
    29013: (
        "Client Parameter, Dispute Hold Expiration Override Maximum Days, is invalid",
        HTTPStatus.BAD_REQUEST,
    ),
    29014: (
        "The value of Dispute hold override (Expire_Hold_Days) is invalid",
        HTTPStatus.BAD_REQUEST,
    ),
}

# Stable names for the codes the services raise, so call sites read as words.
UNEXPECTED_ERROR = 1001
PERMISSION_DENIED = 1003
AUTHENTICATION_FAILED = 1004
IDEMPOTENCY_CLASH = 1005
BODY_TOO_LARGE = 1006
MALFORMED_BODY = 1007
METHOD_NOT_ALLOWED = 1008
MISSING_INPUT = 1010
INVALID_INPUT = 1011
UNKNOWN_API_CALL = 1012
INVALID_DATE_FORMAT = 1024
ACCOUNT_NOT_FOUND = 1009
INVOICE_NOT_FOUND = 3004
INVALID_REASON_CODE = 3024
OVER_AVAILABLE = 3119
INVALID_AMOUNT = 3120
INVOICE_NOT_OPEN = 3121
INVALID_WRITEOFF_DATE = 3122
INVALID_ACCOUNTING_CODE = 3123
INVALID_STATE = 3124
DISPUTE_NOT_FOUND = 3125
INVALID_SETTLEMENT_ACTION = 3126
INVALID_COMMENTS = 3127
BULK_RUN_INVALID_CRITERIA = 3150
BULK_RUN_OVER_LIMIT = 3151
BULK_RUN_EMPTY = 3152
BULK_RUN_INVALID_STATE = 3153
ILLEGAL_CHARACTERS = 25020
INVALID_DISPUTE_SETTINGS = 29013
INVALID_EXPIRE_HOLD_DAYS = 29014


class BillingError(Exception):
    """A refused operation: nothing was written.

    ``field`` names the input the message belongs next to (a form field name),
    or is ``None`` for errors about the whole request.
    """

    def __init__(self, code: int, message: str, *, field: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown billing error code {code}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def http_status(self) -> int:
        return int(ERROR_CODES[self.code][1])

    def __repr__(self) -> str:
        return f"BillingError({self.code}, {self.message!r}, field={self.field!r})"
