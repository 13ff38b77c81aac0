"""Admin for the events feed and webhooks: endpoints registered and managed through
the services, the delivery log and the events read only."""

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse

from billing.actors import Actor
from billing.events import record_event
from billing.models import Event, WebhookDelivery, WebhookEndpoint
from billing.sync.webhooks.delivery import deliver_endpoint
from billing.sync.webhooks.endpoints import webhook_endpoint_create
from tests.webhook_receiver import Answer

pytestmark = pytest.mark.django_db

ENDPOINTS = reverse("admin:billing_webhookendpoint_changelist")


def write_event():
    with transaction.atomic():
        return record_event(
            "payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=1
        )


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def act(admin_client, action, endpoint):
    return admin_client.post(
        ENDPOINTS, {"action": action, "_selected_action": [endpoint.pk]}, follow=True
    )


def test_registering_an_endpoint_makes_its_secret_and_shows_it_to_copy(admin_client, receiver):
    write_event()
    response = admin_client.post(
        reverse("admin:billing_webhookendpoint_add"),
        {"name": "billing", "url": receiver.url, "event_types": ["invoice.voided"], "active": "on"},
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.redirect_chain == [
        (reverse("admin:billing_webhookendpoint_change", args=[endpoint.pk]), 302)
    ]
    assert "Registered billing. Copy its secret below into the receiver." in messages_of(response)
    assert f'value="{endpoint.secret}"' in response.content.decode()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["invoice.voided"]
    # Written from now on: the event before it is not replayed.
    assert endpoint.last_event_id == Event.objects.get().id


def test_staff_who_may_only_view_endpoints_are_not_shown_the_secret(client, receiver):
    from django.contrib.auth.models import Permission

    from billing.factories import UserFactory

    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    auditor = UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client.force_login(auditor)
    page = client.get(reverse("admin:billing_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert "billing" in page.content.decode()
    assert endpoint.secret not in page.content.decode()


def test_a_refused_url_is_shown_next_to_the_field_and_nothing_is_saved(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = admin_client.post(
        reverse("admin:billing_webhookendpoint_add"),
        {"name": "billing", "url": "http://127.0.0.1/hook", "active": "on"},
    )
    assert response.status_code == 200
    assert "inside the network" in response.context["adminform"].form.errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_editing_an_endpoint_goes_through_the_service_and_keeps_its_secret(admin_client, receiver):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    response = admin_client.post(
        reverse("admin:billing_webhookendpoint_change", args=[endpoint.pk]),
        {"name": "billing-2", "url": receiver.url + "/v2"},
    )
    assert response.status_code == 302
    changed = WebhookEndpoint.objects.get()
    assert (changed.name, changed.url, changed.active) == ("billing-2", receiver.url + "/v2", False)
    assert changed.secret == endpoint.secret


def test_send_a_test_event_posts_it_and_says_what_the_receiver_answered(admin_client, receiver):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    receiver.answer(Answer(202))
    response = act(admin_client, "send_test_event", endpoint)
    assert "billing: answered 202." in messages_of(response)
    assert receiver.requests[0].headers["Webhook-Event-Type"] == "webhook.test"


def test_retry_now_hands_a_waiting_endpoint_to_the_worker(admin_client, receiver):
    from django_tasks_db.models import DBTaskResult

    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    write_event()
    receiver.answer(Answer(500))
    deliver_endpoint(endpoint.pk)
    response = act(admin_client, "retry_now", endpoint)
    assert "1 waiting endpoint(s) handed to the task worker" in messages_of(response)[0]
    endpoint.refresh_from_db()
    assert DBTaskResult.objects.filter(run_after__gte=endpoint.next_attempt_at).count() == 1


def test_deactivate_and_rotate_actions_call_the_services(admin_client, receiver):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    act(admin_client, "deactivate", endpoint)
    act(admin_client, "rotate_secret", endpoint)
    changed = WebhookEndpoint.objects.get()
    assert not changed.active
    assert changed.secret != endpoint.secret


def test_endpoints_cannot_be_deleted_so_their_log_stays(admin_client, receiver):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    response = admin_client.get(reverse("admin:billing_webhookendpoint_delete", args=[endpoint.pk]))
    assert response.status_code == 403


def test_the_delivery_log_lists_attempts_filters_by_outcome_and_is_read_only(
    admin_client, receiver
):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    event = write_event()
    receiver.answer(Answer(500, b"backend down"))
    deliver_endpoint(endpoint.pk)
    url = reverse("admin:billing_webhookdelivery_changelist")
    page = admin_client.get(url, {"outcome": "failed"}).content.decode()
    assert "Failed, will retry" in page
    assert admin_client.get(url, {"outcome": "delivered"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"q": str(event.id)}).context["cl"].result_count == 1
    delivery = WebhookDelivery.objects.get()
    change = admin_client.get(reverse("admin:billing_webhookdelivery_change", args=[delivery.pk]))
    assert "backend down" in change.content.decode()
    assert b'name="_save"' not in change.content
    assert admin_client.get(reverse("admin:billing_webhookdelivery_add")).status_code == 403


def test_the_events_list_filters_by_type_and_shows_each_as_sent(admin_client):
    event = write_event()
    url = reverse("admin:billing_event_changelist")
    listed = admin_client.get(url, {"type__exact": "payment.recorded"}).context["cl"]
    assert listed.result_count == 1
    assert admin_client.get(url, {"type__exact": "invoice.voided"}).context["cl"].result_count == 0
    page = admin_client.get(reverse("admin:billing_event_change", args=[event.pk])).content.decode()
    assert "&quot;payment.recorded&quot;" in page
    assert admin_client.get(reverse("admin:billing_event_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:billing_event_delete", args=[event.pk])).status_code == 403
    )
