"""Importing customers through the import pages as a member does: new rows are validated by
the customer form, written a chunk at a time and checked for duplicates against the database
and the rows further up the file (also across chunks); numbers, keys, departments, the change
log and events are what a form save gives; any problem writes nothing; "import possible
duplicates anyway" lets warnings through but never an equal tax ID."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from qinglan.core import events, imports
from qinglan.core.models import ImportJob, ObjectChange
from qinglan.core.permissions import Scope
from qinglan.core.testing import grant, make_department, make_member
from qinglan.customers.models import Customer, CustomerLevel

from .factories import make_customer


class ImportTestCase(TestCase):
    def setUp(self):
        self.north = make_department("北區業務")
        self.south = make_department("南區業務")
        self.me = make_member("me", department=self.north)
        self.colleague = make_member("colleague", department=self.south, display_name="王小明")
        for member in (self.me, self.colleague):
            grant(member, Customer, ["view", "add", "change", "import"], scope=Scope.DEPARTMENT)
        self.mine = make_customer(self.me, "青藍科技股份有限公司", phone="02-2345-6789")
        self.theirs = make_customer(self.colleague, "北極星光電股份有限公司", tax_id="87654321", phone="07-111-2222")
        self.client.force_login(self.me)
        self.chunk = imports.CHUNK_ROWS
        imports.CHUNK_ROWS = 2  # several chunks in a small file

    def tearDown(self):
        imports.CHUNK_ROWS = self.chunk

    def upload(self, content):
        upload = SimpleUploadedFile("customers.csv", content.encode(), content_type="text/csv")
        response = self.client.post("/customers/customer/import/", {"file": upload})
        self.assertEqual(response.status_code, 302)
        return response["Location"]

    def check(self, content, **options):
        job_url = self.upload(content)
        headers = content.splitlines()[0].split(",")
        response = self.client.post(job_url, {**{f"column_{i}": header for i, header in enumerate(headers)}, **options})
        self.assertEqual(response.status_code, 302)
        return job_url

    def errors_by_row(self):
        by_row = {}
        for error in ImportJob.objects.get().errors:
            by_row.setdefault(error["row"], []).append(error["message"])
        return by_row

    def confirm(self, job_url):
        return self.client.post(job_url, {"_confirm": "1"})


class CleanImportTests(ImportTestCase):
    def test_rows_become_customers_like_typed_in_ones(self):
        CustomerLevel.objects.create(name="重點客戶", order=1, pool_days=30)
        job_url = self.check(
            "name,kind,status,phone,email,level,tax_id\n"
            "日昇能源股份有限公司,company,prospect,(02) 8765-4321,Sales@Sunrise.example,重點客戶,12345678\n"
            "藍海餐飲,公司,active,,,,\n"
            '"Pricor Logistics Co., Ltd.",company,prospect,+86 21 5555 0101,,,\n'
            "永豐電子,company,dormant,0912-345-678,,重點客戶,\n"
            "Harbour Freight Ltd,company,prospect,,,,\n"
        )
        response = self.client.get(job_url)
        self.assertContains(response, 'data-testid="import-ok"')
        self.assertContains(response, "日昇能源股份有限公司")  # the preview
        self.assertEqual(Customer.objects.count(), 2, "a check writes nothing")

        response = self.confirm(job_url)
        self.assertEqual(response.status_code, 302)
        job = ImportJob.objects.get()
        self.assertEqual((job.status, job.created_count, job.errors), (ImportJob.Status.DONE, 5, []))
        imported = list(Customer.objects.exclude(pk__in=[self.mine.pk, self.theirs.pk]).order_by("pk"))
        self.assertEqual([c.name for c in imported], ["日昇能源股份有限公司", "藍海餐飲", "Pricor Logistics Co., Ltd.", "永豐電子", "Harbour Freight Ltd"])
        # Numbered in file order from the customer sequence, after the two made before.
        codes = [c.code for c in imported]
        self.assertEqual(codes, sorted(codes))
        self.assertEqual(len(set(codes) | {self.mine.code, self.theirs.code}), 7)
        sunrise = imported[0]
        self.assertEqual((sunrise.owner, sunrise.department), (self.me, self.north))
        self.assertEqual((sunrise.name_key, sunrise.phone_key, sunrise.email), ("日昇能源", "287654321", "sales@sunrise.example"))
        self.assertEqual((sunrise.level.name, sunrise.tax_id, imported[1].status), ("重點客戶", "12345678", "active"))
        # One 'created' change-log row per customer, by the importing member, with its values.
        changes = ObjectChange.objects.filter(action=ObjectChange.Action.CREATE, object_id__in=[c.pk for c in imported])
        self.assertEqual(changes.count(), 5)
        change = changes.get(object_id=sunrise.pk)
        self.assertEqual((change.user, change.postchange_data["name"], change.postchange_data["code"]), (self.me, sunrise.name, sunrise.code))
        # The imported customers are listed and searchable like any other.
        self.assertContains(self.client.get("/customers/customer/", {"q": "日昇"}), sunrise.get_absolute_url())

    def test_each_created_customer_raises_its_event_once_committed(self):
        seen = []
        handler = ("customers.customer.created", lambda event: seen.append(event["object_id"]))
        events._subscribers.append(handler)
        try:
            job_url = self.check("name,kind,status\n日昇能源,company,prospect\n藍海餐飲,company,prospect\n永豐電子,company,prospect\n")
            with self.captureOnCommitCallbacks(execute=True):
                self.client.get(job_url)
            self.assertEqual(seen, [], "a check raises no events")
            with self.captureOnCommitCallbacks(execute=True):
                self.confirm(job_url)
        finally:
            events._subscribers.remove(handler)
        self.assertEqual(sorted(seen), sorted(Customer.objects.exclude(pk__in=[self.mine.pk, self.theirs.pk]).values_list("pk", flat=True)))


class ProblemTests(ImportTestCase):
    def test_duplicates_within_the_file_name_the_earlier_row_across_chunks(self):
        self.check(
            "name,kind,status,phone,tax_id\n"
            "全新貿易,company,prospect,0988-000-111,\n"  # row 2
            "旭日建設,company,prospect,,23456789\n"  # row 3
            "海風物流,company,prospect,+886 988 000 111,\n"  # row 4 (next chunk): row 2's phone
            "另一個名字,company,prospect,,23456789\n"  # row 5: row 3's tax ID
            "全新贸易有限公司,company,prospect,,\n"  # row 6 (third chunk): row 2's name in Simplified
        )
        by_row = self.errors_by_row()
        self.assertEqual(sorted(by_row), [4, 5, 6])
        self.assertIn("2", by_row[4][0])
        self.assertIn("3", by_row[5][0])
        self.assertIn("2", by_row[6][0])
        self.assertEqual(Customer.objects.count(), 2)

    def test_matches_with_existing_customers_respect_the_members_scope(self):
        self.check(
            "name,kind,status,phone,tax_id\n"
            "青蓝科技有限公司,company,prospect,,\n"  # row 2: my customer, by name
            "完全不同,company,prospect,07 111 2222,\n"  # row 3: a colleague's phone
            "又一家,company,prospect,,87654321\n"  # row 4: a colleague's tax ID
            "無關公司,company,prospect,,\n"  # row 5: fine
        )
        by_row = self.errors_by_row()
        self.assertEqual(sorted(by_row), [2, 3, 4])
        self.assertIn(self.mine.code, by_row[2][0])
        self.assertIn("王小明", by_row[3][0])
        self.assertIn("王小明", by_row[4][0])
        job = ImportJob.objects.get()
        self.assertNotIn(self.theirs.name, str(job.errors))
        self.assertNotIn(self.theirs.code, str(job.errors))
        self.confirm(self.upload("x"))  # nothing to confirm in an unchecked job
        self.assertEqual(Customer.objects.count(), 2)

    def test_invalid_values_are_reported_per_row_and_nothing_is_written(self):
        job_url = self.check(
            "name,kind,status,email,level\n"
            "好公司,company,prospect,,\n"
            ",company,prospect,,\n"  # row 3: no name
            "壞信箱,company,prospect,not-an-address,\n"  # row 4
            "未知等級,company,maybe,,金牌\n"  # row 5: bad status and unknown level
        )
        by_row = self.errors_by_row()
        self.assertEqual(sorted(by_row), [3, 4, 5])
        self.assertEqual(len(by_row[5]), 2)
        self.assertIn("金牌", " ".join(by_row[5]))
        self.confirm(job_url)
        self.assertEqual(Customer.objects.count(), 2)

    def test_a_taken_code_is_refused_in_the_file_and_in_the_database(self):
        self.check(
            "name,kind,status,code\n"
            f"甲公司,company,prospect,{self.mine.code}\n"  # row 2
            "乙公司,company,prospect,K-1\n"  # row 3
            "丙公司,company,prospect,K-1\n"  # row 4: row 3's code (same chunk)
            "丁公司,company,prospect,K-2\n"  # row 5
        )
        self.assertEqual(sorted(self.errors_by_row()), [2, 4])

    def test_owner_outside_the_members_scope_is_refused(self):
        grant(self.me, self.me.__class__, ["view"], scope=Scope.ALL)  # may pick any member as owner
        self.check(f"name,kind,status,owner\n自己的,company,prospect,me\n別人的,company,prospect,{self.colleague.username}\n")
        by_row = self.errors_by_row()
        self.assertEqual(sorted(by_row), [3])
        self.assertEqual(Customer.objects.count(), 2)


class ImportAnywayTests(ImportTestCase):
    CONTENT = (
        "name,kind,status,phone,tax_id\n"
        "青蓝科技有限公司,company,prospect,,\n"  # row 2: my customer's name
        "港灣物流,company,prospect,02 2345 6789,\n"  # row 3: my customer's phone
        "晨光文具,company,prospect,,\n"
    )

    def test_possible_duplicates_imported_when_the_member_says_so(self):
        job_url = self.check(self.CONTENT)
        self.assertEqual(sorted(self.errors_by_row()), [2, 3])
        self.assertContains(self.client.get(job_url), 'name="confirm_warnings"')
        ImportJob.objects.all().delete()
        job_url = self.check(self.CONTENT, confirm_warnings="on")
        self.assertContains(self.client.get(job_url), 'data-testid="import-ok"')
        self.confirm(job_url)
        self.assertEqual(Customer.objects.count(), 5)

    def test_a_same_tax_id_is_refused_even_then(self):
        self.check("name,kind,status,tax_id\n另一家,company,prospect,87654321\n新的一家,company,prospect,\n", confirm_warnings="on")
        self.assertEqual(sorted(self.errors_by_row()), [2])
        self.assertEqual(Customer.objects.count(), 2)
