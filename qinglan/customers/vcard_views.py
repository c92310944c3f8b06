"""vCard export (one contact, the selected contacts, the filtered list) and import (upload,
preview with every card's problems, confirm). Export starts from restrict(user, "export"),
import needs "import" and "add" on contacts and writes through the generic create service,
all cards or none."""

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from qinglan.core import services as core_services
from qinglan.core.forms import QueryLike, StyledFormMixin
from qinglan.core.permissions import has_permission
from qinglan.core.registry import registry
from qinglan.core.validators import MaxFileSize
from qinglan.core.views import ResourceView
from qinglan.core.widgets import prepare_reference_fields

from . import vcard
from .models import Contact, Customer
from .normalize import name_key

VERSIONS = ("3.0", "4.0")
MAX_UPLOAD_MB = 10
PAYLOAD_SALT = "qinglan.customers.vcard-import"
PAYLOAD_MAX_AGE = 3600
CHUNK = 500


def _version(request):
    version = request.POST.get("version") or request.GET.get("version") or "3.0"
    return version if version in VERSIONS else "3.0"


def _vcard_stream(queryset, version):
    for contact in queryset.select_related("customer").order_by("pk").iterator(chunk_size=CHUNK):
        yield vcard.write_card(vcard.card_from_contact(contact), version)


def _attachment(filename):
    return content_disposition_header(True, filename)


class ContactResourceView(ResourceView):
    def dispatch(self, request, *args, **kwargs):
        self.resource = registry.get(Contact)
        return super().dispatch(request, *args, **kwargs)


class ContactVCardView(ContactResourceView):
    """GET <pk>: one contact's card."""

    action = "export"

    def get(self, request, pk):
        contact = self.get_object()
        text = vcard.write([contact], _version(request))
        response = HttpResponse(text, content_type="text/vcard; charset=utf-8")
        response["Content-Disposition"] = _attachment(f"{contact.name}.vcf")
        return response


class ContactListVCardView(ContactResourceView):
    """GET: the cards of the filtered contact list (the list's filters and quick search);
    POST: the cards of the ticked rows (a bulk action of the contact list)."""

    action = "export"
    version = None

    def get(self, request):
        resource = self.resource
        filterset = resource.filterset_class(request.GET or None, queryset=self.restricted(), request=request)
        queryset = filterset.qs if not filterset.is_bound or filterset.form.is_valid() else self.restricted()
        return self._download(queryset, _version(request))

    def post(self, request):
        ids = [value for value in request.POST.getlist("pk") if value.isdigit()]
        queryset = self.restricted().filter(pk__in=ids)
        if not ids:
            messages.warning(request, _("No records were selected."))
            return redirect(self.resource.list_url)
        return self._download(queryset, self.version or _version(request))

    def _download(self, queryset, version):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(_vcard_stream(queryset, version), content_type="text/vcard; charset=utf-8")
        response["Content-Disposition"] = _attachment(f"contacts-{stamp}.vcf")
        return response


# ---- import ------------------------------------------------------------------------------


class VCardUploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("file in vCard format (.vcf)"),
        validators=[MaxFileSize(MAX_UPLOAD_MB)],
        widget=forms.ClearableFileInput(attrs={"accept": ".vcf,.vcard,text/vcard,text/x-vcard"}),
    )
    customer = forms.ModelChoiceField(
        Customer.objects.all(),
        required=False,
        label=gettext_lazy("customer"),
        help_text=gettext_lazy("Every card becomes a contact of this customer. Leave empty to find each card's customer by its company name (ORG)."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_reference_fields(self.fields, user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.name.rsplit(".", 1)[-1].lower() not in ("vcf", "vcard", "txt"):
            raise forms.ValidationError(_("Upload a vCard file (.vcf)."))
        data = upload.read(MAX_UPLOAD_MB * 1024 * 1024 + 1)
        try:
            self.cards = vcard.parse(data, strict=False)
        except vcard.VCardError as error:
            raise forms.ValidationError(str(error)) from error
        return upload


def _customer_for(card, chosen, user, cache):
    """(customer, error): the chosen customer, or the one customer the member may view whose
    name matches the card's ORG."""
    if chosen is not None:
        return chosen, None
    if not card.organization:
        return None, _("The card names no company (ORG); choose the customer to import into.")
    key = name_key(card.organization)
    if key not in cache:
        cache[key] = list(Customer.objects.restrict(user, "view").filter(name_key=key)[:2]) if key else []
    matches = cache[key]
    if not matches:
        return None, _("No customer “%(name)s” that you may see; choose the customer or add it first.") % {"name": card.organization}
    if len(matches) > 1:
        return None, _("“%(name)s” matches more than one customer; choose the customer to import into.") % {"name": card.organization}
    return matches[0], None


def _form_data(card, customer):
    data = {key: value for key, value in card.contact_data().items() if key not in ("birthday", "is_primary")}
    data["customer"] = str(customer.pk)
    data["birthday"] = card.birthday.isoformat() if card.birthday else ""
    if card.is_primary:
        data["is_primary"] = "on"
    return QueryLike(data)


def import_cards(*, cards, customer, user, commit):
    """Create a contact from every card through the generic create service (change log,
    events, scope check), in one transaction: rolled back unless `commit` and every card
    went in. Returns [(card, customer, [messages])] in file order."""
    resource = registry.get(Contact)
    if not (has_permission(user, Contact, "import") and has_permission(user, Contact, "add")):
        raise PermissionDenied(_("You have no permission to do this."))
    rows, cache, failed = [], {}, False
    with transaction.atomic():
        for card in cards:
            problems = card.error_messages()
            target, error = _customer_for(card, customer, user, cache)
            if error:
                problems.append(error)
            if not problems:
                form = resource.form_class(data=_form_data(card, target), instance=Contact(), user=user, purpose="import")
                if form.is_valid():
                    try:
                        with transaction.atomic():
                            core_services.create_record(form=form, user=user)
                    except (ValidationError, PermissionDenied) as exc:
                        problems += getattr(exc, "messages", None) or [str(exc) or _("You have no permission to do this.")]
                else:
                    problems += [
                        _("%(label)s: %(text)s") % {"label": capfirst(form.fields[name].label), "text": message} if name in form.fields else message
                        for name, messages_ in form.errors.items()
                        for message in messages_
                    ]
            failed = failed or bool(problems)
            rows.append((card, target, problems))
        if failed or not commit:
            transaction.set_rollback(True)
    return rows


def _dump(cards, customer, user):
    payload = {
        "user": user.pk,
        "customer": customer.pk if customer else None,
        "cards": [
            {**card.contact_data(), "birthday": card.birthday.isoformat() if card.birthday else None,
             "organization": card.organization, "number": card.number, "line": card.line}
            for card in cards
        ],
    }
    return signing.dumps(payload, salt=PAYLOAD_SALT, compress=True)


def _load(token, user):
    import datetime

    payload = signing.loads(token, salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE)
    if payload.get("user") != user.pk:
        raise signing.BadSignature("another member's import")
    cards = []
    for item in payload["cards"]:
        birthday = item.pop("birthday")
        card = vcard.Card(**item)
        card.birthday = datetime.date.fromisoformat(birthday) if birthday else None
        cards.append(card)
    customer = None
    if payload["customer"] is not None:
        customer = get_object_or_404(Customer.objects.restrict(user, "view"), pk=payload["customer"])
    return cards, customer


class ContactVCardImportView(ContactResourceView):
    """Upload → preview (a dry run through the real create path, rolled back) → confirm."""

    action = "import"
    template_name = "customers/vcard_import.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, Contact, "add"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_page(VCardUploadForm(user=request.user))

    def post(self, request):
        if "_confirm" in request.POST:
            return self.confirm(request)
        form = VCardUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self.render_page(form, status=400)
        customer = form.cleaned_data["customer"]
        rows = import_cards(cards=form.cards, customer=customer, user=request.user, commit=False)
        ready = all(not problems for _card, _customer, problems in rows)
        return self.render_page(
            form,
            rows=rows,
            ready=ready,
            payload=_dump(form.cards, customer, request.user) if ready else "",
            error_count=sum(1 for _card, _customer, problems in rows if problems),
            status=200 if ready else 400,
        )

    def confirm(self, request):
        try:
            cards, customer = _load(request.POST.get("payload", ""), request.user)
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            messages.error(request, _("The checked file has expired or was changed; upload it again."))
            return redirect("customers:contact_vcard_import")
        rows = import_cards(cards=cards, customer=customer, user=request.user, commit=True)
        if any(problems for _card, _customer, problems in rows):
            messages.error(request, _("Nothing was imported: some cards are no longer valid."))
            return self.render_page(
                VCardUploadForm(user=request.user), rows=rows, ready=False,
                error_count=sum(1 for _card, _customer, problems in rows if problems), status=400,
            )
        messages.success(request, ngettext("%(count)d contact was imported.", "%(count)d contacts were imported.", len(rows)) % {"count": len(rows)})
        return redirect(self.resource.list_url)

    def render_page(self, form, status=200, **extra):
        context = self.base_context(form=form, max_mb=MAX_UPLOAD_MB, max_cards=vcard.MAX_CARDS, **extra)
        return render(self.request, self.template_name, context, status=status)
