"""Import reads what people really upload: our own XLSX exports edited in Excel (updating by
ID), Big5 and GB18030 CSV files from Chinese Excel, and it refuses broken files clearly."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from qinglan.core.testing import make_member
from qinglan.org.models import Position


@pytest.fixture
def client(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_member("admin", superuser=True))
    return client


def check_and_confirm(client, upload, mapping=None):
    response = client.post("/org/position/import/", {"file": upload})
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = response["Location"]
    if mapping is None:  # keep the automatic matching the page proposes
        import re

        page = client.get(job).content.decode()
        mapping = dict(re.findall(r'name="(column_\d+)"[^>]*>(?:(?!</select>).)*?<option value="([a-z_]+)" selected', page, re.S))
    client.post(job, mapping)
    assert 'data-testid="import-ok"' in client.get(job).content.decode()
    client.post(job, {"_confirm": "1"})


def test_exported_xlsx_edited_and_imported_updates_by_id(client):
    first = Position.objects.create(name="業務", level=1)
    Position.objects.create(name="倉管", level=2)
    response = client.get("/org/position/export/?format=xlsx")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if str(row[0].value) == str(first.pk):
            row[headers.index("level [level]") if "level [level]" in headers else [h.endswith("[level]") for h in headers].index(True)].value = 9
    buffer = io.BytesIO()
    workbook.save(buffer)
    check_and_confirm(client, SimpleUploadedFile("positions.xlsx", buffer.getvalue()))
    first.refresh_from_db()
    assert first.level == 9
    assert Position.objects.count() == 2  # updated, not duplicated


@pytest.mark.parametrize(
    ("encoding", "language", "chosen"),
    [("cp950", "zh-hant", ""), ("gb18030", "zh-hans", ""), ("gb18030", "zh-hant", "gb18030"), ("utf-8", "en", "")],
)
def test_chinese_excel_csv_encodings(client, encoding, language, chosen):
    text = "name,level\n业务经理,2\n" if encoding == "gb18030" else "name,level\n業務經理,2\n"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    upload = SimpleUploadedFile("p.csv", text.encode(encoding))
    response = client.post("/org/position/import/", {"file": upload, "encoding": chosen})
    job = response["Location"]
    client.post(job, {"column_0": "name", "column_1": "level"})
    client.post(job, {"_confirm": "1"})
    assert Position.objects.filter(level=2).count() == 1
    assert Position.objects.get().name == text.splitlines()[1].split(",")[0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.xlsx", b"PK\x03\x04 not really a workbook", "cannot be read"),
        ("p.csv", b"", "empty"),
        ("p.pdf", b"%PDF-1.4", "Upload a CSV or Excel"),
        ("p.csv", b"\x00\x01\x02binary", "does not look like a CSV"),
    ],
)
def test_broken_files_are_refused_clearly(client, name, content, message):
    response = client.post("/org/position/import/", {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Position.objects.exists()
