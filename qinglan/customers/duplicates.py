"""Duplicate detection for customers (重複客戶): does a new or edited customer, or an import
row, look like customers we already have?

A candidate matches an existing customer with the same tax ID, the same phone number (against
customers' and their contacts' phone keys) or e-mail address (customer or contact), or a
similar name: an equal name key, an equal key once a leading place name is dropped or added
(臺灣青藍科技 / 青藍科技), one key starting with the other (at least 4 Chinese or 6 Latin
characters), or a near-equal key of about the same length sharing its first characters.

Every lookup is an indexed equality, ``IN`` list or key range (name_key, phone_key, tax_id,
contact e-mail and phone are indexed), each with a small LIMIT, so the check costs the same
at a million customers as at a hundred. Nothing scans the table in Python.

Matches are then split by what the acting member may see: names and links for customers in
their scope, and for the others only that such a customer exists and who owns it, so the
member can ask that colleague instead of creating a second record."""

import json
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db import connection
from django.db.models import Count
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Contact, Customer
from .normalize import PLACE_PREFIXES, _HAN, email_key, name_key, phone_key, tax_id_key, without_place

REASONS = {
    "tax_id": gettext_lazy("same tax ID"),
    "phone": gettext_lazy("same phone"),
    "email": gettext_lazy("same e-mail"),
    "name": gettext_lazy("same name"),
    "similar_name": gettext_lazy("similar name"),
}
REASON_ORDER = tuple(REASONS)
MIN_PHONE_DIGITS = 6
PER_RULE_LIMIT = 20  # matches fetched per rule; enough to warn, bounded at any table size
SIMILARITY = 0.75  # SequenceMatcher ratio for near-equal names of about the same length (one typo in four)


@dataclass
class Candidate:
    """What is compared: the values of a customer being created, edited or imported."""

    name: str = ""
    tax_id: str = ""
    phones: tuple = ()
    emails: tuple = ()
    exclude_pk: int | None = None
    key: str | None = None  # name_key(name), when the caller has it already (a saved customer's)

    @classmethod
    def from_values(cls, values, exclude_pk=None):
        return cls(
            name=values.get("name") or "",
            tax_id=values.get("tax_id") or "",
            phones=tuple(p for p in (values.get("phone"), values.get("mobile")) if p),
            emails=tuple(e for e in (values.get("email"),) if e),
            exclude_pk=exclude_pk,
        )


@dataclass
class Match:
    customer: Customer
    reasons: list = field(default_factory=list)
    visible: bool = True  # may the acting member view this customer?
    import_row: int | None = None  # written earlier by the same import, at this row

    @property
    def reason_text(self):
        return "、".join(str(REASONS[reason]) for reason in self.reasons) if _is_chinese() else ", ".join(
            str(REASONS[reason]) for reason in self.reasons
        )

    @property
    def blocking(self):
        """An equal tax ID is the same legal entity: never a second record."""
        return "tax_id" in self.reasons

    def owner_text(self):
        owner = self.customer.owner
        return str(owner) if owner is not None else None

    def text(self):
        """One plain sentence (API, import errors) that reveals a name only to who may see it."""
        if self.import_row is not None:
            return _("Row %(row)d of this file has the %(reasons)s.") % {"row": self.import_row, "reasons": self.reason_text}
        if self.visible:
            return _("Possible duplicate: %(name)s (%(code)s), %(reasons)s.") % {
                "name": self.customer.name, "code": self.customer.code, "reasons": self.reason_text,
            }
        return self.hidden_text()

    def hidden_text(self):
        owner = self.owner_text()
        if owner:
            return _("A customer you cannot see has the %(reasons)s; it belongs to %(owner)s, ask them.") % {
                "reasons": self.reason_text, "owner": owner,
            }
        return _("A customer you cannot see has the %(reasons)s; it has no owner (public pool).") % {"reasons": self.reason_text}

    def html(self):
        """The sentence with a link to the customer, for members who may view it."""
        if self.visible and self.import_row is None:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener">{}</a> <span class="text-secondary">{}</span> · {}{}',
                self.customer.get_absolute_url(), self.customer.name, self.customer.code, self.reason_text,
                format_html(" · {}", self.owner_text()) if self.owner_text() else "",
            )
        return format_html("{}", self.text())

    def as_json(self):
        """The API's description of a match: identifying fields only when visible."""
        data = {"reasons": list(self.reasons), "message": self.text(), "blocking": self.blocking}
        if self.visible:
            data.update({"id": self.customer.pk, "code": self.customer.code, "name": self.customer.name, "url": self.customer.get_absolute_url()})
        else:
            data["owner"] = self.owner_text()
        return data


def _is_chinese():
    from django.utils import translation

    return (translation.get_language() or "").lower().startswith("zh")


# ---- finding ---------------------------------------------------------------------------


def _min_similar_length(key):
    return 4 if _HAN.search(key) else 6


def _name_rules(key):
    """{existing name_key: reason} to look up by equality (the key, the key without a leading
    place name, the key's starts) besides the place variants (_place_variants)."""
    exact = {key: "name"}
    exact.setdefault(without_place(key), "similar_name")
    shortest = _min_similar_length(key)
    for length in range(shortest, len(key)):  # an existing name that is the start of this one
        exact.setdefault(key[:length], "similar_name")
    return exact


class _Ranges:
    """name_key values starting with a prefix, as an index range scan (works the same on both
    databases, unlike LIKE, whose index use depends on collation and settings). The statement
    is built by the ORM once and then run with new bounds; `many` runs the ranges of many
    prefixes (an import's chunk) as one statement, each range still its own LIMITed index scan."""

    LOW, HIGH = "\x00low", "\x00high"
    PER_STATEMENT = 100  # ranges UNIONed into one statement (SQLite allows 500 compound terms)

    def __init__(self, limit):
        rows = Customer.objects.filter(name_key__gte=self.LOW, name_key__lt=self.HIGH).order_by("name_key")
        self.sql, params = rows.values_list("pk", "name_key")[:limit].query.sql_with_params()
        self.limit = limit
        self._compound = {}
        assert list(params) == [self.LOW, self.HIGH], params

    def __call__(self, prefix):
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [prefix, prefix + "\U0010ffff"])
            return [(pk, value) for pk, value in cursor.fetchall() if value.startswith(prefix)]

    def many(self, prefixes):
        """{prefix: [(pk, name_key)]} for each of `prefixes` (as __call__ gives for one)."""
        prefixes = list(dict.fromkeys(prefixes))
        found = {prefix: [] for prefix in prefixes}
        for start in range(0, len(prefixes), self.PER_STATEMENT):
            batch = prefixes[start : start + self.PER_STATEMENT]
            sql = self._compound.get(len(batch))
            if sql is None:
                sql = self._compound[len(batch)] = " UNION ALL ".join(
                    f"SELECT {index} AS n, r{index}.* FROM ({self.sql}) r{index}" for index in range(len(batch))
                )
            params = [bound for prefix in batch for bound in (prefix, prefix + "\U0010ffff")]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                for index, pk, value in cursor.fetchall():
                    prefix = batch[index]
                    if value.startswith(prefix):
                        found[prefix].append((pk, value))
        return found


def _first_per_key(model, column, keys, limit, value="pk", prefixes=()):
    """(key, value) rows of `model` whose `column` is one of `keys`: one query, at most `limit`
    rows (lowest pks) per key, so a value shared by thousands of records costs no more. Written
    by hand for the thousands of keys of an import's chunk (the ORM prepared every key through
    its lookup machinery, which cost more than the query); the keys are one parameter, as
    ``__anyof`` sends them (a JSON array read by json_each on SQLite, an array on PostgreSQL).
    With `prefixes`, the values looked up are every prefix followed by every key, formed by the
    database (the place names before a chunk's name keys: tens of thousands of strings that
    Python no longer builds and sends)."""
    if not keys:
        return []
    meta, quote = model._meta, connection.ops.quote_name
    table, key_column = quote(meta.db_table), quote(meta.get_field(column).column)
    value_column, pk = quote(meta.pk.column if value == "pk" else meta.get_field(value).column), quote(meta.pk.column)
    if connection.vendor == "postgresql":
        if prefixes:
            where = f"{key_column} = ANY(ARRAY(SELECT p || k FROM unnest(%s::text[]) AS p, unnest(%s::text[]) AS k))"
            parameters = [list(prefixes), list(keys)]
        else:
            where, parameters = f"{key_column} = ANY(%s)", [list(keys)]
    elif prefixes:
        where = f"{key_column} IN (SELECT p.value || k.value FROM json_each(%s) AS p, json_each(%s) AS k)"
        parameters = [json.dumps(list(prefixes)), json.dumps(list(keys))]
    else:
        where, parameters = f"{key_column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(keys))]
    sql = (
        f"SELECT k, v FROM (SELECT {key_column} AS k, {value_column} AS v, ROW_NUMBER() OVER (PARTITION BY {key_column} "
        f"ORDER BY {pk}) AS n FROM {table} WHERE {where}) ranked WHERE n <= {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def _keyed(candidates, keys_of):
    """{key: [candidate index]} of the keys each candidate is looked up by."""
    result = {}
    for index, candidate in enumerate(candidates):
        for key in keys_of(candidate):
            result.setdefault(key, []).append(index)
    return result


def _tax_keys(candidate):
    tax = tax_id_key(candidate.tax_id)
    return {tax, candidate.tax_id.strip()} if tax else set()


def _phone_keys(candidate):
    return {key for key in (phone_key(p) for p in candidate.phones) if len(key) >= MIN_PHONE_DIGITS}


def _email_keys(candidate):
    emails = set()
    for email in candidate.emails:
        text = (email or "").strip()
        if "@" in text:
            local, _at, domain = text.rpartition("@")
            emails |= {text, email_key(text), f"{local}@{domain.lower()}"}
    return emails


def find_duplicates(candidate, *, limit=PER_RULE_LIMIT):
    """[Match] of existing customers that look like `candidate`, strongest reasons first."""
    return find_duplicates_many([candidate], limit=limit)[0]


def find_duplicates_many(candidates, *, limit=PER_RULE_LIMIT):
    """find_duplicates for many candidates (an import's chunk of rows): each equality rule is
    one query for all of them; only the name ranges are one query per candidate."""
    found = [{} for _candidate in candidates]

    def add(index, pk, reason):
        if pk is None or pk == candidates[index].exclude_pk:
            return
        reasons = found[index].setdefault(pk, [])
        if reason not in reasons:
            reasons.append(reason)

    def equal_rule(model, column, wanted, reason, pk_column="pk", per_key=limit):
        for key, pk in _first_per_key(model, column, list(wanted), per_key, value=pk_column):
            for index in wanted.get(key, ()):
                add(index, pk, reason)

    phones, emails = _keyed(candidates, _phone_keys), _keyed(candidates, _email_keys)  # customers' and contacts'
    equal_rule(Customer, "tax_id", _keyed(candidates, _tax_keys), "tax_id")
    equal_rule(Customer, "phone_key", phones, "phone")
    equal_rule(Contact, "phone_key", phones, "phone", pk_column="customer_id")
    equal_rule(Customer, "email", emails, "email")
    equal_rule(Contact, "email", emails, "email", pk_column="customer_id")

    keys = [name_key(candidate.name) if candidate.key is None else candidate.key for candidate in candidates]
    rules = [_name_rules(key) if len(key) >= 2 else {} for key in keys]
    wanted = {}
    for index, candidate_rules in enumerate(rules):
        for value in candidate_rules:
            wanted.setdefault(value, []).append(index)
    for value, pk in _first_per_key(Customer, "name_key", list(wanted), limit * 2):
        for index in wanted[value]:
            add(index, pk, rules[index][value])
    # An existing name that is a place name followed by the key without its own place name
    # (臺灣青藍科技 for 青藍科技 or 上海青藍科技).
    bases = {}
    for index, key in enumerate(keys):
        if len(key) >= 2:
            bases.setdefault(without_place(key), []).append(index)
    for value, pk in _first_per_key(Customer, "name_key", list(bases), limit * 2, prefixes=PLACE_PREFIXES):
        for place in PLACE_PREFIXES:
            if value.startswith(place):
                for index in bases.get(value[len(place):], ()):
                    add(index, pk, "name" if value == keys[index] else "similar_name")

    prefixed, heads = _Ranges(limit), _Ranges(limit * 3)
    plans = []
    for index, key in enumerate(keys):
        if len(key) < 2:
            continue
        starts = len(key) >= _min_similar_length(key)  # existing names that start with this one
        # A near-equal name (a typo, one character more or less) sharing its first characters.
        head = key[:3] if _HAN.search(key[:3]) else key[:5]
        near = len(key) >= len(head) + 1 >= 4
        plans.append((index, key, starts, head, near))
    ranges = heads.many([head for _index, _key, _starts, head, near in plans if near])
    for index, key, starts, head, near in plans:
        rows = ranges[head] if near else []
        if near:
            for pk, value in rows:
                if abs(len(value) - len(key)) <= 1 and SequenceMatcher(None, key, value).ratio() >= SIMILARITY:
                    add(index, pk, "similar_name")
        if starts:
            # The head range holds every name starting with the key unless it was cut at its limit.
            starting = [row for row in rows if row[1].startswith(key)][:limit] if near and len(rows) < heads.limit else prefixed(key)
            for pk, _value in starting:
                add(index, pk, "similar_name")

    wanted_pks = {pk for matches in found for pk in matches}
    if not wanted_pks:
        return [[] for _candidate in candidates]
    rows = Customer.objects.select_related("owner").in_bulk(list(wanted_pks))
    result = []
    for matches in found:
        for reasons in matches.values():
            if "name" in reasons and "similar_name" in reasons:
                reasons.remove("similar_name")
        listed = [Match(customer=rows[pk], reasons=sorted(reasons, key=REASON_ORDER.index)) for pk, reasons in matches.items() if pk in rows]
        listed.sort(key=lambda m: (REASON_ORDER.index(m.reasons[0]), -len(m.reasons), m.customer.pk))
        result.append(listed)
    return result


def for_member(matches, user, imported_rows=None):
    """Mark which matches `user` may view (None: a system action, all) and which were written
    earlier by the same import (`imported_rows`: {pk: row number})."""
    return for_member_many([matches], user, imported_rows)[0]


def for_member_many(match_lists, user, imported_rows=None):
    """for_member of several candidates' matches with one visibility query."""
    ids = {match.customer.pk for matches in match_lists for match in matches}
    if user is not None and ids:
        visible = set(Customer.objects.restrict(user, "view").filter(pk__anyof=list(ids)).values_list("pk", flat=True))
    for matches in match_lists:
        for match in matches:
            if user is not None:
                match.visible = match.customer.pk in visible
            match.import_row = (imported_rows or {}).get(match.customer.pk)
        matches.sort(key=lambda match: not match.visible)  # stable: named matches first, by strength
    return match_lists


def check_customer(values, *, user, exclude_pk=None, imported_rows=None):
    """Matches of a customer's values as `user` may learn of them."""
    return for_member(find_duplicates(Candidate.from_values(values, exclude_pk=exclude_pk)), user, imported_rows)


def check_imported(customers, *, user, imported_rows):
    """For customers an import has just written (a chunk of rows, in row order): their matches
    among existing customers and rows further up the file, as `user` may learn of them. A
    match with a row further down is left to that row (it reports this one)."""
    candidates = [
        Candidate(
            name=customer.name or "", tax_id=customer.tax_id or "", phones=tuple(p for p in (customer.phone, customer.mobile) if p),
            emails=(customer.email,) if customer.email else (), exclude_pk=customer.pk, key=customer.name_key,
        )
        for customer in customers
    ]
    match_lists = find_duplicates_many(candidates)
    for customer, matches in zip(customers, match_lists):
        matches[:] = [m for m in matches if not (m.customer.pk in imported_rows and m.customer.pk > customer.pk)]
    return for_member_many(match_lists, user, imported_rows)


def problems(matches, *, confirmed):
    """[(field, message)] a save is refused for: an equal tax ID always, other matches unless
    the member confirmed it is a different customer."""
    result = []
    for match in matches:
        if match.blocking:
            if match.import_row is not None:
                message = match.text()
            elif match.visible:
                message = _("A customer with this tax ID already exists: %(name)s (%(code)s).") % {
                    "name": match.customer.name, "code": match.customer.code,
                }
            else:
                message = match.hidden_text()
            result.append(("tax_id", message))
        elif not confirmed:
            result.append(("", match.text()))
    return result


def matches_html(matches):
    return format_html_join("", "<li>{}</li>", ((match.html(),) for match in matches))


# ---- the duplicates report ------------------------------------------------------------

REPORT_KEYS = {"name": ("name_key", gettext_lazy("same name")), "phone": ("phone_key", gettext_lazy("same phone")), "tax_id": ("tax_id", gettext_lazy("same tax ID"))}
REPORT_PAGE = 25


def duplicate_groups(user, *, by="name", after=None, size=REPORT_PAGE):
    """One page of groups of customers `user` may view that share a name key, phone key or tax
    ID: SQL GROUP BY … HAVING COUNT(*) > 1 in key order, paged by key (keyset, no OFFSET).
    Returns (groups [(key, [customers])], next key or None)."""
    column, _label = REPORT_KEYS[by]
    visible = Customer.objects.restrict(user, "view").exclude(**{column: ""})
    keys = visible.order_by(column).values(column).annotate(count=Count("pk")).filter(count__gt=1)
    if after is not None:
        keys = keys.filter(**{f"{column}__gt": after})
    page = list(keys.values_list(column, "count")[: size + 1])
    more = len(page) > size
    page = page[:size]
    members = {}
    wanted = [key for key, _count in page]
    if wanted:
        rows = visible.filter(**{f"{column}__in": wanted}).select_related("owner").order_by(column, "pk")
        for customer in rows[: size * 50]:
            members.setdefault(getattr(customer, column), []).append(customer)
    groups = [(key, members.get(key, [])) for key in wanted]
    return groups, (wanted[-1] if more else None)
