"""An import validates its new rows with the resource's own form fields column by column
(core.imports.RowValidator) instead of binding a form per row. Whatever a row holds — good
values, every kind of bad one, references outside the member's scope, custom fields, tags —
it must accept and refuse exactly what the customer form does, with the same messages, and
build the same record; the second time it sees a value (remembered cleaning) as the first."""

from django.contrib.contenttypes.models import ContentType
from django.test import TestCase

from qinglan.core import imports
from qinglan.core.forms import QueryLike
from qinglan.core.permissions import Scope
from qinglan.core.registry import registry
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer, CustomerLevel, Region
from qinglan.extras.models import FieldDef, Tag

GOOD = {
    "kind": "company", "name": "青藍科技股份有限公司", "name_latin": "Qinglan Tech", "status": "active", "phone": "02-2345-6789",
    "mobile": "0912-345-678", "email": " Sales@Qinglan.example ", "tax_id": "1234 5678", "website": "https://qinglan.example",
    "credit_limit": "1000.50", "potential_estimate": "20", "is_supplier": True, "cf_tier": "gold", "cf_seats": "12",
}


class SameAsTheFormTests(TestCase):
    def setUp(self):
        self.north, self.south = make_department("北區業務"), make_department("南區業務")
        self.me = make_member("me", department=self.north)
        self.colleague = make_member("colleague", department=self.south)
        grant(self.me, Customer, ["view", "add", "change", "import"], scope=Scope.DEPARTMENT)
        grant(self.me, self.me.__class__, ["view"], scope=Scope.DEPARTMENT)
        self.level = CustomerLevel.objects.create(name="重點客戶", order=1)
        self.region = Region.objects.create(name="台北", code="TPE")
        customer_type = ContentType.objects.get_for_model(Customer)
        FieldDef.objects.create(content_type=customer_type, name="tier", label="等級", type="choice", choices=["gold", "silver"])
        FieldDef.objects.create(content_type=customer_type, name="seats", label="席位", type="integer")
        self.tag = Tag.objects.create(name="展會")
        self.resource = registry.get(Customer)

    def rows(self):
        bad = [
            {"name": ""},  # required
            {"name": "x" * 201},  # too long (form field)
            {"kind": "robot"}, {"status": "maybe"},  # not a choice
            {"email": "not-an-address@"}, {"website": "not a url"},
            {"phone": "call me"},  # the model field's own validator (phone_validator)
            {"credit_limit": "-5"},  # the model field's MinValueValidator
            {"credit_limit": "abc"}, {"potential_estimate": "1e400"},
            {"code": "C" * 31},
            {"level": 987654},  # no such level
            {"owner": self.colleague.pk},  # a member outside my department: not a choice for me
            {"region": self.region.pk, "owner": self.me.pk},  # fine
            {"cf_tier": "platinum"}, {"cf_seats": "many"},
            {"tags": [self.tag.pk]}, {"tags": [987654]},
            {"is_customer": False, "is_partner": True},
            {"name": "", "status": "maybe", "email": "x@"},  # several problems in one row
        ]
        rows = [dict(GOOD), {"name": "最少欄位", "kind": "company", "status": "prospect"}]
        rows += [{**GOOD, **change} for change in bad]
        rows.append({**GOOD, "level": self.level.pk, "region": self.region.pk, "owner": self.me.pk})
        return rows

    def form_result(self, data):
        form = self.resource.form_class(data=QueryLike(dict(data)), instance=Customer(), user=self.me, purpose="import")
        form.batch_checks = True
        valid = form.is_valid()
        return valid, sorted(imports._form_errors(form)), form

    def values(self, record):
        return {f.attname: getattr(record, f.attname) for f in Customer._meta.concrete_fields}

    def test_every_row_is_judged_as_the_form_judges_it(self):
        rows = self.rows()
        # Told which columns the file has, it cleans the other fields once.
        self.judged_as_the_form(imports.RowValidator(self.resource, self.me, keys={key for row in rows for key in row}), rows)
        self.judged_as_the_form(imports.RowValidator(self.resource, self.me), rows)

    def judged_as_the_form(self, validator, rows):
        self.assertTrue(validator.compiled)
        for attempt in ("first", "again (remembered)"):
            for data in rows:
                with self.subTest(attempt=attempt, data=data):
                    new, errors = validator.validate(dict(data))
                    valid, form_errors, form = self.form_result(data)
                    self.assertEqual(sorted(errors), form_errors)
                    self.assertEqual(new is not None, valid)
                    if valid:
                        self.assertEqual(self.values(new.record), self.values(form.instance))
                        self.assertEqual(list(new.tags or []), list(form.cleaned_data.get("tags") or []))
        refused = [data for data in rows if validator.validate(dict(data))[0] is None]
        self.assertEqual(len(refused), 17)  # the bad rows above, each refused

    def test_records_are_new_and_independent(self):
        validator = imports.RowValidator(self.resource, self.me)
        first, _errors = validator.validate({**GOOD, "cf_seats": "3"})
        second, _errors = validator.validate({**GOOD, "name": "另一家", "cf_seats": "4"})
        self.assertIsNot(first.record, second.record)
        self.assertEqual((first.record.pk, first.record._state.adding), (None, True))
        self.assertEqual((first.record.custom_field_data["seats"], second.record.custom_field_data["seats"]), (3, 4))
        self.assertEqual((first.record.name, second.record.name), ("青藍科技股份有限公司", "另一家"))
        self.assertEqual((first.record.tax_id, first.record.email), ("12345678", "sales@qinglan.example"))  # the form's clean_<field>

    def test_a_reference_not_found_once_is_looked_up_again(self):
        """A row may name a record that a row further down creates; only successes are remembered."""
        validator = imports.RowValidator(self.resource, self.me)
        later = CustomerLevel(name="新等級", order=5)
        later.save()
        pk = later.pk
        later.delete()
        self.assertIsNone(validator.validate({**GOOD, "level": pk})[0])
        CustomerLevel.objects.create(pk=pk, name="新等級", order=5)
        self.assertIsNotNone(validator.validate({**GOOD, "level": pk})[0])
