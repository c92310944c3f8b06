"""The __keyprefix lookup: an exact, case-sensitive prefix match an index can serve, with LIKE
wildcards taken literally."""

import pytest

from qinglan.org.models import Position


@pytest.mark.django_db
def test_keyprefix_matches_exact_prefixes_only():
    names = ["abc", "abcd", "abd", "ab", "ABC", "a%c", "a_c", "青藍科技", "青藍", "青", "ab\U0010ffff"]
    for name in names:
        Position.objects.create(name=name)

    def matching(prefix):
        return set(Position.objects.filter(name__keyprefix=prefix).values_list("name", flat=True))

    assert matching("abc") == {"abc", "abcd"}
    assert matching("ab") == {"abc", "abcd", "abd", "ab", "ab\U0010ffff"}
    assert matching("青藍") == {"青藍科技", "青藍"}
    assert matching("a%") == {"a%c"}
    assert matching("a_") == {"a_c"}
    assert matching("x") == set()
    assert matching("ab\U0010ffff") == {"ab\U0010ffff"}


def test_successor():
    from qinglan.core.lookups import successor

    assert successor("abc") == "abd"
    assert successor("青藍") == "青" + chr(ord("藍") + 1)
    assert successor("a\U0010ffff") == "b"
    assert successor("\ud7ff"[:0] + chr(0xD7FF)) == chr(0xE000)
    assert successor("\U0010ffff") is None
