"""Demo data: a few documents attached to demo customers (a maintenance contract as PDF, a
requirements document as DOCX, a quotation as XLSX), then the full-text index is built once
the demo transaction commits — after every app's demo records, including the apps that come
after this one in INSTALLED_APPS — so that the demo's search box finds everything at once,
a phrase from the PDF too ("主軸更換").
"""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from . import samples

DOCUMENTS = (
    (
        "台灣精密機械",
        "年度設備維護合約.pdf",
        lambda: samples.pdf(
            "年度設備維護合約",
            "五軸加工中心每季預防保養一次，主軸更換保固三年。",
            "Annual maintenance agreement: quarterly preventive service.",
        ),
    ),
    (
        "太平洋航運",
        "冷鏈運輸需求說明.docx",
        lambda: samples.docx(
            "冷鏈貨櫃運輸需求說明",
            "全程溫度須維持在攝氏零下十八度以下，並提供溫度紀錄報表。",
            table=[["航線", "櫃量"], ["基隆—上海", "每月 12 櫃"]],
        ),
    ),
    (
        "藍海餐飲",
        "食材報價單.xlsx",
        lambda: samples.xlsx([["品項", "單價", "數量"], ["有機蔬菜箱", 680, 40], ["冷凍鮭魚排", 1250, 25]], title="食材報價"),
    ),
)


def load_demo():
    from qinglan.customers.models import Customer
    from qinglan.extras.services import add_attachment
    from qinglan.org.models import User

    from .index import rebuild

    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    if admin is not None:
        for company, name, content in DOCUMENTS:
            customer = Customer.objects.filter(short_name=company).order_by("pk").first()
            if customer is not None:
                add_attachment(record=customer, user=admin, upload=SimpleUploadedFile(name, content()))
    transaction.on_commit(rebuild)  # the rebuild also reads the attachments' text
