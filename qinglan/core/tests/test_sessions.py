"""Sessions are kept alive by requests, but their row is written at most once per
SESSION_RENEW_SECONDS, not on every page view."""

import time

from django.contrib.sessions.models import Session
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from qinglan.core.testing import PASSWORD, make_member


def session_writes(queries):
    return [q["sql"] for q in queries if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]


class SessionRenewalTests(TestCase):
    def setUp(self):
        self.member = make_member("renewer")
        self.assertTrue(self.client.login(username="renewer", password=PASSWORD))
        self.client.get("/")  # the first page after signing in renews the session once

    def session(self):
        return Session.objects.get(session_key=self.client.session.session_key)

    def test_page_views_within_the_interval_do_not_write_the_session(self):
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                self.assertEqual(self.client.get("/").status_code, 200)
        self.assertEqual(session_writes(queries), [])

    def test_session_renewed_once_the_interval_has_passed(self):
        session = self.client.session
        session["_renewed"] = int(time.time()) - 301
        session.save()
        before = self.session().expire_date
        time.sleep(1.1)
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(self.client.get("/").status_code, 200)
        self.assertEqual(len(session_writes(queries)), 1)
        self.assertGreater(self.session().expire_date, before)
        self.assertGreater(self.client.session["_renewed"], int(time.time()) - 5)

    def test_signed_out_visitors_get_no_session(self):
        self.client.logout()
        with CaptureQueriesContext(connection) as queries:
            self.client.get("/accounts/login/")
        self.assertEqual(session_writes(queries), [])
