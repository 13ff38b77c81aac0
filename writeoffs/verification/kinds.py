"""The kinds of failure the ledger check reports (``Verification.count``'s kind)."""

# The kinds of failure. An invoice's stored totals disagree with its rows:
INVOICE_TOTALS = "invoice_totals"
# The journal's:
CONTROL_CODES = "control_codes"  # AR_CONTROL_CODE or CASH_CODE names no code
UNBALANCED_ENTRY = "unbalanced_entry"
UNKNOWN_SOURCE = "unknown_source"  # entries post a kind of row that posts nothing
POSTING_WITHOUT_ROW = "posting_without_row"
WRONG_ENTRIES = "wrong_entries"  # a row has other entries than its state gives
WRONG_POSTINGS = "wrong_postings"  # its net per code is not what it should be
INVOICE_AR_CONTROL = "invoice_ar_control"
CURRENCY_AR_CONTROL = "currency_ar_control"
