"""Lookups the resource layer needs to stay fast at millions of rows."""

import json

from django.core.exceptions import EmptyResultSet
from django.db.models import CharField, Field, Lookup


@CharField.register_lookup
class KeyPrefix(Lookup):
    """``key__keyprefix="abc"``: the value starts with "abc", compared exactly (case and all),
    written so that an ordinary index on the column serves it.

    Meant for normalised keys that are stored already folded (e.g. a customer's name_key), so
    the search text is folded the same way in Python first. Django's ``startswith`` can't be
    used there: on SQLite it becomes ``LIKE … ESCAPE``, which is case-insensitive and never
    uses a (BINARY) index. SQLite therefore gets a range, ``key >= 'abc' AND key < 'abd'``
    (BINARY order is code point order, so exactly the strings starting with "abc" lie in
    it). PostgreSQL gets ``LIKE 'abc%'``, which its
    ``varchar_pattern_ops`` index (the "_like" index Django adds to an indexed CharField)
    serves whatever the database's collation — a range would not be right under a
    linguistic collation."""

    lookup_name = "keyprefix"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        prefix = str(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} LIKE %s", (*lhs_params, connection.ops.prep_for_like_query(prefix) + "%")
        upper = successor(prefix)
        if upper is None:  # only U+10FFFF characters: everything from the prefix on
            return f"{lhs} >= %s", (*lhs_params, prefix)
        return f"({lhs} >= %s AND {lhs} < %s)", (*lhs_params, prefix, *lhs_params, upper)


def successor(prefix):
    """The smallest string greater than every string starting with `prefix` (None if there
    is none): the prefix with its last character raised by one, skipping the surrogates."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            following = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return None


@Field.register_lookup
class AnyOf(Lookup):
    """``field__anyof=[…]``: ``IN`` a list of plain values (strings, numbers) sent as ONE
    parameter — a JSON array read by ``json_each`` on SQLite, an array on PostgreSQL.

    Django's ``__in`` writes a placeholder per value and prepares each value through the
    lookup machinery: with the thousands of keys an import checks per chunk, compiling that
    statement cost more than running it. The values are converted by the field once, in a
    plain loop, and the statement text is the same whatever their number."""

    lookup_name = "anyof"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(value, connection, prepared=False) for value in self.rhs]
        if not values:
            raise EmptyResultSet
        if any(not isinstance(value, (str, int, float)) for value in values):
            raise TypeError(f"anyof takes strings and numbers, not {values!r:.80}")
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, json.dumps(values))
