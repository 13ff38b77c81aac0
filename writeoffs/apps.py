from django.apps import AppConfig


class WriteoffsConfig(AppConfig):
    name = "writeoffs"
    verbose_name = "Write-offs and disputes"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from writeoffs import checks  # noqa: F401  (registers the system checks)
        from writeoffs.approvals.limits import ensure_default_limits

        post_migrate.connect(ensure_default_limits, sender=self, dispatch_uid="approval_limits")
