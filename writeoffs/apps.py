from django.apps import AppConfig


class WriteoffsConfig(AppConfig):
    name = "writeoffs"
    verbose_name = "Write-offs and disputes"
