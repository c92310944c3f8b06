"""Quote services (報價單): numbering and pricing on save, submitting (a discount below the
price lists beyond the company's limit goes through the workflow process
`sales_quote_discount`, bound in apps.py), sending, declining, revising into a new version,
converting to a sales order, the printed document (PDF and DOCX) and sending it by e-mail."""

import datetime
from decimal import Decimal
from pathlib import Path

import smtplib

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.detail import decimal_text
from qinglan.core.events import event_name, queue_event
from qinglan.core.models import ObjectChange
from qinglan.core.permissions import has_permission
from qinglan.org.services import base_currency

from . import services
from .choices import QuoteStatus
from .models import Quote, QuoteLine, QuoteVersion, SalesOrder, SalesOrderLine

QUOTE_SEQUENCE = {"code": "quote", "name": "報價單 Quotes", "prefix": "QT-{year}-"}
DISCOUNT_PROCESS = "sales_quote_discount"
PROCESS_FILE = Path(__file__).parent / "processes" / "quote_discount.bpmn"
VALID_DAYS = 30
REVISABLE = {QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.DECLINED}


def quote_lock(quote, action):
    """Resource.edit_lock of a quote: only a draft is changed (a sent one is revised)."""
    if quote.status == QuoteStatus.SUBMITTED:
        return _("The quote is waiting for approval and cannot be changed until it is approved or rejected.")
    if quote.status != QuoteStatus.DRAFT:
        return _("A %(status)s quote cannot be changed; revise it to make a new version.") % {"status": quote.get_status_display()}
    return None


def prepare_quote(*, quote, created):
    if created and not quote.code:
        quote.code = services._number(QUOTE_SEQUENCE)
    quote.department_id = quote.owner.department_id if quote.owner_id else None
    if quote.currency_id is None:
        quote.currency = base_currency()
    if quote.valid_until is None and quote.quote_date:
        quote.valid_until = quote.quote_date + datetime.timedelta(days=VALID_DAYS)


def quote_saved(*, quote, user, reprice=False):
    """Lines without a price priced by the engine, their amounts, the quote's totals and its
    largest discount below the engine's prices."""
    lines = services._priced_lines(quote, QuoteLine, "quote", reprice=reprice)
    QuoteLine.objects.bulk_update(lines, ["tax_rate", "net_amount", "tax_amount", "line_total"])
    fields = services.total_up(quote, lines, on=quote.quote_date)
    quote.max_discount = largest_discount(quote, lines)
    Quote.objects.filter(pk=quote.pk).update(max_discount=quote.max_discount, **{name: getattr(quote, name) for name in fields})


def largest_discount(quote, lines):
    """How far below the engine's price (promotions included) the quote sells any product
    line, in percent of that price: 0 when every line is at or above it."""
    from .pricing import price_lines

    priced = [line for line in lines if line.product_id and line.promotion_id is None]
    if not priced:
        return Decimal(0)
    results = price_lines(
        customer=quote.customer, items=[(line.product, line.quantity) for line in priced], currency=quote.currency,
        day=quote.quote_date, price_list=quote.price_list,
    )
    largest = Decimal(0)
    for line, result in zip(priced, results, strict=True):
        if result.unit_price is None or not result.unit_price:
            continue
        policy = result.unit_price * (1 - result.discount / 100)
        actual = (line.unit_price or Decimal(0)) * (1 - (line.discount or Decimal(0)) / 100)
        if actual < policy:
            largest = max(largest, ((policy - actual) * 100 / policy).quantize(Decimal("0.01")))
    return largest


def _locked(quote, user, action):
    return services.locked(quote, user, action, _("You may not do this with this quote."))


def _step(quote, status, user, verb):
    before = snapshot(quote)
    quote.status = status
    quote.save(update_fields=["status", "approval_reason", "last_updated"])
    log_change(record=quote, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(quote))
    queue_event(event_name(quote, verb), record=quote, user=user)
    return quote


def discount_limit():
    from qinglan.org.models import CompanyProfile

    profile = CompanyProfile.objects.first()
    return profile.quote_discount_limit if profile is not None else Decimal(10)


@transaction.atomic
def submit_quote(*, record, user):
    """Submit a draft: priced within the company's discount limit it is approved at once;
    beyond it, it waits for approval in the quote discount process."""
    from qinglan.workflow import services as workflow

    quote = _locked(record, user, "change")
    if quote.status != QuoteStatus.DRAFT:
        raise ValidationError(_("Only a draft quote is submitted."))
    lines = list(quote.lines.select_related("product__category", "tax_rate"))
    if not lines:
        raise ValidationError(_("Add at least one line before submitting the quote."))
    quote.max_discount = largest_discount(quote, lines)
    Quote.objects.filter(pk=quote.pk).update(max_discount=quote.max_discount)
    limit = discount_limit()
    if quote.max_discount > limit:
        quote.approval_reason = _("A line is priced %(discount)s%% below the price lists and promotions; more than %(limit)s%% needs approval.") % {
            "discount": decimal_text(quote.max_discount, 2), "limit": decimal_text(limit, 2)}
        instance = workflow.submit_for_approval(record=quote, user=user, action="discount")
        if instance is not None:
            return _step(quote, QuoteStatus.SUBMITTED, user, "submitted")
    quote.approval_reason = ""
    return _step(quote, QuoteStatus.APPROVED, user, "approved")


def approved_by_workflow(quote, user):
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status == QuoteStatus.SUBMITTED:
        _step(quote, QuoteStatus.APPROVED, user, "approved")


def back_to_draft(quote, user, reason=""):
    """A rejected or withdrawn discount approval: the quote goes back to its owner as a draft."""
    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.status == QuoteStatus.SUBMITTED:
        if reason:
            quote.approval_reason = _("Rejected: %(reason)s") % {"reason": reason}
        _step(quote, QuoteStatus.DRAFT, user, "rejected")


def check_sendable(quote):
    if quote.status not in {QuoteStatus.APPROVED, QuoteStatus.SENT}:
        raise ValidationError(_("Only an approved quote is sent."))
    if quote.expired:
        raise ValidationError(_("The quote expired on %(day)s; revise it with a new date.") % {"day": quote.valid_until.isoformat()})


@transaction.atomic
def mark_sent(*, record, user):
    quote = _locked(record, user, "change")
    check_sendable(quote)
    return _step(quote, QuoteStatus.SENT, user, "sent")


SEND_FORMATS = ("pdf", "docx")


@transaction.atomic
def send_quote(*, record, user, to, cc=(), subject, message, formats=("pdf",)):
    """Send the printed quote by e-mail (one attachment per format) from the company's address,
    replies going to the member, then mark it sent and record the mail as an e-mail follow-up
    on the customer. The mail server's refusal raises a ValidationError and changes nothing."""
    from qinglan.customers.choices import ActivityKind
    from qinglan.customers.models import Activity
    from qinglan.customers.services import refresh_follow_up

    from .printing import quote_document, to_docx, to_pdf

    quote = _locked(record, user, "change")
    check_sendable(quote)
    if not to:
        raise ValidationError(_("Name at least one recipient."))
    if not formats or set(formats) - set(SEND_FORMATS):
        raise ValidationError(_("Choose the format of the attached quote."))
    document = quote_document(quote)
    mail = EmailMessage(
        subject=subject, body=message, from_email=settings.DEFAULT_FROM_EMAIL, to=list(to), cc=list(cc),
        reply_to=[user.email] if user.email else None,
    )
    writers = {"pdf": (to_pdf, "application/pdf"), "docx": (to_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}
    for fmt in formats:
        write, content_type = writers[fmt]
        mail.attach(f"{quote.code}-v{quote.version}.{fmt}", write(document), content_type)
    if quote.status != QuoteStatus.SENT:
        _step(quote, QuoteStatus.SENT, user, "sent")
    recipients = ", ".join([*to, *cc])
    activity = Activity.objects.create(
        customer_id=quote.customer_id, contact_id=quote.contact_id, kind=ActivityKind.EMAIL, owner=user,
        subject=subject[: Activity._meta.get_field("subject").max_length],
        outcome=_("Quote %(code)s (version %(version)s) sent to %(recipients)s.") % {"code": quote.code, "version": quote.version, "recipients": recipients}
        + ("\n\n" + message if message else ""),
    )
    log_change(record=activity, action=ObjectChange.Action.CREATE, user=user, after=snapshot(activity))
    queue_event(event_name(activity, "created"), record=activity, user=user)
    refresh_follow_up(customer_id=quote.customer_id)
    try:  # last, so that a refusal rolls back the status and the follow-up
        mail.send()
    except (smtplib.SMTPException, OSError) as error:
        raise ValidationError(_("The mail server did not accept the message (%(reason)s); nothing was sent.") % {"reason": error}) from error
    return quote


@transaction.atomic
def decline_quote(*, record, user):
    quote = _locked(record, user, "change")
    if quote.status not in {QuoteStatus.APPROVED, QuoteStatus.SENT}:
        raise ValidationError(_("Only an approved or sent quote is declined."))
    return _step(quote, QuoteStatus.DECLINED, user, "declined")


def quote_snapshot(quote):
    """The quote as it is (header and lines), as a version keeps it and the diff reads it."""
    return {
        "version": quote.version,
        "status": quote.status,
        "header": {
            "quote_date": str(quote.quote_date), "valid_until": str(quote.valid_until or ""),
            "currency": quote.currency.code if quote.currency_id else "", "terms": quote.terms,
            "subtotal": str(quote.subtotal), "tax_total": str(quote.tax_total), "total": str(quote.total),
        },
        "lines": [
            {
                "id": line.pk, "item": line.description or str(line.product or ""), "quantity": decimal_text(line.quantity, 4),
                "unit_price": str(line.unit_price), "discount": decimal_text(line.discount, 4), "total": str(line.line_total),
            }
            for line in quote.lines.select_related("product")
        ],
    }


@transaction.atomic
def revise_quote(*, record, user):
    """Keep the approved, sent or declined quote as a version and make it a draft again (版本)."""
    quote = _locked(record, user, "change")
    if quote.status not in REVISABLE:
        raise ValidationError(_("Only an approved, sent or declined quote is revised."))
    QuoteVersion.objects.create(quote=quote, version=quote.version, data=quote_snapshot(quote), changed_by=services._member(user))
    quote.version += 1
    quote.approval_reason = ""
    quote.save(update_fields=["version"])
    return _step(quote, QuoteStatus.DRAFT, user, "revised")


@transaction.atomic
def quote_from_opportunity(*, record, user):
    """A draft quote for an opportunity's customer with its product lines (prices and
    discounts as agreed there; lines without a price are priced by the engine), linked to it;
    the quote's page opens next."""
    from .choices import StageKind
    from .models import Opportunity

    opportunity = Opportunity.objects.restrict(user, "view").select_for_update().filter(pk=record.pk).first()
    if opportunity is None:
        raise PermissionDenied(_("You may not do this with this opportunity."))
    if opportunity.status == StageKind.LOST:
        raise ValidationError(_("A lost opportunity gets no quote."))
    if not has_permission(user, Quote, "add"):
        raise PermissionDenied(_("You may not add quotes."))
    quote = Quote(
        customer=opportunity.customer, contact=opportunity.contact, opportunity=opportunity, currency=opportunity.currency,
        owner=user if getattr(user, "is_authenticated", False) else opportunity.owner,
    )
    prepare_quote(quote=quote, created=True)
    quote.save()
    for line in opportunity.lines.select_related("product"):
        QuoteLine.objects.create(
            quote=quote, product=line.product, description=line.description, quantity=line.quantity,
            unit=line.product.base_unit if line.product_id else None, unit_price=line.unit_price, discount=line.discount,
        )
    quote_saved(quote=quote, user=user)
    log_change(record=quote, action=ObjectChange.Action.CREATE, user=user, after=snapshot(quote, ["lines"]))
    queue_event(event_name(quote, "created"), record=quote, user=user)
    return quote


@transaction.atomic
def quote_to_order(*, record, user):
    """The accepted quote becomes a draft sales order with its lines at the quoted prices."""
    quote = _locked(record, user, "change")
    if quote.status not in {QuoteStatus.APPROVED, QuoteStatus.SENT}:
        raise ValidationError(_("Only an approved or sent quote becomes an order."))
    if quote.expired:
        raise ValidationError(_("The quote expired on %(day)s; revise it with a new date.") % {"day": quote.valid_until.isoformat()})
    if not has_permission(user, SalesOrder, "add"):
        raise PermissionDenied(_("You may not add sales orders."))
    order = SalesOrder(
        customer=quote.customer, contact=quote.contact, opportunity=quote.opportunity, currency=quote.currency,
        payment_term=quote.payment_term, price_list=quote.price_list, owner=quote.owner,
        notes=_("From quote %(code)s (version %(version)s).") % {"code": quote.code, "version": quote.version},
    )
    services.prepare_order(order=order, created=True)
    order.save()
    SalesOrderLine.objects.bulk_create([
        SalesOrderLine(
            order=order, product_id=line.product_id, description=line.description, quantity=line.quantity, unit_id=line.unit_id,
            unit_price=line.unit_price, discount=line.discount, tax_rate_id=line.tax_rate_id, price_basis=line.price_basis,
            promotion_id=line.promotion_id,
        )
        for line in quote.lines.order_by("id")
    ])
    services.order_saved(order=order, user=user)
    log_change(record=order, action=ObjectChange.Action.CREATE, user=user, after=snapshot(order, ["lines"]))
    queue_event(event_name(order, "created"), record=order, user=user)
    quote.order = order
    quote.save(update_fields=["order"])
    _step(quote, QuoteStatus.ACCEPTED, user, "accepted")
    return order


@transaction.atomic
def reprice_quote(*, record, user):
    quote = _locked(record, user, "change")
    reason = quote_lock(quote, "change")
    if reason:
        raise ValidationError(reason)
    before = snapshot(quote)
    quote_saved(quote=quote, user=user, reprice=True)
    log_change(record=quote, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(quote))
    return quote


def discount_variables(quote):
    """The process data of a discount approval."""
    return {
        "amount": quote.total_base if quote.total_base is not None else quote.total, "discount": quote.max_discount,
        "customer": str(quote.customer), "quote": quote.code, "reason": quote.approval_reason,
    }


def bind_discount_approval():
    """Called from SalesConfig.ready(): a quote beyond the discount limit goes to the quote
    discount process (shipped here, named in the member's language); its outcome moves the quote."""
    from django.utils.translation import gettext_lazy

    from qinglan.workflow import binding
    from qinglan.workflow.services import register_fixed_process

    register_fixed_process(DISCOUNT_PROCESS, PROCESS_FILE, names={"Quote discount approval": gettext_lazy("Quote discount approval")})

    binding.bind(
        "sales.Quote", action="discount", process_key=DISCOUNT_PROCESS, data=discount_variables,
        on_approved=lambda quote, user: approved_by_workflow(quote, user),
        on_rejected=lambda quote, user, reason: back_to_draft(quote, user, reason),
        on_withdrawn=lambda quote, user, reason: back_to_draft(quote, user),
    )
