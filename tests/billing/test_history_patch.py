"""billing/history.py replaces django-simple-history's HistoryDescriptor with one
that builds its manager class once. That leans on the library's internals, so
these tests break when the installed release changes them: then re-read
``cache_history_managers`` against the new code before updating the fingerprint."""

import hashlib
import inspect

import pytest
import simple_history
from simple_history.manager import HistoryDescriptor, HistoryManager

from billing.models import Invoice
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import WriteOff

# sha256 of inspect.getsource(HistoryDescriptor) in django-simple-history 3.13.0,
# the release .ci/requirements.lock pins.
PATCHED_SOURCE_SHA256 = "6201202827a8cb87e976927f598ccf028254c4c41945c544e2034a1e99be13eb"


def test_the_patched_descriptor_is_the_one_the_patch_was_written_for():
    source = inspect.getsource(HistoryDescriptor)
    assert hashlib.sha256(source.encode()).hexdigest() == PATCHED_SOURCE_SHA256, (
        f"django-simple-history {simple_history.__version__} changed HistoryDescriptor: "
        "check billing.history.cache_history_managers against it, then update "
        "PATCHED_SOURCE_SHA256."
    )


def test_the_manager_is_still_built_from_model_and_instance():
    assert list(inspect.signature(HistoryManager.__init__).parameters) == [
        "self",
        "model",
        "instance",
    ]


@pytest.mark.django_db
def test_every_history_descriptor_is_replaced_and_behaves_like_the_original(invoice, clerk_actor):
    for model in (Invoice, WriteOff):
        descriptor = vars(model)["history"]
        assert type(descriptor) is not HistoryDescriptor
        assert isinstance(descriptor, HistoryDescriptor)
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=0, comments="Patch", actor=clerk_actor
    )
    original = HistoryDescriptor(
        vars(WriteOff)["history"].model,
        vars(WriteOff)["history"].manager_class,
        vars(WriteOff)["history"].queryset_class,
    )

    patched_rows = list(writeoff.history.values_list("history_id", flat=True))
    original_rows = list(original.__get__(writeoff, WriteOff).values_list("history_id", flat=True))

    assert patched_rows == original_rows != []
    assert WriteOff.history.count() == original.__get__(None, WriteOff).count()
    # Built once: the same class on every access.
    assert type(writeoff.history) is type(WriteOff.history)
