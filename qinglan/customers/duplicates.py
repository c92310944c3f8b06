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

from dataclasses import dataclass, field
from difflib import SequenceMatcher

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
    """{existing name_key: reason} to look up by equality, plus the prefix range rule."""
    exact = {key: "name"}
    base = without_place(key)
    for variant in {base, *(place + base for place in PLACE_PREFIXES)}:
        exact.setdefault(variant, "similar_name")
    shortest = _min_similar_length(key)
    for length in range(shortest, len(key)):  # an existing name that is the start of this one
        exact.setdefault(key[:length], "similar_name")
    return exact


def _key_range(queryset, prefix, limit):
    """name_key values starting with `prefix`, as an index range scan (works the same on both
    databases, unlike LIKE, whose index use depends on collation and settings)."""
    rows = queryset.filter(name_key__gte=prefix, name_key__lt=prefix + "\U0010ffff").order_by("name_key")
    return [(pk, value) for pk, value in rows.values_list("pk", "name_key")[:limit] if value.startswith(prefix)]


def find_duplicates(candidate, *, limit=PER_RULE_LIMIT):
    """[Match] of existing customers that look like `candidate`, strongest reasons first."""
    found = {}

    def add(pk, reason):
        if pk is None or pk == candidate.exclude_pk:
            return
        reasons = found.setdefault(pk, [])
        if reason not in reasons:
            reasons.append(reason)

    customers = Customer.objects.all()
    if candidate.exclude_pk:
        customers = customers.exclude(pk=candidate.exclude_pk)

    tax = tax_id_key(candidate.tax_id)
    if tax:
        for pk in customers.filter(tax_id__in={tax, candidate.tax_id.strip()}).values_list("pk", flat=True)[:limit]:
            add(pk, "tax_id")

    phones = {key for key in (phone_key(p) for p in candidate.phones) if len(key) >= MIN_PHONE_DIGITS}
    if phones:
        for pk in customers.filter(phone_key__in=phones).values_list("pk", flat=True)[:limit]:
            add(pk, "phone")
        for pk in Contact.objects.filter(phone_key__in=phones).values_list("customer_id", flat=True)[:limit]:
            add(pk, "phone")

    emails = set()
    for email in candidate.emails:
        text = (email or "").strip()
        if "@" in text:
            local, _at, domain = text.rpartition("@")
            emails |= {text, email_key(text), f"{local}@{domain.lower()}"}
    if emails:
        for pk in customers.filter(email__in=emails).values_list("pk", flat=True)[:limit]:
            add(pk, "email")
        for pk in Contact.objects.filter(email__in=emails).values_list("customer_id", flat=True)[:limit]:
            add(pk, "email")

    key = name_key(candidate.name)
    if len(key) >= 2:
        rules = _name_rules(key)
        for pk, value in customers.filter(name_key__in=list(rules)).order_by().values_list("pk", "name_key")[: limit * 2]:
            add(pk, rules[value])
        if len(key) >= _min_similar_length(key):  # existing names that start with this one
            for pk, _value in _key_range(customers, key, limit):
                add(pk, "similar_name")
        # A near-equal name (a typo, one character more or less) sharing its first characters.
        head = key[:3] if _HAN.search(key[:3]) else key[:5]
        if len(key) >= len(head) + 1 >= 4:
            for pk, value in _key_range(customers, head, limit * 3):
                if abs(len(value) - len(key)) <= 1 and SequenceMatcher(None, key, value).ratio() >= SIMILARITY:
                    add(pk, "similar_name")

    if not found:
        return []
    for reasons in found.values():
        if "name" in reasons and "similar_name" in reasons:
            reasons.remove("similar_name")
    rows = Customer.objects.select_related("owner").in_bulk(list(found))
    matches = [
        Match(customer=rows[pk], reasons=sorted(reasons, key=REASON_ORDER.index)) for pk, reasons in found.items() if pk in rows
    ]
    matches.sort(key=lambda m: (REASON_ORDER.index(m.reasons[0]), -len(m.reasons), m.customer.pk))
    return matches


def for_member(matches, user, imported_rows=None):
    """Mark which matches `user` may view (None: a system action, all) and which were written
    earlier by the same import (`imported_rows`: {pk: row number})."""
    if not matches:
        return matches
    if user is not None:
        ids = [match.customer.pk for match in matches]
        visible = set(Customer.objects.restrict(user, "view").filter(pk__in=ids).values_list("pk", flat=True))
        for match in matches:
            match.visible = match.customer.pk in visible
    for match in matches:
        match.import_row = (imported_rows or {}).get(match.customer.pk)
    matches.sort(key=lambda match: not match.visible)  # stable: named matches first, by strength
    return matches


def check_customer(values, *, user, exclude_pk=None, imported_rows=None):
    """Matches of a customer's values as `user` may learn of them."""
    return for_member(find_duplicates(Candidate.from_values(values, exclude_pk=exclude_pk)), user, imported_rows)


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
