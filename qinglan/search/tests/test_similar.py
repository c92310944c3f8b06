"""More like this: the "Similar records" panel on detail pages, TF-IDF over the index, only
records the member may view."""

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from qinglan.customers.tests.factories import make_customer
from qinglan.search import index
from qinglan.search.similar import similar_records

from . import files
from .test_search import SearchTestCase


class SimilarRecordsTests(SearchTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.logistics = make_customer(cls.alice, "青藍科技合同物流有限公司")
        cls.software = make_customer(cls.bob, "青藍科技合同軟體有限公司")
        cls.unrelated = make_customer(cls.alice, "南方餐飲")

    def titles(self, user, record):
        return [item.title for item in similar_records(user, record)]

    def test_most_similar_first_and_only_in_scope(self):
        admin_titles = self.titles(self.admin, self.contract)
        self.assertEqual(set(admin_titles[:2]), {"青藍科技合同物流有限公司", "青藍科技合同軟體有限公司"})
        self.assertNotIn("青藍科技合同管理有限公司", admin_titles)  # not itself
        self.assertNotIn("南方餐飲", admin_titles)
        alice_titles = self.titles(self.alice, self.contract)
        self.assertIn("青藍科技合同物流有限公司", alice_titles)
        self.assertNotIn("青藍科技合同軟體有限公司", alice_titles)  # bob's
        self.assertTrue(all(0 < item.similarity <= 1.0001 for item in similar_records(self.admin, self.contract)))

    def test_panel_on_the_detail_page(self):
        self.client.force_login(self.alice)
        html = self.client.get(f"/customers/customer/{self.contract.pk}/").content.decode()
        self.assertIn('data-testid="similar-records"', html)
        self.assertIn(f'href="/customers/customer/{self.logistics.pk}/"', html)
        self.assertNotIn("青藍科技合同軟體有限公司", html)
        self.assertNotIn(f"/customers/customer/{self.software.pk}/", html)
        self.client.force_login(self.bob)
        html = self.client.get(f"/customers/customer/{self.software.pk}/").content.decode()
        self.assertNotIn("青藍科技合同物流有限公司", html)
        self.assertNotIn("青藍科技合同管理有限公司", html)

    def test_nothing_similar(self):
        self.client.force_login(self.alice)
        html = self.client.get(f"/customers/customer/{self.unrelated.pk}/").content.decode()
        self.assertNotIn('data-testid="similar-records"', html)
        self.assertEqual(self.titles(self.admin, self.unrelated), [])

    def test_attachments_make_records_similar(self):
        first = make_customer(self.alice, "甲公司")
        second = make_customer(self.alice, "乙企業")
        index.rebuild()
        self.client.force_login(self.alice)
        text = files.pdf("冷鏈倉儲溫控系統建置案需求規格", "含溫度感測器與警報模組")
        for record in (first, second):
            content_type = ContentType.objects.get_for_model(record)
            with self.captureOnCommitCallbacks(execute=True):
                self.client.post(f"/extras/attachments/{content_type.pk}/{record.pk}/add/", {"file": SimpleUploadedFile("需求.pdf", text)})
        self.assertEqual(self.titles(self.alice, first)[:1], ["乙企業"])

    def test_records_not_indexed_have_no_similar(self):
        from qinglan.search.models import SearchEntry

        SearchEntry.objects.filter(object_id=self.contract.pk).delete()
        self.assertEqual(self.titles(self.admin, self.contract), [])
