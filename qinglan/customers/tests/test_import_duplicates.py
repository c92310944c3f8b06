"""The duplicate rules of an import's chunk (find_duplicates_many: the name ranges of all its
rows in a few compound statements, name keys the rows already have) find for each row what
the form's check finds for that row alone."""

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from qinglan.core.testing import make_member
from qinglan.customers import duplicates
from qinglan.customers.duplicates import Candidate, find_duplicates, find_duplicates_many
from qinglan.customers.normalize import name_key

from .factories import make_customer

EXISTING = [
    "青藍科技股份有限公司", "北極星光電", "北極星光電科技材料", "臺灣日昇能源", "Pricor Logistics Co., Ltd.", "Pricorp Trading Inc.",
    "永豐電子有限公司", "永豐電子材料", "藍海餐飲", "Harbour Freight Ltd",
]
CANDIDATES = [
    "青蓝科技有限公司",  # same name in Simplified
    "青藍科技顧問有限公司",  # starts with an existing name
    "青藍科枝",  # a typo
    "北極星光電",  # equal to one, the start of another
    "日昇能源",  # an existing name with a place in front
    "ＰＲＩＣＯＲ Logistics",  # full width, legal form dropped
    "Pricor Logistic",  # one letter short
    "永豐電子",  # the start of two
    "完全不同的公司",  # nothing
    "藍海",  # too short for a similar name
    "Harbor Freight Limited",  # near-equal Latin name
    "X",
]


class ChunkRulesTests(TestCase):
    def setUp(self):
        owner = make_member("owner")
        for name in EXISTING:
            make_customer(owner, name)

    def reasons(self, matches):
        return sorted((match.customer.name, tuple(match.reasons)) for match in matches)

    def test_a_chunk_finds_what_each_row_finds_alone(self):
        alone = [self.reasons(find_duplicates(Candidate(name=name))) for name in CANDIDATES]
        self.assertTrue(all(alone[:8]) and alone[8] == [], alone)
        per_statement = duplicates._Ranges.PER_STATEMENT
        duplicates._Ranges.PER_STATEMENT = 3  # several compound statements, one of them short
        try:
            with CaptureQueriesContext(connection) as queries:
                together = find_duplicates_many([Candidate(name=name, key=name_key(name)) for name in CANDIDATES])
        finally:
            duplicates._Ranges.PER_STATEMENT = per_statement
        self.assertEqual([self.reasons(matches) for matches in together], alone)
        ranges = [query for query in queries if "AS n, r0." in query["sql"]]
        self.assertEqual(len(ranges), 3)  # 7 different heads of names, 3 ranges per statement
