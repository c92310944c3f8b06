"""Attachments in the index: files uploaded through the record's page are read by the job and
find their record; every format; broken, hostile and encrypted files; removal; scope."""

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from qinglan.extras.models import Attachment
from qinglan.search import extract, index
from qinglan.search.models import DocumentText, SearchEntry
from qinglan.search.service import search

from . import files
from .test_search import SearchTestCase


class AttachmentTestCase(SearchTestCase):
    def upload(self, user, record, name, data):
        self.client.force_login(user)
        content_type = ContentType.objects.get_for_model(record)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(
                f"/extras/attachments/{content_type.pk}/{record.pk}/add/", {"file": SimpleUploadedFile(name, data)}
            )
        self.assertEqual(response.status_code, 302)
        return Attachment.objects.filter(object_id=record.pk, name=name).latest("pk")

    def hits(self, user, text, **kwargs):
        return [hit for group in search(user, text, **kwargs).groups for hit in group.hits]


class AttachmentFormatsTests(AttachmentTestCase):
    def test_phrase_from_an_attached_pdf_finds_the_customer(self):
        self.upload(self.alice, self.contract, "年度報價.pdf", files.pdf("年度維護合同續約報價單", "Annual maintenance renewal"))
        hits = self.hits(self.alice, '"維護合同續約"')
        self.assertEqual([hit.title for hit in hits], ["青藍科技合同管理有限公司"])
        self.assertEqual(hits[0].attachment, "年度報價.pdf")
        self.assertIn("<mark>維護合同續約</mark>", hits[0].snippet)
        self.assertEqual([hit.title for hit in self.hits(self.alice, "maintenance renewals")], ["青藍科技合同管理有限公司"])
        # Simplified query, Traditional document.
        self.assertEqual([hit.title for hit in self.hits(self.alice, "维护合同")], ["青藍科技合同管理有限公司"])

    def test_page_and_api_say_which_attachment_matched(self):
        self.upload(self.alice, self.contract, "規格書.docx", files.docx("系統需要支援單一登入", table=[["模組", "數量"], ["倉儲管理", "3"]]))
        self.client.force_login(self.alice)
        html = self.client.get("/search/", {"q": "倉儲管理"}).content.decode()
        self.assertIn("青藍科技合同管理有限公司", html)
        self.assertRegex(html, r'data-testid="search-attachment">[^<]*規格書\.docx')
        self.assertIn("<mark>倉儲管理</mark>", html)
        body = self.client.get("/api/search/", {"q": "單一登入"}).json()
        result = body["groups"][0]["results"][0]
        self.assertEqual((result["title"], result["attachment"]), ("青藍科技合同管理有限公司", "規格書.docx"))
        # A match in the record itself is shown from the record, not from the file.
        body = self.client.get("/api/search/", {"q": "青藍"}).json()
        self.assertEqual(body["groups"][0]["results"][0]["attachment"], "")

    def test_office_files_text_and_mail(self):
        uploads = {
            "報價.xlsx": files.xlsx([["品名", "數量"], ["冷凍貨櫃", 3]]),
            "簡報.pptx": files.pptx("季度檢討", "營收成長", notes="講者備註提到競爭對手"),
            "說明.txt": "客戶關係管理系統的操作手冊".encode("big5"),
            "说明.txt": "简体文件里的库存盘点".encode("gb18030"),
            "utf16.txt": "雙位元組編碼的出貨單".encode("utf-16"),
            "來信.eml": files.eml("關於延期交貨", plain="純文字說明延期原因", html="<p>網頁版不應該被讀到</p>"),
            "網頁信.eml": files.eml("問候", html="<style>.x{}</style><p>只有網頁版的感謝函</p><script>var 腳本內容=1</script>"),
        }
        for name, data in uploads.items():
            self.upload(self.alice, self.contract, name, data)
        expectations = {
            "冷凍貨櫃": "報價.xlsx",
            "競爭對手": "簡報.pptx",
            "操作手冊": "說明.txt",
            "庫存盤點": "说明.txt",
            "出貨單": "utf16.txt",
            "延期原因": "來信.eml",
            "感謝函": "網頁信.eml",
        }
        for text, name in expectations.items():
            hits = self.hits(self.alice, text)
            self.assertEqual([hit.title for hit in hits], ["青藍科技合同管理有限公司"], text)
            self.assertEqual(hits[0].attachment, name, text)
        self.assertEqual(self.hits(self.alice, "網頁版不應該"), [])  # text/plain preferred
        self.assertEqual(self.hits(self.alice, "腳本內容"), [])  # scripts are not text
        self.assertEqual(DocumentText.objects.filter(status="ok").count(), len(uploads))

    def test_html_reader_strips_tags_scripts_and_styles(self):
        html = "<html><head><title>標題</title><style>p{color:red}</style></head><body><p>第一&amp;段</p><script>alert('x')</script><div>第二段</div></body></html>"
        self.assertEqual(extract.extract("page.html", html.encode()).text, "標題\n第一&段\n第二段")


class HostileFilesTests(AttachmentTestCase):
    def test_broken_files_are_logged_and_skipped(self):
        good = files.pdf("完好的文件內容")
        with self.assertLogs("qinglan.search", "WARNING") as logs:
            for name, data in {
                "壞掉.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
                "截斷.pdf": good[: len(good) // 2],
                "假的.docx": b"PK\x03\x04 not a zip at all",
                "假的.xlsx": files.docx("a docx named xlsx"),
                "炸彈.docx": files.zip_bomb(),
            }.items():
                self.upload(self.alice, self.contract, name, data)
        self.assertEqual(len(logs.records), 5)
        self.assertIn("炸彈.docx", "\n".join(logs.output))
        self.upload(self.alice, self.contract, "完好.pdf", good)
        self.assertEqual(DocumentText.objects.filter(status="failed").count(), 5)
        self.assertEqual([hit.attachment for hit in self.hits(self.alice, "完好的文件")], ["完好.pdf"])
        self.assertIn("青藍科技合同管理有限公司", {hit.title for hit in self.hits(self.alice, "合同")})
        # The upload itself never fails on the file's content.
        self.assertEqual(Attachment.objects.filter(object_id=self.contract.pk).count(), 6)

    def test_text_is_capped(self):
        self.upload(self.alice, self.contract, "長文.txt", ("開頭的句子" + "填充文字" * 400_000 + "結尾的句子").encode())
        row = DocumentText.objects.get(name="長文.txt")
        self.assertEqual(len(row.text), extract.MAX_TEXT)
        self.assertEqual([hit.title for hit in self.hits(self.alice, "開頭的句子")], ["青藍科技合同管理有限公司"])
        self.assertEqual(self.hits(self.alice, "結尾的句子"), [])

    def test_unsupported_and_empty_files_index_nothing(self):
        self.upload(self.alice, self.contract, "圖片.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
        self.upload(self.alice, self.contract, "空白.txt", b"   \n")
        self.assertEqual(
            dict(DocumentText.objects.values_list("name", "status")), {"圖片.png": "unsupported", "空白.txt": "empty"}
        )

    def test_encrypted_pdfs_only_when_allowed(self):
        self.upload(self.alice, self.contract, "加密.pdf", files.encrypted_pdf("機密的併購計畫"))
        self.assertEqual(DocumentText.objects.get().status, "encrypted")
        self.assertEqual(self.hits(self.alice, "併購計畫"), [])
        with override_settings(QINGLAN_SEARCH_INDEX_ENCRYPTED=True):
            self.upload(self.alice, self.contract, "加密二.pdf", files.encrypted_pdf("機密的併購計畫"))
            self.upload(self.alice, self.contract, "有密碼.pdf", files.encrypted_pdf("需要密碼的薪資表", user_password="secret"))
        self.assertEqual([hit.attachment for hit in self.hits(self.alice, "併購計畫")], ["加密二.pdf"])
        self.assertEqual(self.hits(self.alice, "薪資表"), [])
        self.assertEqual(DocumentText.objects.get(name="有密碼.pdf").status, "encrypted")


class AttachmentLifecycleTests(AttachmentTestCase):
    def test_removing_the_attachment_removes_its_text_from_the_record(self):
        attachment = self.upload(self.alice, self.contract, "會議紀錄.docx", files.docx("討論了倉庫搬遷計畫"))
        self.assertEqual(len(self.hits(self.alice, "倉庫搬遷")), 1)
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"/extras/attachments/{attachment.pk}/delete/")
        self.assertFalse(Attachment.objects.filter(pk=attachment.pk).exists())
        self.assertFalse(DocumentText.objects.exists())
        self.assertEqual(self.hits(self.alice, "倉庫搬遷"), [])
        self.assertEqual(len(self.hits(self.alice, "青藍科技", types=["customers.customer"])), 1)

    def test_editing_the_record_keeps_its_attachments_indexed(self):
        self.upload(self.alice, self.contract, "合約.pdf", files.pdf("保固期間延長為五年"))
        index.index_record(type(self.contract), self.contract.pk)
        self.assertEqual(len(self.hits(self.alice, "保固期間")), 1)

    def test_rebuild_reads_attachments_added_without_the_job(self):
        self.upload(self.alice, self.contract, "舊檔.pdf", files.pdf("很久以前上傳的檔案"))
        DocumentText.objects.all().delete()  # as if attached before indexing existed
        SearchEntry.objects.all().delete()
        index.rebuild()
        self.assertEqual([hit.attachment for hit in self.hits(self.alice, "很久以前上傳")], ["舊檔.pdf"])

    def test_deleting_the_record_drops_its_documents(self):
        self.upload(self.admin, self.latin, "contract.pdf", files.pdf("Exclusive distribution agreement"))
        self.assertEqual(len(self.hits(self.admin, "distribution agreement")), 1)
        from qinglan.core import services

        with self.captureOnCommitCallbacks(execute=True):
            services.delete_record(record=self.latin, user=self.admin)
        self.assertFalse(DocumentText.objects.exists())
        self.assertEqual(self.hits(self.admin, "distribution agreement"), [])


class AttachmentScopeTests(AttachmentTestCase):
    def test_members_find_attachments_only_of_records_in_scope(self):
        self.upload(self.admin, self.simplified, "bob的報價.pdf", files.pdf("獨家代理條款草案"))  # bob's customer
        self.assertEqual(len(self.hits(self.bob, "獨家代理")), 1)
        results = search(self.alice, "獨家代理")
        self.assertEqual((results.total, results.groups, results.facets), (0, [], []))
        self.client.force_login(self.alice)
        html = self.client.get("/search/", {"q": "獨家代理"}).content.decode()
        self.assertNotIn("bob的報價.pdf", html)
        self.assertNotIn("條款", html)
        self.assertEqual(self.client.get("/api/search/", {"q": "獨家代理"}).json()["total"], 0)


class DemoDocumentsTests(AttachmentTestCase):
    def test_demo_attaches_documents_and_indexes_after_commit(self):
        from qinglan.customers.tests.factories import make_customer
        from qinglan.search import demo

        make_customer(self.alice, "台灣精密機械股份有限公司", short_name="台灣精密機械")
        make_customer(self.alice, "太平洋航運有限公司", short_name="太平洋航運")
        SearchEntry.objects.all().delete()
        with self.captureOnCommitCallbacks(execute=True):
            demo.load_demo()
        self.assertEqual([hit.attachment for hit in self.hits(self.alice, "主軸更換")], ["年度設備維護合約.pdf"])
        self.assertEqual([hit.title for hit in self.hits(self.alice, "零下十八度")], ["太平洋航運有限公司"])
        self.assertEqual(DocumentText.objects.filter(status="ok").count(), 2)  # 藍海餐飲 is not in this database
