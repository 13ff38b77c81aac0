from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from billing import roles, tallies
        from billing.history import cache_history_managers, connect_history_actor
        from billing.ledger import codes, journal_tallies
        from billing.ops import checks  # noqa: F401  (registers the system checks)
        from billing.receivables.tallies import register_receivable_tallies

        post_migrate.connect(roles.ensure_billing_groups, dispatch_uid="billing_groups")
        # A test database flush empties the chart of accounts; put the control codes back.
        post_migrate.connect(
            codes.ensure_control_codes, sender=self, dispatch_uid="billing_control_codes"
        )
        register_receivable_tallies()
        journal_tallies.register_month_tally()
        post_migrate.connect(
            tallies.rebuild_after_flush, sender=self, dispatch_uid="billing_tallies_after_flush"
        )
        connect_history_actor()
        cache_history_managers()
