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
    1013: ("Page number too deep: follow next_cursor instead", HTTPStatus.BAD_REQUEST),
    1014: ("Too many failed authentications from this address", HTTPStatus.TOO_MANY_REQUESTS),
    1015: ("Content-Length required", HTTPStatus.LENGTH_REQUIRED),
    1016: ("Invalid amount", HTTPStatus.BAD_REQUEST),
    1024: ("Invalid date format (use yyyy-mm-dd)", HTTPStatus.BAD_REQUEST),
    3004: ("Invoice does not exist", HTTPStatus.NOT_FOUND),
    3024: ("Invalid reason code", HTTPStatus.BAD_REQUEST),
    3119: ("Amount is more than the available balance", HTTPStatus.BAD_REQUEST),
    3120: ("Amount is not above zero, or is too large", HTTPStatus.BAD_REQUEST),
    3121: ("Invoice is not open (draft or void)", HTTPStatus.BAD_REQUEST),
    3122: ("Invalid write-off date", HTTPStatus.BAD_REQUEST),
    3123: ("Invalid accounting code", HTTPStatus.BAD_REQUEST),
    3124: ("Entry is not in a state that allows this change", HTTPStatus.BAD_REQUEST),
    3125: ("Dispute hold does not exist", HTTPStatus.NOT_FOUND),
    3126: ("Invalid settlement action", HTTPStatus.BAD_REQUEST),
    3127: ("Invalid comments length", HTTPStatus.BAD_REQUEST),
    3128: ("Invoice is void", HTTPStatus.BAD_REQUEST),
    3129: ("Invoice cannot be voided while something is on it", HTTPStatus.BAD_REQUEST),
    3131: (
        "Amount is more than was available on a day since its date",
        HTTPStatus.BAD_REQUEST,
    ),
    3130: (
        "Date is in a closed accounting period (on or before the lock date)",
        HTTPStatus.BAD_REQUEST,
    ),
    # Approvals and bad-debt recovery
    3140: ("Only a signed-in person may approve or reject a write-off", HTTPStatus.FORBIDDEN),
    3141: ("The approver lacks the approve permission", HTTPStatus.FORBIDDEN),
    3142: ("The requester may not approve or reject their own write-off", HTTPStatus.FORBIDDEN),
    3143: ("The approver's limit does not cover the amount", HTTPStatus.FORBIDDEN),
    3144: ("The write-off is not pending approval", HTTPStatus.BAD_REQUEST),
    3145: ("Only the requester may withdraw a pending write-off", HTTPStatus.FORBIDDEN),
    3146: ("The invoice has no recoverable write-off", HTTPStatus.BAD_REQUEST),
    3147: ("Recovery is more than the recoverable amount", HTTPStatus.BAD_REQUEST),
    3148: ("The write-off has recoveries; void the recovery payment first", HTTPStatus.BAD_REQUEST),
    3149: ("Invalid choice of write-offs to recover", HTTPStatus.BAD_REQUEST),
    3150: ("Bulk run criteria are invalid", HTTPStatus.BAD_REQUEST),
    3151: ("Bulk run total is above the approval limit", HTTPStatus.FORBIDDEN),
    3152: ("Bulk run has no invoices to write off", HTTPStatus.BAD_REQUEST),
    3153: ("Bulk run is not in a state that allows this", HTTPStatus.BAD_REQUEST),
    # Dispute case attachments
    3190: ("Attachment is larger than ATTACHMENT_MAX_BYTES", HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    3191: (
        "Attachment type not accepted, or its content does not match its name",
        HTTPStatus.BAD_REQUEST,
    ),
    # Dispute cases
    3160: ("Case does not exist", HTTPStatus.NOT_FOUND),
    3161: ("Case status change not allowed", HTTPStatus.BAD_REQUEST),
    3162: ("Case is closed (resolved or rejected)", HTTPStatus.BAD_REQUEST),
    3163: ("Invalid case category", HTTPStatus.BAD_REQUEST),
    3164: ("Invalid or missing root cause", HTTPStatus.BAD_REQUEST),
    3165: ("Invalid case assignee", HTTPStatus.BAD_REQUEST),
    3166: ("Invalid case due date", HTTPStatus.BAD_REQUEST),
    3167: ("Dispute hold is not part of this case", HTTPStatus.BAD_REQUEST),
    3168: ("Invalid case holds", HTTPStatus.BAD_REQUEST),
    3169: ("Invalid case contact", HTTPStatus.BAD_REQUEST),
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
PAGE_TOO_DEEP = 1013
AUTHENTICATION_THROTTLED = 1014
LENGTH_REQUIRED = 1015
# Text that is not an amount: not the plain 1234.56 (the API, files, commands) or the
# locale's form (the UI), or more decimal places than the currency has.
MALFORMED_AMOUNT = 1016
INVALID_DATE_FORMAT = 1024
ACCOUNT_NOT_FOUND = 1009
INVOICE_NOT_FOUND = 3004
INVALID_REASON_CODE = 3024
OVER_AVAILABLE = 3119
# An amount that was read, but is zero or above billing.money.MAX_AMOUNT.
INVALID_AMOUNT = 3120
INVOICE_NOT_OPEN = 3121
INVALID_WRITEOFF_DATE = 3122
INVALID_ACCOUNTING_CODE = 3123
INVALID_STATE = 3124
DISPUTE_NOT_FOUND = 3125
INVALID_SETTLEMENT_ACTION = 3126
INVALID_COMMENTS = 3127
# A write-off, hold or payment asked of a void invoice.
INVOICE_VOID = 3128
# invoice_void refused: a write-off, hold or payment is in the way, or it is not sent.
INVOICE_NOT_VOIDABLE = 3129
# A backdated amount that did not fit what was available on some day from its date to
# today (a hold open then, or a write-off pending then, since released or rejected).
OVER_AVAILABLE_ON_A_PAST_DAY = 3131
PERIOD_CLOSED = 3130
APPROVER_NOT_A_PERSON = 3140
APPROVER_LACKS_PERMISSION = 3141
APPROVER_IS_REQUESTER = 3142
APPROVER_LIMIT_TOO_LOW = 3143
WRITEOFF_NOT_PENDING = 3144
NOT_THE_REQUESTER = 3145
NOTHING_RECOVERABLE = 3146
OVER_RECOVERABLE = 3147
WRITEOFF_HAS_RECOVERIES = 3148
INVALID_RECOVERY_CHOICE = 3149
BULK_RUN_INVALID_CRITERIA = 3150
BULK_RUN_OVER_LIMIT = 3151
BULK_RUN_EMPTY = 3152
BULK_RUN_INVALID_STATE = 3153
ATTACHMENT_TOO_LARGE = 3190
# Not one of the accepted types, read from the content; or the content is not what the
# name's extension says (HTML named .pdf), or a spreadsheet that is not a sound package.
ATTACHMENT_REFUSED = 3191
CASE_NOT_FOUND = 3160
CASE_STATUS_CHANGE_REFUSED = 3161
CASE_CLOSED = 3162
INVALID_CASE_CATEGORY = 3163
INVALID_ROOT_CAUSE = 3164
INVALID_ASSIGNEE = 3165
INVALID_DUE_DATE = 3166
HOLD_NOT_IN_CASE = 3167
INVALID_CASE_HOLDS = 3168
INVALID_CASE_CONTACT = 3169
ILLEGAL_CHARACTERS = 25020
INVALID_DISPUTE_SETTINGS = 29013
INVALID_EXPIRE_HOLD_DAYS = 29014


class BillingError(Exception):
    """A refused operation: nothing was written.

    ``field`` names the input the message belongs next to (a form field name),
    or is ``None`` for errors about the whole request. ``retry_after`` (seconds)
    is for refusals that pass with time, such as a throttle.
    """

    def __init__(
        self, code: int, message: str, *, field: str | None = None, retry_after: int | None = None
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown billing error code {code}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    @property
    def http_status(self) -> int:
        return int(ERROR_CODES[self.code][1])

    def __repr__(self) -> str:
        return f"BillingError({self.code}, {self.message!r}, field={self.field!r})"


class BillingErrors(BillingError):
    """Several independent refusals of one request, found together.

    A plan checks each independent input (date, reason code, comments, amount,
    accounting code) and raises every refusal at once, so a form can show them
    all on one submit. It is a ``BillingError`` carrying the first refusal's
    code, message and field, so every caller that translates one error (the
    API, the create path under the lock) answers exactly as before.
    """

    def __init__(self, errors: list[BillingError]) -> None:
        if not errors:
            raise ValueError("BillingErrors needs at least one error")
        first = errors[0]
        super().__init__(first.code, first.message, field=first.field)
        self.errors = list(errors)

    def __repr__(self) -> str:
        return f"BillingErrors({self.errors!r})"


class ErrorCollector:
    """Run independent rules, keep their refusals, raise them together.

    ``collector.check(rule, *args)`` returns the rule's value, or ``None`` after
    recording its ``BillingError``; ``collector.raise_any()`` then raises the one
    error as it was, or a ``BillingErrors`` group.
    """

    def __init__(self) -> None:
        self.errors: list[BillingError] = []

    def check(self, rule, *args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except BillingError as error:
            self.errors.append(error)
            return None

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise BillingErrors(self.errors)
