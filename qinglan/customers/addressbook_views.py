"""The personal address book (通訊錄): every contact the member may view, in name order,
grouped under the initial of a Latin name or the surname of a Chinese one, with tel: and
mailto: links and this month's birthdays marked.

The order is the database's order of ``name`` (an indexed column), read a keyset page at a
time, so it stays fast at millions of contacts. In that order Chinese names come after Latin
ones and people with the same surname sit together, which is why Chinese names are grouped
by surname rather than by a pinyin initial: that would need a stored pinyin key to page by."""

import re
import string
import unicodedata
from itertools import groupby

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from qinglan.core.pagination import SortKey, bounded_count, keyset_page
from qinglan.core.permissions import has_permission
from qinglan.core.registry import registry

from .models import Contact
from .vcard import is_cjk, split_name

PAGE_SIZE = 100
KEYS = [SortKey("name"), SortKey("pk")]
CJK_START = "\u2e80"  # the first CJK character: where the jump to Chinese names starts
OTHER = "#"


def group_of(name):
    """The heading a name is listed under: 'A'–'Z', a Chinese surname, or '#'."""
    name = unicodedata.normalize("NFKC", (name or "").strip())
    if not name:
        return OTHER
    if is_cjk(name[0]):
        return split_name(name)[0]
    base = unicodedata.normalize("NFKD", name[0])[0].upper()
    return base if base in string.ascii_uppercase else OTHER


def tel_url(number):
    digits = re.sub(r"[^0-9+#*]", "", number or "")
    return f"tel:{digits}" if digits else ""


class AddressBookView(View):
    template_name = "customers/addressbook.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, Contact, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        resource = registry.get(Contact)
        queryset = resource.get_queryset().restrict(request.user, "view").select_related("customer")
        text = (request.GET.get("q") or "").strip()[:100]
        if text:
            queryset = queryset.filter(resource.quick_search_q(text))
        today = timezone.localdate()
        birthdays = request.GET.get("birthdays") == "1"
        if birthdays:
            queryset = queryset.filter(birthday__month=today.month)
        start = request.GET.get("from", "")
        if start == "cjk":
            queryset = queryset.filter(name__gte=CJK_START)
        elif len(start) == 1 and start in string.ascii_uppercase:
            queryset = queryset.filter(name__gte=start)
        else:
            start = ""
        page = keyset_page(
            queryset, KEYS, size=PAGE_SIZE, after=request.GET.get("after"), before=request.GET.get("before"), last=request.GET.get("last") == "1"
        )
        count, exact = bounded_count(queryset)
        entries = [
            {
                "contact": contact,
                "mobile_url": tel_url(contact.mobile),
                "phone_url": tel_url(contact.phone),
                "birthday_now": bool(contact.birthday and contact.birthday.month == today.month),
            }
            for contact in page.rows
        ]
        groups = [(heading, list(items)) for heading, items in groupby(entries, key=lambda entry: group_of(entry["contact"].name))]
        query = request.GET.copy()
        for name in ("after", "before", "last"):
            query.pop(name, None)
        jump = query.copy()
        jump.pop("from", None)
        context = {
            "resource": resource,
            "groups": groups,
            "page": page,
            "count": count,
            "count_exact": exact,
            "query": query.urlencode(),
            "jump_query": jump.urlencode(),
            "letters": list(string.ascii_uppercase),
            "start": start,
            "search": text,
            "birthdays": birthdays,
            "month": today.month,
            "can_export": has_permission(request.user, Contact, "export"),
            "can_import": has_permission(request.user, Contact, "import") and has_permission(request.user, Contact, "add"),
        }
        if request.htmx and request.htmx.target == "addressbook-results":
            return render(request, f"{self.template_name}#results", context)
        return render(request, self.template_name, context)
