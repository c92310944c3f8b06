"""Comments with @mentions, attachments with limits and safe downloads, notifications."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from qinglan.core.models import ObjectChange
from qinglan.core.testing import grant, make_member
from qinglan.extras.models import Attachment, Comment, Notification
from qinglan.org.models import Position


@pytest.fixture
def setting(db):
    author = make_member("author", display_name="作者")
    reader = make_member("reader")
    outsider = make_member("outsider")
    position = Position.objects.create(name="業務", level=1)
    grant(author, Position, ["view", "change"])
    grant(reader, Position, ["view"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(author)
    return client, author, reader, outsider, position


def comment_url(position):
    from django.contrib.contenttypes.models import ContentType

    return f"/extras/comments/{ContentType.objects.get_for_model(position).pk}/{position.pk}/add/"


def attachment_url(position):
    from django.contrib.contenttypes.models import ContentType

    return f"/extras/attachments/{ContentType.objects.get_for_model(position).pk}/{position.pk}/add/"


def test_mention_notifies_members_who_may_see_the_record(setting):
    client, author, reader, outsider, position = setting
    response = client.post(comment_url(position), {"text": "請 @reader 和 @outsider 看一下"})
    assert response.status_code == 302
    assert Comment.objects.get().text == "請 @reader 和 @outsider 看一下"
    assert Notification.objects.filter(user=reader).count() == 1
    assert not Notification.objects.filter(user=outsider).exists()  # may not see the position
    notification = Notification.objects.get(user=reader)
    reader_client = Client()
    reader_client.force_login(reader)
    page = reader_client.get("/").content.decode()
    assert 'data-testid="unread-count">1<' in page
    response = reader_client.get(f"/me/notifications/{notification.pk}/")
    assert response.status_code == 302 and response["Location"].endswith(f"/org/position/{position.pk}/comments/")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_the_bell_counts_unread_notifications_until_they_are_marked_read(setting):
    client, _author, reader, outsider, position = setting
    for text in ("@reader 第一則", "@reader 第二則", "@reader 第三則"):
        client.post(comment_url(position), {"text": text})
    reader_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    reader_client.force_login(reader)
    assert 'data-testid="unread-count">3<' in reader_client.get("/").content.decode()
    page = reader_client.get("/me/notifications/").content.decode()
    assert page.count('class="list-group-item list-group-item-action fw-semibold"') == 3  # unread shown in bold
    first = Notification.objects.filter(user=reader).order_by("pk").first()
    outsider_client = Client()
    outsider_client.force_login(outsider)
    assert outsider_client.get(f"/me/notifications/{first.pk}/").status_code == 404  # someone else's
    assert Notification.objects.get(pk=first.pk).read_at is None
    reader_client.get(f"/me/notifications/{first.pk}/")
    assert 'data-testid="unread-count">2<' in reader_client.get("/").content.decode()
    response = reader_client.post("/me/notifications/")  # "Mark all as read"
    assert response.status_code == 302
    assert not Notification.objects.filter(user=reader, read_at__isnull=True).exists()
    assert 'data-testid="unread-count"' not in reader_client.get("/").content.decode()


def test_comment_on_an_invisible_record_is_refused(setting):
    _client, _author, _reader, outsider, position = setting
    client = Client()
    client.force_login(outsider)
    assert client.post(comment_url(position), {"text": "hi"}).status_code == 404
    assert not Comment.objects.exists()


def test_only_the_author_deletes_a_comment(setting):
    client, author, reader, _outsider, position = setting
    client.post(comment_url(position), {"text": "mine"})
    comment = Comment.objects.get()
    reader_client = Client()
    reader_client.force_login(reader)
    reader_client.post(f"/extras/comments/{comment.pk}/delete/")
    assert Comment.objects.filter(pk=comment.pk).exists()
    client.post(f"/extras/comments/{comment.pk}/delete/")
    assert not Comment.objects.filter(pk=comment.pk).exists()


def test_attachment_upload_and_safe_download(setting):
    client, _author, reader, outsider, position = setting
    upload = SimpleUploadedFile("報價單.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    assert client.post(attachment_url(position), {"file": upload}).status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.name == "報價單.pdf" and attachment.size == 13
    assert ObjectChange.objects.filter(object_id=position.pk, postchange_data__attachment="報價單.pdf").exists()
    reader_client = Client()
    reader_client.force_login(reader)
    response = reader_client.get(f"/extras/attachments/{attachment.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
    outsider_client = Client()
    outsider_client.force_login(outsider)
    assert outsider_client.get(f"/extras/attachments/{attachment.pk}/download/").status_code == 404


@pytest.mark.parametrize("name", ["page.html", "run.exe", "x.svg", "script.JS"])
def test_dangerous_types_are_refused(setting, name):
    client, _author, _reader, _outsider, position = setting
    response = client.post(attachment_url(position), {"file": SimpleUploadedFile(name, b"content")}, follow=True)
    assert not Attachment.objects.exists()
    assert f"Files of type .{name.rsplit('.', 1)[1].lower()} are not accepted." in response.content.decode()


@override_settings(QINGLAN_MAX_UPLOAD_MB=1)
def test_files_over_the_limit_are_refused(setting):
    client, _author, _reader, _outsider, position = setting
    client.post(attachment_url(position), {"file": SimpleUploadedFile("big.txt", b"x" * (1024 * 1024 + 1))})
    assert not Attachment.objects.exists()


def test_deleting_a_record_removes_its_comments_and_attachments(setting):
    client, author, _reader, _outsider, position = setting
    client.post(comment_url(position), {"text": "note"})
    client.post(attachment_url(position), {"file": SimpleUploadedFile("a.txt", b"abc")})
    grant(author, Position, ["view", "change", "delete"])
    assert client.post(f"/org/position/{position.pk}/delete/").status_code == 302
    assert not Comment.objects.exists() and not Attachment.objects.exists()
