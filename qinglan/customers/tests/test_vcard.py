"""vCard 3.0/4.0 export and import: round trips with Chinese text and escaped characters,
the 2.1 cards of old phones, broken cards rejected with nothing written, and permissions
(export and import grants, data scopes), driven through the pages members use."""

import datetime
import quopri

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase, TestCase
from django.urls import reverse
from django.utils import translation

from qinglan.core import testing
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import Scope
from qinglan.customers import vcard
from qinglan.customers.models import Contact, Customer

from .factories import make_customer

TRICKY = {
    "name": "陳美玲",
    "name_latin": "Chen, Mei-ling",
    "title": "經理, 採購; 主管\\副理",
    "department_name": "採購部; 北區",
    "phone": "+886 2 2345-6789 #12",
    "mobile": "0912-345-678",
    "email": "mei.chen@example.com.tw",
    "im": "WeChat: mei_ling;2",
    "birthday": datetime.date(1985, 3, 7),
    "address": "台北市信義區松仁路100號, 10樓; B室",
    "notes": "第一行，逗號, 分號;\n第二行\\反斜線\n" + "很長的備註文字" * 20,
    "decision_role": "decision_maker",
    "is_primary": True,
}


def contact_fields(contact):
    return {name: getattr(contact, name) for name in TRICKY}


def upload(text, name="contacts.vcf"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/vcard")


class ParserTests(SimpleTestCase):
    """The reader and writer alone."""

    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_round_trip_both_versions(self):
        card = vcard.Card(organization="青藍科技, 股份有限公司", **TRICKY)
        for version in ("3.0", "4.0"):
            text = vcard.write([card], version)
            self.assertIn(f"VERSION:{version}\r\n", text)
            self.assertTrue(all(len(line.encode()) <= 75 for line in text.split("\r\n")), "lines are folded at 75 octets")
            self.assertIn("\r\n ", text, "the long note is folded")
            [back] = vcard.parse(text)
            self.assertEqual(back.contact_data(), card.contact_data())
            self.assertEqual(back.organization, card.organization)

    def test_folded_lines_with_tabs_and_bare_line_feeds(self):
        text = "BEGIN:VCARD\nVERSION:3.0\nFN:Wang\n  Xiao-ming\nNOTE:一段\n\t很長的\n 備註\nEND:VCARD\n"
        [card] = vcard.parse(text)
        self.assertEqual(card.name, "Wang Xiao-ming")
        self.assertEqual(card.notes, "一段很長的備註")

    def test_quoted_printable_21_card(self):
        name = quopri.encodestring("林志明".encode()).decode()
        note = "=E7=AC=AC=E4=B8=80=E8=A1=8C=0D=0A=\r\n=E7=AC=AC=E4=BA=8C=E8=A1=8C"
        text = (
            "BEGIN:VCARD\r\nVERSION:2.1\r\n"
            f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{name};;;;\r\n"
            "TEL;WORK:02-8888-0000\r\nTEL;HOME:03-1234567\r\nTEL;CELL:0911-111-111\r\n"
            f"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:{note}\r\n"
            "PHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQ\r\n\r\n"
            "END:VCARD\r\n"
        )
        [card] = vcard.parse(text)
        self.assertEqual(card.name, "林志明")
        self.assertEqual((card.mobile, card.phone), ("0911-111-111", "02-8888-0000"))
        self.assertEqual(card.notes, "第一行\n第二行")
        self.assertEqual(card.skipped, ["03-1234567"])

    def test_legacy_chinese_charsets(self):
        big5 = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=BIG5:許;功蓋\r\nTITLE;CHARSET=BIG5:業務\r\nEND:VCARD\r\n".encode("cp950")
        self.assertIn(b"\\", big5, "許 holds the byte of a backslash in Big5")
        [card] = vcard.parse(big5)
        self.assertEqual((card.name, card.title), ("許功蓋", "業務"))
        gbk = quopri.encodestring("张三丰".encode("gbk"))
        data = b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=GB2312;ENCODING=QUOTED-PRINTABLE:" + gbk + b"\r\nEND:VCARD\r\n"
        [card] = vcard.parse(data)
        self.assertEqual(card.name, "张三丰")

    def test_vcard_40_value_forms(self):
        text = (
            "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Chen;Mei-ling;;;\r\nTEL;VALUE=uri;TYPE=\"cell,voice\":tel:+886-912-345-678\r\n"
            "EMAIL;PREF=1:a@example.com\r\nEMAIL:b@example.com\r\nIMPP;X-SERVICE-TYPE=LINE:line:meiling\r\nBDAY:--0307\r\n"
            "ADR;TYPE=work:;;No. 100 Songren Rd.;Taipei;;110;Taiwan\r\nitem1.X-ABLABEL:ignored\r\nEND:VCARD\r\n"
        )
        [card] = vcard.parse(text)
        self.assertEqual(card.name, "Mei-ling Chen")
        self.assertEqual(card.mobile, "+886-912-345-678")
        self.assertEqual(card.email, "a@example.com")
        self.assertEqual(card.im, "LINE: meiling")
        self.assertEqual(card.birthday, datetime.date(vcard.NO_YEAR, 3, 7))
        self.assertEqual(card.address, "No. 100 Songren Rd., Taipei 110, Taiwan")
        self.assertIn("BDAY:--0307", vcard.write([card], "4.0"))
        [again] = vcard.parse(vcard.write([card], "3.0"))
        self.assertEqual(again.birthday, card.birthday)

    def test_broken_files_name_card_and_line(self):
        cases = {
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\n": ("Card 1, line 1", "END:VCARD"),
            "BEGIN:VCARD\r\nFN:甲\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:乙\r\nBEGIN:VCARD\r\nEND:VCARD\r\n": ("Card 2, line 4", "END:VCARD"),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:123\r\nEND:VCARD\r\n": ("Card 1, line 1", "no name"),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nBDAY:2023-02-30\r\nEND:VCARD\r\n": ("Card 1, line 4", "2023-02-30"),
            "BEGIN:VCARD\r\nVERSION:5.0\r\nFN:甲\r\nEND:VCARD\r\n": ("Card 1, line 2", "5.0"),
            "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=KLINGON;ENCODING=QUOTED-PRINTABLE:=E7=94=B2\r\nEND:VCARD\r\n": ("Card 1, line 3", "KLINGON"),
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nthis line has no colon\r\nEND:VCARD\r\n": ("Card 1, line 4", "colon"),
            "FN:甲\r\n": ("Line 1", "BEGIN:VCARD"),
            "": ("", "no vCard"),
        }
        for text, (where, what) in cases.items():
            with self.subTest(text=text), self.assertRaises(vcard.VCardError) as raised:
                vcard.parse(text)
            self.assertIn(where, str(raised.exception))
            self.assertIn(what, str(raised.exception))
        with self.assertRaisesMessage(vcard.VCardError, "binary data"):
            vcard.parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        with self.assertRaisesMessage(vcard.VCardError, "more than 2 cards"):
            vcard.parse("BEGIN:VCARD\r\nFN:a\r\nEND:VCARD\r\n" * 3, max_cards=2)

    def test_lenient_parse_keeps_every_cards_problems(self):
        text = "BEGIN:VCARD\r\nFN:甲\r\nEND:VCARD\r\nBEGIN:VCARD\r\nN:;;;;\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:丙\r\nBDAY:tomorrow\r\nEND:VCARD\r\n"
        cards = vcard.parse(text, strict=False)
        self.assertEqual([bool(card.errors) for card in cards], [False, True, True])
        self.assertIn("Card 3, line 9", cards[2].error_messages()[0])


class VCardPageTests(TestCase):
    """Export and import through HTTP, as members with given grants."""

    def setUp(self):
        self.sales = testing.make_department("業務部")
        self.other_department = testing.make_department("研發部")
        self.member = testing.make_member("mei", department=self.sales, language="en")
        self.stranger = testing.make_member("stranger", department=self.other_department)
        self.customer = make_customer(self.member, "青藍科技股份有限公司")
        self.foreign = make_customer(self.stranger, "別家公司")
        self.contact = Contact.objects.create(customer=self.customer, **TRICKY)
        self.hidden = Contact.objects.create(customer=self.foreign, name="秘密聯絡人", mobile="0900-000-000")
        self.client.force_login(self.member)

    def grant(self, *actions, scope=Scope.OWN):
        testing.grant(self.member, Contact, actions, scope=scope)
        testing.grant(self.member, Customer, ["view"], scope=scope)

    # ---- export ------------------------------------------------------------------------
    def test_one_contact_round_trips_through_export_and_import(self):
        self.grant("view", "export", "import", "add")
        detail = self.client.get(reverse("customers:contact_detail", args=[self.contact.pk])).content.decode()
        self.assertIn(reverse("customers:contact_vcard", args=[self.contact.pk]) + "?version=4.0", detail)
        target = make_customer(self.member, "另一家客戶")
        for version in ("3.0", "4.0"):
            response = self.client.get(reverse("customers:contact_vcard", args=[self.contact.pk]), {"version": version})
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response["Content-Type"], "text/vcard; charset=utf-8")
            self.assertIn("attachment", response["Content-Disposition"])
            text = response.content.decode()
            self.assertIn(f"VERSION:{version}", text)
            self.assertIn("ORG:青藍科技股份有限公司;採購部\\; 北區", text)
            [card] = vcard.parse(text)
            self.assertEqual(card.contact_data(), contact_fields(self.contact))
            # and back in, through the import pages
            before = set(Contact.objects.values_list("pk", flat=True))
            preview = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text), "customer": target.pk})
            self.assertEqual(preview.status_code, 200, preview.content.decode()[:2000])
            self.assertContains(preview, 'data-testid="vcard-ready"')
            self.assertEqual(set(Contact.objects.values_list("pk", flat=True)), before, "the check writes nothing")
            done = self.client.post(reverse("customers:contact_vcard_import"), {"_confirm": "1", "payload": preview.context["payload"]})
            self.assertEqual(done.status_code, 302)
            [new] = Contact.objects.exclude(pk__in=before)
            self.assertEqual(new.customer, target)
            self.assertEqual(contact_fields(new), contact_fields(self.contact))
            self.assertTrue(ObjectChange.objects.filter(object_id=new.pk, action=ObjectChange.Action.CREATE).exists())

    def test_selected_and_filtered_exports_hold_only_contacts_in_scope(self):
        self.grant("view", "export")
        second = Contact.objects.create(customer=self.customer, name="Alice Wang", email="alice@example.com")
        listing = self.client.get(reverse("customers:contact_list")).content.decode()
        self.assertIn(reverse("customers:contact_vcard_selected_4"), listing)
        self.assertIn(reverse("customers:contact_vcard_list") + "?&amp;version=3.0", listing)
        response = self.client.post(
            reverse("customers:contact_vcard_selected_4"), {"pk": [self.contact.pk, second.pk, self.hidden.pk]}
        )
        names = [card.name for card in vcard.parse(b"".join(response.streaming_content))]
        self.assertEqual(sorted(names), sorted(["陳美玲", "Alice Wang"]))
        response = self.client.get(reverse("customers:contact_vcard_list"), {"version": "3.0", "q": "alice"})
        self.assertEqual([card.name for card in vcard.parse(b"".join(response.streaming_content))], ["Alice Wang"])
        response = self.client.get(reverse("customers:contact_vcard_list"), {"version": "3.0"})
        self.assertNotIn("秘密", b"".join(response.streaming_content).decode())
        self.assertEqual(self.client.get(reverse("customers:contact_vcard", args=[self.hidden.pk])).status_code, 404)

    def test_export_refused_without_export_permission(self):
        self.grant("view")
        for response in (
            self.client.get(reverse("customers:contact_vcard", args=[self.contact.pk])),
            self.client.get(reverse("customers:contact_vcard_list")),
            self.client.post(reverse("customers:contact_vcard_selected_3"), {"pk": [self.contact.pk]}),
        ):
            self.assertEqual(response.status_code, 403)
        detail = self.client.get(reverse("customers:contact_detail", args=[self.contact.pk])).content.decode()
        self.assertNotIn("/vcard/", detail)
        self.assertNotIn("contact/vcard/selected", self.client.get(reverse("customers:contact_list")).content.decode())

    # ---- import ------------------------------------------------------------------------
    def test_import_refused_without_import_permission(self):
        self.grant("view", "add")
        self.assertEqual(self.client.get(reverse("customers:contact_vcard_import")).status_code, 403)
        response = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(vcard.write([self.contact])), "customer": self.customer.pk})
        self.assertEqual(response.status_code, 403)

    def test_broken_cards_are_rejected_and_nothing_is_written(self):
        self.grant("view", "add", "import")
        count = Contact.objects.count()
        good = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:好人\r\nEND:VCARD\r\n"
        cases = {
            "missing END": (good + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:沒結尾\r\n", "Card 2, line 5: The card has no END:VCARD."),
            "no name": (good + "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL:0912\r\nEND:VCARD\r\n", "Card 2, line 5: The card has no name (FN or N)."),
            "bad date": (good + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:壞日期\r\nBDAY:1990-13-45\r\nEND:VCARD\r\n", "Card 2, line 8: “1990-13-45” is not a valid birthday date."),
            "bad e-mail": (good + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:壞信箱\r\nEMAIL:not-an-address\r\nEND:VCARD\r\n", "E-mail: Enter a valid email address."),
            "too long": (good + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" + "長" * 101 + "\r\nEND:VCARD\r\n", "Name: Ensure this value has at most 100 characters"),
            "binary": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "The file contains binary data; it is not a vCard file."),
        }
        for label, (content, message) in cases.items():
            with self.subTest(label):
                response = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(content), "customer": self.customer.pk})
                self.assertEqual(response.status_code, 400)
                self.assertContains(response, message, status_code=400, html=False) if "“" not in message else self.assertIn(
                    message, response.content.decode()
                )
                self.assertNotContains(response, 'name="_confirm"', status_code=400)
                self.assertEqual(Contact.objects.count(), count)

    def test_oversize_file_is_refused(self):
        self.grant("view", "add", "import")
        from qinglan.customers import vcard_views

        big = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:大\r\nNOTE:" + "x" * (vcard_views.MAX_UPLOAD_MB * 1024 * 1024) + "\r\nEND:VCARD\r\n"
        response = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(big), "customer": self.customer.pk})
        self.assertContains(response, f"The file is larger than {vcard_views.MAX_UPLOAD_MB} MB.", status_code=400)
        self.assertEqual(Contact.objects.count(), 2)

    def test_errors_are_in_the_members_language(self):
        self.grant("view", "add", "import")
        self.member.language = "zh-hant"
        self.member.save()
        text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nBDAY:1990-02-31\r\nEND:VCARD\r\n"
        response = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text), "customer": self.customer.pk})
        self.assertContains(response, "第 1 張名片，第 4 行：「1990-02-31」不是有效的生日日期。", status_code=400)

    def test_tampered_confirmation_is_refused(self):
        self.grant("view", "add", "import")
        text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nEND:VCARD\r\n"
        preview = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text), "customer": self.customer.pk})
        payload = preview.context["payload"]
        response = self.client.post(reverse("customers:contact_vcard_import"), {"_confirm": "1", "payload": payload[:-3] + "xyz"}, follow=True)
        self.assertContains(response, "expired or was changed")
        self.assertEqual(Contact.objects.count(), 2)
        self.client.force_login(self.stranger)
        testing.grant(self.stranger, Contact, ["view", "add", "import"], scope=Scope.ALL)
        self.client.post(reverse("customers:contact_vcard_import"), {"_confirm": "1", "payload": payload})
        self.assertEqual(Contact.objects.count(), 2, "another member's checked file is refused")

    def test_cards_find_their_customer_by_company_name_within_scope(self):
        self.grant("view", "add", "import")
        text = (
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nORG:青蓝科技有限公司;業務\r\nEND:VCARD\r\n"  # 简体, other suffix: same name key
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:乙\r\nORG:別家公司\r\nEND:VCARD\r\n"  # exists, but out of scope
            "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:丙\r\nEND:VCARD\r\n"  # no company
        )
        response = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text)})
        self.assertEqual(response.status_code, 400)
        rows = response.context["rows"]
        self.assertEqual(rows[0][1], self.customer)
        self.assertEqual(rows[0][2], [])
        self.assertIn("No customer “別家公司” that you may see", rows[1][2][0])
        self.assertIn("names no company", rows[2][2][0])
        self.assertEqual(Contact.objects.count(), 2)
        ok = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text.split("BEGIN")[0] + "BEGIN" + text.split("BEGIN")[1])})
        self.client.post(reverse("customers:contact_vcard_import"), {"_confirm": "1", "payload": ok.context["payload"]})
        created = Contact.objects.get(name="甲")
        self.assertEqual((created.customer, created.department_name), (self.customer, "業務"))

    def test_import_into_an_out_of_scope_customer_is_refused(self):
        self.grant("view", "add", "import")
        text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:甲\r\nEND:VCARD\r\n"
        response = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text), "customer": self.foreign.pk})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(Contact.objects.count(), 2)

    def test_a_card_that_fails_at_confirmation_leaves_nothing_behind(self):
        self.grant("view", "add", "import")
        text = "".join(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:聯絡人{n}\r\nEND:VCARD\r\n" for n in range(3))
        preview = self.client.post(reverse("customers:contact_vcard_import"), {"file": upload(text), "customer": self.customer.pk})
        # the customer moves out of the member's scope between the check and the confirmation
        Customer.objects.filter(pk=self.customer.pk).update(owner=self.stranger, department=self.other_department)
        response = self.client.post(reverse("customers:contact_vcard_import"), {"_confirm": "1", "payload": preview.context["payload"]}, follow=True)
        self.assertEqual(Contact.objects.count(), 2)
        self.assertNotContains(response, "contacts were imported", status_code=response.status_code)
