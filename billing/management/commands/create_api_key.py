from django.core.management.base import BaseCommand, CommandError

from billing.api.keys import api_key_create
from billing.errors import BillingError
from billing.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key and print it once, on the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A unique name for the integration that uses the key.")
        parser.add_argument(
            "--role",
            choices=ApiKey.Role.values,
            default=ApiKey.Role.CLERK,
            help="clerk creates write-offs and dispute holds; supervisor may also settle them.",
        )

    def handle(self, *args, name: str, role: str, **options) -> None:
        try:
            api_key, raw_key = api_key_create(name, role)
        except BillingError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Created API key {api_key.name!r} (role {api_key.role}). "
            "Store it now: only its hash is kept, so it cannot be shown again."
        )
        # The key alone on the last line, so scripts can take it with `tail -n 1`.
        self.stdout.write(raw_key)
