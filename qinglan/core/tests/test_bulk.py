"""core.bulk.insert_new writes new records with one statement per batch, with the values Django
itself would write (auto_now fields, JSON, decimals, defaults) and the pks in record order."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qinglan.core import bulk
from qinglan.core.models import ObjectChange
from qinglan.core.testing import make_member
from qinglan.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_records_come_back_as_written_with_pks_in_order(monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_ROWS", 2)  # three statements for five records
    owner = make_member("owner")
    records = [
        Customer(name=f"客戶{i}", code=f"B{i}", owner=owner, potential_estimate=Decimal("1234.50") * i, custom_field_data={"note": f"第{i}"})
        for i in range(5)
    ]
    with CaptureQueriesContext(connection) as queries:
        bulk.insert_new(Customer, records)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3
    assert [r.pk for r in records] == sorted(r.pk for r in records)
    assert all(not r._state.adding for r in records)
    for record in records:
        stored = Customer.objects.get(pk=record.pk)
        assert (stored.name, stored.code, stored.owner_id) == (record.name, record.code, owner.pk)
        assert stored.potential_estimate == record.potential_estimate
        assert stored.custom_field_data == record.custom_field_data
        assert stored.status == "prospect" and stored.is_customer  # model defaults
        assert stored.created is not None and stored.created == record.created  # auto_now_add filled on the record too


def test_json_and_auto_now_of_change_log_rows():
    owner = make_member("writer")
    rows = [ObjectChange(user=owner, user_name="writer", action="create", content_type_id=1, object_id=i, object_repr=f"#{i}",
                         postchange_data={"name": "青藍", "n": i, "list": [1, 2]}) for i in range(3)]
    bulk.insert_new(ObjectChange, rows)
    stored = list(ObjectChange.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk"))
    assert [s.postchange_data for s in stored] == [{"name": "青藍", "n": i, "list": [1, 2]} for i in range(3)]
    assert all(s.time is not None for s in stored)


def test_records_with_their_own_pks_go_through_bulk_create():
    owner = make_member("keeper")
    records = [Customer(pk=900_001, name="甲", code="K1", owner=owner), Customer(pk=900_002, name="乙", code="K2", owner=owner)]
    bulk.insert_new(Customer, records)
    assert set(Customer.objects.filter(pk__in=[900_001, 900_002]).values_list("code", flat=True)) == {"K1", "K2"}


def test_insert_rows_fills_defaults_and_auto_now_and_returns_pks_in_order():
    owner = make_member("logger")
    pks = bulk.insert_rows(ObjectChange, [
        {"user_id": owner.pk, "user_name": "logger", "action": "create", "content_type_id": 1, "object_id": i,
         "object_repr": f"第{i}筆", "postchange_data": {"name": "青藍", "n": i}}
        for i in range(4)
    ])
    assert pks == sorted(pks) and len(set(pks)) == 4
    stored = list(ObjectChange.objects.filter(pk__in=pks).order_by("pk"))
    assert [(s.object_id, s.object_repr, s.postchange_data) for s in stored] == [(i, f"第{i}筆", {"name": "青藍", "n": i}) for i in range(4)]
    assert all(s.time is not None and s.prechange_data is None and s.request_id is None for s in stored)


def test_anyof_matches_like_in_with_one_parameter():
    owner = make_member("seeker")
    records = bulk.insert_new(Customer, [Customer(name=f"客戶{i}", code=f"A{i:04d}", owner=owner) for i in range(30)])
    wanted = [f"A{i:04d}" for i in range(0, 30, 3)] + [f"X{i}" for i in range(3000)]  # thousands of keys, most absent
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        found = set(Customer.objects.filter(code__anyof=wanted).values_list("code", flat=True))
    assert found == {f"A{i:04d}" for i in range(0, 30, 3)}
    assert len(sent) == 1 and len(sent[0]) == 1  # one parameter, not 3,010 placeholders
    pks = [r.pk for r in records[:5]]
    assert sorted(Customer.objects.filter(pk__anyof=pks).values_list("pk", flat=True)) == pks
    assert list(Customer.objects.filter(code__anyof=[])) == []
