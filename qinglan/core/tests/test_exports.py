"""XLSX export is streamed: the workbook is compressed and sent in pieces while the rows are
read (never built whole in memory or in a file first), and holds the same texts as the CSV
export of the same list."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from openpyxl import load_workbook

from qinglan.core import exports
from qinglan.core.testing import make_member
from qinglan.org.models import Position


@pytest.fixture
def client(db):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_member("admin", superuser=True))
    return client


def csv_rows(client, query):
    response = client.get("/org/position/export/", {**query, "format": "csv"})
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_xlsx_is_streamed_in_pieces_and_matches_the_csv(client, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_FLUSH_BYTES", 8 * 1024)  # smaller pieces than in use, for a small list
    Position.objects.bulk_create(Position(name=f"職位{number:05d}", level=number % 9, description="說明 " * 20) for number in range(6000))
    Position.objects.create(name="<b>粗體</b> & =SUM(A1)", level=1, description="控制字元\x01\x02在此")
    response = client.get("/org/position/export/", {"format": "xlsx", "level_min": "0"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="position-') and response["Content-Disposition"].endswith('.xlsx"')
    pieces = [piece for piece in response.streaming_content if piece]
    assert len(pieces) > 3  # sent as it is written, not as one finished file
    assert max(len(piece) for piece in pieces) < 4 * exports.XLSX_FLUSH_BYTES
    workbook = load_workbook(io.BytesIO(b"".join(pieces)), read_only=True)
    sheet = [["" if value is None else value for value in row] for row in workbook.worksheets[0].iter_rows(values_only=True)]
    # the CSV's texts, but for the control characters no XML text may hold
    expected = [[text.replace("\x01", "").replace("\x02", "") for text in row] for row in csv_rows(client, {"level_min": "0"})]
    assert len(sheet) == 6002 and sheet == expected
    odd = next(row for row in sheet if row[1].startswith("<b>"))
    assert odd[1] == "<b>粗體</b> & =SUM(A1)" and "控制字元在此" in odd  # text, never markup or a formula


def test_an_empty_list_gives_a_sheet_with_the_header_only(client):
    response = client.get("/org/position/export/", {"format": "xlsx"})
    sheet = list(load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(sheet) == 1 and sheet[0][0] == "id"


def test_more_rows_than_a_sheet_holds_is_refused_with_the_reason(client, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    Position.objects.bulk_create(Position(name=f"職位{number}", level=1) for number in range(3))
    response = client.get("/org/position/export/", {"format": "xlsx", "level_min": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == "/org/position/?level_min=1"
    assert "An Excel sheet holds at most 2 rows and this list has more" in response.content.decode()
    assert client.get("/org/position/export/", {"format": "csv"}).status_code == 200
