from django.apps import AppConfig


class WriteoffsConfig(AppConfig):
    name = "writeoffs"
    verbose_name = "Write-offs and disputes"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from writeoffs.allowance.provision import ensure_default_provision_rates
        from writeoffs.approvals.limits import ensure_default_limits
        from writeoffs.cases.lists import ensure_default_case_lists
        from writeoffs.checks import (
            check_allowance_method,
            check_approval_limits,
            check_dispute_settings,
        )

        post_migrate.connect(ensure_default_limits, sender=self, dispatch_uid="approval_limits")
        post_migrate.connect(
            ensure_default_provision_rates, sender=self, dispatch_uid="provision_rates"
        )
        post_migrate.connect(ensure_default_case_lists, sender=self, dispatch_uid="case_lists")
        checks.register(check_dispute_settings)
        checks.register(check_approval_limits)
        checks.register(check_allowance_method)
        _register_with_billing()


def _register_with_billing() -> None:
    """Everything billing's core must hear from write-offs and dispute holds, which it
    never imports: its hooks in billing/extensions.py."""
    from billing import extensions
    from writeoffs import roles, selectors
    from writeoffs.allowance.close import close_figures, provision_checklist
    from writeoffs.cases.checks import verify_cases
    from writeoffs.cases.open import case_for_lone_hold
    from writeoffs.cases.paid import release_paid_holds
    from writeoffs.cases.resolution import case_after_hold_settled
    from writeoffs.footers import register_footer_tally
    from writeoffs.ledger_checks import verify_books
    from writeoffs.lifecycle import listeners
    from writeoffs.lifecycle.corrections import move_revenue_impacting_writeoffs
    from writeoffs.lifecycle.recovery import void_recoveries
    from writeoffs.reports.aging import reservations
    from writeoffs.reports.analysis_sums import TAX_AND_RECOVERED_TALLY, WRITTEN_OFF_TALLY
    from writeoffs.tax.checks import verify_tax_split
    from writeoffs.verification import verify_ledger
    from writeoffs.web.billing_pages import account_overview_context, invoice_page_context

    register_footer_tally()
    for role, permissions in roles.ROLE_PERMISSIONS.items():
        extensions.register_role_permissions(role, permissions)
    for role, permissions in roles.API_ROLE_PERMISSIONS.items():
        extensions.register_api_role_permissions(role, permissions)
    # Services: in the caller's transaction, under its locks.
    extensions.register_revenue_code_moved(move_revenue_impacting_writeoffs)
    extensions.register_payment_voided(void_recoveries)
    extensions.register_void_blocker(selectors.void_blockers)
    extensions.register_invoice_flags(selectors.dispute_flags)
    extensions.register_reservations(reservations)
    extensions.register_payment_recorded(release_paid_holds)
    # The write-off analysis's tallies, fed by every posting of their events.
    extensions.register_journal_tally(WRITTEN_OFF_TALLY)
    extensions.register_journal_tally(TAX_AND_RECOVERED_TALLY)
    # Within writeoffs: the hold services tell the dispute cases above them.
    listeners.register(listeners.hold_opened, case_for_lone_hold)
    listeners.register(listeners.hold_settled, case_after_hold_settled)
    # Closing the books.
    extensions.register_close_blocker(selectors.close_blockers)
    extensions.register_close_figures(close_figures)
    extensions.register_close_checklist(provision_checklist)
    extensions.register_ledger_check(verify_ledger)
    extensions.register_ledger_check(verify_books)
    extensions.register_ledger_check(verify_cases)
    extensions.register_ledger_check(verify_tax_split)
    # Billing's pages.
    extensions.register_account_overview_context(account_overview_context)
    extensions.register_invoice_page_context(invoice_page_context)
    extensions.register_invoice_filter("recovered", selectors.recovered_invoices)
