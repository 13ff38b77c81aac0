from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.api.keys import api_key_revoke
from billing.errors import BillingError


class Command(BaseCommand):
    help = "Revoke an API key by name. Calls made with it are refused from then on."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options) -> None:
        asked_at = timezone.now()
        try:
            api_key = api_key_revoke(name)
        except BillingError as error:
            raise CommandError(error.message) from None
        assert api_key.revoked_at is not None
        revoked_at = timezone.localtime(api_key.revoked_at)
        if api_key.revoked_at < asked_at:
            # Nothing to do is not a failure (exit status 0), and says so.
            self.stdout.write(
                f"API key {api_key.name!r} was already revoked at "
                f"{revoked_at:%Y-%m-%d %H:%M %Z}; nothing changed."
            )
            return
        self.stdout.write(f"Revoked API key {api_key.name!r} at {revoked_at:%Y-%m-%d %H:%M %Z}.")
