"""``manage.py deliver_webhooks``: send every webhook endpoint's due events now.

Meant for cron (every minute or so) beside the task worker: it finds what a lost
task left waiting. Safe to run at the same time as the worker or another sweep
(each endpoint is leased while a POST is out), and a run with nothing due does
nothing and exits 0. A receiver that refuses is not the sweep's failure: it is
logged, retried later, and the exit status stays 0.
"""

from django.core.management.base import BaseCommand

from billing.sync.webhooks.delivery import due_endpoint_ids
from billing.sync.webhooks.tasks import deliver_and_reschedule, enqueue_delivery


class Command(BaseCommand):
    help = "Send the webhook endpoints' due events (in order, each endpoint leased)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand each due endpoint to the task worker instead of sending here.",
        )

    def handle(self, *args, enqueue: bool, **options) -> None:
        endpoint_ids = due_endpoint_ids()
        if enqueue:
            for endpoint_id in endpoint_ids:
                enqueue_delivery(endpoint_id)
            self.stdout.write(f"Enqueued {len(endpoint_ids)} endpoint(s) for the task worker.")
            return
        delivered = failed = given_up = 0
        for endpoint_id in endpoint_ids:
            run = deliver_and_reschedule(endpoint_id)
            delivered += run.delivered
            failed += run.failed
            given_up += run.given_up
        self.stdout.write(
            f"Webhooks: {delivered} delivered, {failed} failed (retried later), "
            f"{given_up} given up, over {len(endpoint_ids)} endpoint(s)."
        )
