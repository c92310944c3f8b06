import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from qinglan.org.models import NumberSequence
from qinglan.org.services import next_number


@pytest.mark.django_db
def test_numbers_are_consecutive_and_restart_each_year():
    NumberSequence.objects.create(code="so", name="orders", prefix="{code}-{year}-", padding=5)
    when = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    assert next_number(code="so", when=when) == "SO-2026-00001"
    assert next_number(code="so", when=when) == "SO-2026-00002"
    assert next_number(code="so", when=when.replace(year=2027)) == "SO-2027-00001"


@pytest.mark.django_db
def test_a_rolled_back_document_does_not_use_up_its_number():
    NumberSequence.objects.create(code="qt", name="quotes", prefix="QT-", padding=3, reset_yearly=False)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_number(code="qt") == "QT-001"
        raise RuntimeError("the document failed to save")
    assert next_number(code="qt") == "QT-001"


@pytest.mark.django_db
def test_unknown_sequence_is_a_clear_error():
    with pytest.raises(ValidationError, match="nope"):
        next_number(code="nope")


@pytest.mark.django_db(transaction=True)
def test_parallel_callers_never_get_the_same_number():
    NumberSequence.objects.create(code="inv", name="invoices", prefix="INV-", padding=4, reset_yearly=False)
    results, errors = [], []

    def worker():
        try:
            for _ in range(10):
                with transaction.atomic():
                    results.append(next_number(code="inv", when=timezone.now()))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [f"INV-{n:04d}" for n in range(1, 61)]
