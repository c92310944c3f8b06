"""The sales pipeline (a kanban board of open opportunities by stage, moved by drag and drop
or the card's menu) and the forecast (expected and weighted amounts by month and owner or
stage). Both show only the opportunities the member may view."""

import datetime
import re
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views import View

from qinglan.core.forms import StyledFormMixin
from qinglan.core.permissions import has_permission
from qinglan.core.widgets import prepare_reference_fields
from qinglan.customers.models import Customer
from qinglan.org.models import Currency, Department, User
from qinglan.products.models import Product
from qinglan.org.services import base_currency

from . import catalogue, commissions, pricing, printing, quotes, reconciliation, reports, services, targets
from .reports import add_months, month_start
from .choices import PERIOD_NUMBERS, InvoiceStatus, OrderStatus, StageKind, TargetPeriod
from .models import AccountStatement, CommissionPlan, CommissionStatement, Invoice, LossReason, Opportunity, OpportunityStage, PriceList, Quote, SalesOrder, SalesOrderLine, SalesTarget

CARDS_PER_STAGE = 30
RECENTLY_CLOSED_DAYS = 30
FORECAST_MONTHS = (3, 6, 12)


def _error_text(error):
    return " ".join(getattr(error, "messages", None) or [str(error)])


class OpportunityPageMixin:
    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, Opportunity, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def visible(self, request):
        """The opportunities the member may view, narrowed by the page's owner choice."""
        queryset = Opportunity.objects.restrict(request.user, "view")
        mine = request.GET.get("owner") == "me"
        return (queryset.filter(owner=request.user) if mine else queryset), mine


class PipelineView(OpportunityPageMixin, View):
    template_name = "sales/pipeline.html"

    def get(self, request, error=None):
        return render(request, self.template_name, self.context(request, error))

    def context(self, request, error=None):
        queryset, mine = self.visible(request)
        today = timezone.localdate()
        shown = queryset.filter(Q(status=StageKind.OPEN) | Q(closed_on__gte=today - datetime.timedelta(days=RECENTLY_CLOSED_DAYS)))
        stages = list(OpportunityStage.objects.filter(active=True))
        totals = {
            row["stage_id"]: row
            for row in shown.values("stage_id").annotate(count=Count("id"), amount=Sum("amount_base"), weighted=Sum("weighted_base"))
        }
        # The first cards of every stage in one query: soonest expected close first.
        ranked = shown.annotate(
            place=Window(RowNumber(), partition_by=F("stage_id"), order_by=[F("expected_close_date").asc(nulls_last=True), F("id").desc()])
        ).filter(place__lte=CARDS_PER_STAGE).select_related("customer", "owner", "currency")
        cards = {}
        for opportunity in ranked.order_by("place"):
            cards.setdefault(opportunity.stage_id, []).append(opportunity)
        movable = set(
            Opportunity.objects.restrict(request.user, "change").filter(pk__in=[o.pk for group in cards.values() for o in group]).values_list("pk", flat=True)
        )
        columns = []
        for stage in stages:
            total = totals.get(stage.pk, {})
            columns.append({
                "stage": stage,
                "cards": [{"opportunity": o, "movable": o.pk in movable, "overdue": o.status == StageKind.OPEN and o.expected_close_date and o.expected_close_date < today}
                          for o in cards.get(stage.pk, [])],
                "count": total.get("count", 0),
                "amount": total.get("amount") or Decimal(0),
                "weighted": total.get("weighted") or Decimal(0),
            })
        base = base_currency()
        return {
            "columns": columns,
            "mine": mine,
            "base": base,
            "places": base.decimal_places if base else 2,
            "loss_reasons": LossReason.objects.all(),
            "cards_per_stage": CARDS_PER_STAGE,
            "recently_closed_days": RECENTLY_CLOSED_DAYS,
            "can_add": has_permission(request.user, Opportunity, "add"),
            "error": error,
            "owner_query": "owner=me" if mine else "",
        }


class PipelineMoveView(PipelineView):
    """POST opportunity, stage (and loss_reason, note for a lost stage): move_stage. htmx gets
    the board again; a plain form post goes back to the board."""

    def get(self, request):
        return redirect("sales:pipeline")

    def post(self, request):
        opportunity = get_object_or_404(Opportunity.objects.restrict(request.user, "view"), pk=_int(request.POST.get("opportunity")))
        stage = get_object_or_404(OpportunityStage, pk=_int(request.POST.get("stage")))
        reason_pk = _int(request.POST.get("loss_reason"))
        reason = LossReason.objects.filter(pk=reason_pk).first() if reason_pk else None
        error = None
        try:
            services.move_stage(opportunity=opportunity, stage=stage, user=request.user, loss_reason=reason, note=(request.POST.get("note") or "")[:1000])
        except (ValidationError, PermissionDenied) as failure:
            error = _("“%(name)s” was not moved: %(reason)s") % {"name": opportunity.name, "reason": _error_text(failure)}
        if request.headers.get("HX-Request"):
            return render(request, self.template_name + "#board", self.context(request, error))
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("“%(name)s” moved to “%(stage)s”.") % {"name": opportunity.name, "stage": stage.name})
        return redirect(reverse("sales:pipeline") + ("?owner=me" if request.GET.get("owner") == "me" else ""))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ForecastView(OpportunityPageMixin, View):
    template_name = "sales/forecast.html"

    def get(self, request):
        queryset, mine = self.visible(request)
        today = timezone.localdate()
        months = _int(request.GET.get("months"))
        months = months if months in FORECAST_MONTHS else 6
        by = request.GET.get("by") if request.GET.get("by") in ("owner", "stage") else "owner"
        first = today.replace(day=1)
        starts = [add_months(first, n) for n in range(months)]
        end = add_months(first, months)
        open_ = queryset.filter(status=StageKind.OPEN)
        key = "owner_id" if by == "owner" else "stage_id"
        cells = {}
        for row in (
            open_.filter(expected_close_date__gte=first, expected_close_date__lt=end)
            .annotate(month=TruncMonth("expected_close_date"))
            .values(key, "month").annotate(count=Count("id"), amount=Sum("amount_base"), weighted=Sum("weighted_base"))
        ):
            cells[(row[key], month_start(row["month"]))] = row
        earlier = {
            row[key]: row
            for row in open_.filter(expected_close_date__lt=first).values(key).annotate(count=Count("id"), amount=Sum("amount_base"), weighted=Sum("weighted_base"))
        }
        undated = {
            row[key]: row
            for row in open_.filter(expected_close_date__isnull=True).values(key).annotate(count=Count("id"), amount=Sum("amount_base"), weighted=Sum("weighted_base"))
        }
        won = {
            month_start(row["month"]): row["amount"] or Decimal(0)
            for row in queryset.filter(status=StageKind.WON, closed_on__gte=first, closed_on__lt=end)
            .annotate(month=TruncMonth("closed_on")).values("month").annotate(amount=Sum("amount_base"))
        }
        keys = {k for k, _month in cells} | set(earlier) | set(undated)
        if by == "owner":
            names = {member.pk: member for member in User.objects.filter(pk__in=[k for k in keys if k])}
            label = lambda k: str(names[k]) if k in names else _("(no owner)")  # noqa: E731
            order = sorted(keys, key=lambda k: (k is None, label(k)))
        else:
            stages = {stage.pk: stage for stage in OpportunityStage.objects.filter(pk__in=keys)}
            label = lambda k: stages[k].name  # noqa: E731
            order = sorted(keys, key=lambda k: (stages[k].order, k))
        rows = []
        column_totals = [{"amount": Decimal(0), "weighted": Decimal(0), "count": 0} for _start in starts]
        for k in order:
            row_cells = []
            for index, start in enumerate(starts):
                cell = cells.get((k, start), {})
                values = {"count": cell.get("count", 0), "amount": cell.get("amount") or Decimal(0), "weighted": cell.get("weighted") or Decimal(0)}
                for name in values:
                    column_totals[index][name] += values[name]
                row_cells.append(values)
            rows.append({
                "label": label(k),
                "earlier": _figures(earlier.get(k)),
                "cells": row_cells,
                "undated": _figures(undated.get(k)),
                "weighted": sum((c["weighted"] for c in row_cells), Decimal(0)),
                "amount": sum((c["amount"] for c in row_cells), Decimal(0)),
            })
        peak = max([c["weighted"] for c in column_totals] + [Decimal(1)])
        base = base_currency()
        context = {
            "by": by, "months": months, "month_choices": FORECAST_MONTHS, "mine": mine, "base": base,
            "places": base.decimal_places if base else 2,
            "starts": starts, "rows": rows,
            "totals": [{**total, "bar": int(total["weighted"] * 100 / peak)} for total in column_totals],
            "won": [won.get(start, Decimal(0)) for start in starts],
            "total_weighted": sum((t["weighted"] for t in column_totals), Decimal(0)),
            "total_amount": sum((t["amount"] for t in column_totals), Decimal(0)),
            "unconverted": open_.filter(amount_base__isnull=True).count(),
        }
        return render(request, self.template_name, context)


def _figures(row):
    row = row or {}
    return {"count": row.get("count", 0), "amount": row.get("amount") or Decimal(0), "weighted": row.get("weighted") or Decimal(0)}


AGING_ROWS = 200


class ReceivablesView(View):
    """Open invoice balances by customer (or owner), in days past due: not due, 1–30, 31–60,
    61–90, more than 90; the biggest first, at most 200 rows."""

    template_name = "sales/receivables.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, Invoice, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        today = timezone.localdate()
        by = "owner" if request.GET.get("by") == "owner" else "customer"
        key = "owner_id" if by == "owner" else "customer_id"
        open_invoices = Invoice.objects.restrict(request.user, "view").filter(status=InvoiceStatus.ISSUED)
        sums = reports.aging_sums(today)
        rows = list(
            open_invoices.values(key).annotate(total=Sum("balance_base"), count=Count("id"), **sums).order_by("-total")[:AGING_ROWS]
        )
        if by == "owner":
            names = {member.pk: str(member) for member in User.objects.filter(pk__in=[row[key] for row in rows if row[key]])}
        else:

            ids = [row[key] for row in rows]
            names = {customer.pk: customer for customer in Customer.objects.filter(pk__in=ids)}
            # A link only to customers the member may open (a visible invoice may be another's customer's).
            linked = set(Customer.objects.restrict(request.user, "view").filter(pk__in=ids).values_list("pk", flat=True))
        table = [
            {"name": names.get(row[key]) or _("(no owner)"), "pk": row[key], "count": row["count"], "total": row["total"] or Decimal(0),
             "url": names[row[key]].get_absolute_url() if by == "customer" and row[key] in linked else None,
             "buckets": [row[f"bucket{index}"] or Decimal(0) for index in range(len(reports.AGING_BUCKETS))]}
            for row in rows
        ]
        everything = open_invoices.aggregate(**sums)  # all of them, also beyond the rows shown
        totals = [everything[f"bucket{index}"] or Decimal(0) for index in range(len(reports.AGING_BUCKETS))]
        base = base_currency()
        return render(request, self.template_name, {
            "by": by, "rows": table, "totals": totals, "total": sum(totals, Decimal(0)), "limit": AGING_ROWS,
            "places": base.decimal_places if base else 2, "base": base, "today": today,
        })


FULFILMENT_ORDERS = 50
FULFILMENT_STATUSES = (OrderStatus.APPROVED, OrderStatus.FULFILLING, OrderStatus.COMPLETED, OrderStatus.CLOSED)


class FulfilmentView(View):
    """Variance report (執行差異): per order line, ordered vs delivered (less returns) vs
    invoiced (less credit notes) vs paid; by default only orders where they differ, 50 orders
    a page, newest first."""

    template_name = "sales/fulfilment.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, SalesOrder, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        status = request.GET.get("status", "")
        everything = request.GET.get("all") == "1"
        orders = SalesOrder.objects.restrict(request.user, "view").filter(status__in=FULFILMENT_STATUSES)
        if status in FULFILMENT_STATUSES:
            orders = orders.filter(status=status)
        if not everything:
            orders = orders.filter(Exists(services.lines_with_variance().filter(order=OuterRef("pk"))))
        try:
            page = max(int(request.GET.get("page", 1)), 1)
        except ValueError:
            page = 1
        chosen = list(orders.select_related("customer", "currency").order_by("-id")[(page - 1) * FULFILMENT_ORDERS : page * FULFILMENT_ORDERS + 1])
        more = len(chosen) > FULFILMENT_ORDERS
        chosen = chosen[:FULFILMENT_ORDERS]
        rows = services.fulfilment_rows([order.pk for order in chosen])
        by_order = {}
        for row in rows:
            by_order.setdefault(row["line"].order_id, []).append(row)
        return render(request, self.template_name, {
            "orders": [{"order": order, "rows": by_order.get(order.pk, [])} for order in chosen],
            "status": status, "everything": everything, "statuses": [(s.value, s.label) for s in FULFILMENT_STATUSES],
            "page": page, "more": more,
        })


class PriceCheckForm(StyledFormMixin, forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.all(), label=_l("customer"), required=False)
    product = forms.ModelChoiceField(queryset=Product.objects.all(), label=_l("product"))
    quantity = forms.DecimalField(label=_l("quantity"), min_value=Decimal("0.0001"), max_digits=18, decimal_places=4, initial=1)
    currency = forms.ModelChoiceField(queryset=Currency.objects.all(), label=_l("currency"), required=False)
    day = forms.DateField(label=_l("date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_reference_fields(self.fields, user)


class PriceCheckView(View):
    """What a product costs a customer — and why (價格查詢): the engine's answer step by step."""

    template_name = "sales/price_check.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, PriceList, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        form = PriceCheckForm(request.GET or None, user=request.user)
        result = error = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                (result,) = pricing.price_lines(
                    customer=data["customer"], items=[(data["product"], data["quantity"])], currency=data["currency"], day=data["day"],
                )
            except ValidationError as problem:
                error = " ".join(problem.messages)
        currency = (form.cleaned_data.get("currency") if form.is_bound and form.is_valid() else None) or base_currency()
        return render(request, self.template_name, {
            "form": form, "result": result, "error": error, "currency": currency, "places": currency.decimal_places if currency else 2,
            "discount_label": SalesOrderLine._meta.get_field("discount").verbose_name,
        }, status=400 if form.is_bound and not form.is_valid() else 200)


PRINT_FORMATS = {
    "pdf": ("application/pdf", printing.to_pdf),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", printing.to_docx),
}


class PrintView(View):
    """A printed document (PDF or DOCX) of a record the member may view: `document(record)`
    gives the structure the writers in printing.py read."""

    model = None
    document = None

    def filename(self, record):
        return record.code

    def get(self, request, pk, fmt):
        if fmt not in PRINT_FORMATS:
            raise Http404
        record = get_object_or_404(self.model.objects.restrict(request.user, "view"), pk=pk)
        content_type, write = PRINT_FORMATS[fmt]
        response = HttpResponse(write(self.document(record)), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.filename(record)}.{fmt}"'
        return response


class QuotePrintView(PrintView):
    model = Quote
    document = staticmethod(printing.quote_document)

    def filename(self, record):
        return f"{record.code}-v{record.version}"


class RecipientsField(forms.CharField):
    """E-mail addresses separated by commas, semicolons or spaces; each one checked."""

    widget = forms.TextInput(attrs={"autocomplete": "email"})
    LIMIT = 20

    def to_python(self, value):
        text = super().to_python(value)
        return [part for part in re.split(r"[\s,;，；]+", text) if part]

    def run_validators(self, value):
        if len(value) > self.LIMIT:
            raise ValidationError(_("At most %(limit)s addresses.") % {"limit": self.LIMIT}, code="too_many")
        wrong = []
        for address in value:
            try:
                validate_email(address)
            except ValidationError:
                wrong.append(address)
        if wrong:
            raise ValidationError(_("Not an e-mail address: %(addresses)s") % {"addresses": ", ".join(wrong)}, code="invalid")


class QuoteMailForm(StyledFormMixin, forms.Form):
    to = RecipientsField(label=_l("send to"), help_text=_l("Several addresses separated by commas."))
    cc = RecipientsField(label=_l("copy to"), required=False)
    subject = forms.CharField(label=_l("subject"), max_length=200)
    message = forms.CharField(label=_l("message"), widget=forms.Textarea(attrs={"rows": 8}), required=False, max_length=10000)
    formats = forms.MultipleChoiceField(
        label=_l("attach the quote as"), choices=(("pdf", "PDF"), ("docx", "Word (DOCX)")), initial=["pdf"], widget=forms.CheckboxSelectMultiple,
    )


class QuoteMailView(View):
    """Send an approved quote by e-mail: the addresses of its contact or customer, a subject and
    message in the member's language, filled in and editable; the printed quote attached."""

    template_name = "sales/quote_mail.html"

    def quote(self, request, pk):
        return get_object_or_404(Quote.objects.restrict(request.user, "change").select_related("customer", "contact"), pk=pk)

    def initial(self, request, quote):
        from qinglan.org.models import CompanyProfile

        company = CompanyProfile.objects.first()
        company_name = company.name if company else ""
        to = (quote.contact.email if quote.contact_id and quote.contact.email else "") or quote.customer.email or ""
        greeting = str(quote.contact or quote.customer)
        sender = str(request.user)
        return {
            "to": to,
            "subject": _("Quote %(code)s from %(company)s") % {"code": quote.code, "company": company_name} if company_name else _("Quote %(code)s") % {"code": quote.code},
            "message": _("Dear %(name)s,\n\nplease find attached our quote %(code)s, valid until %(day)s.\n\nBest regards,\n%(sender)s") % {
                "name": greeting, "code": quote.code, "day": quote.valid_until.isoformat() if quote.valid_until else "", "sender": sender,
            },
            "formats": ["pdf"],
        }

    def render(self, request, quote, form, status=200, refusal=None):
        return render(request, self.template_name, {"quote": quote, "form": form, "refusal": refusal}, status=status)

    def get(self, request, pk):
        quote = self.quote(request, pk)
        form = QuoteMailForm(initial=self.initial(request, quote))
        try:
            quotes.check_sendable(quote)
        except ValidationError as error:
            return self.render(request, quote, form, status=400, refusal=_error_text(error))
        return self.render(request, quote, form)

    def post(self, request, pk):
        quote = self.quote(request, pk)
        form = QuoteMailForm(request.POST)
        if not form.is_valid():
            return self.render(request, quote, form, status=400)
        data = form.cleaned_data
        try:
            quotes.send_quote(
                record=quote, user=request.user, to=data["to"], cc=data["cc"], subject=data["subject"], message=data["message"], formats=data["formats"],
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, _error_text(error))
            return self.render(request, quote, form, status=400)
        messages.success(request, _("The quote was sent to %(recipients)s.") % {"recipients": ", ".join(data["to"] + data["cc"])})
        return redirect(quote.get_absolute_url())


class AccountStatementPrintView(PrintView):
    model = AccountStatement
    document = staticmethod(reconciliation.statement_document)


class CatalogueForm(StyledFormMixin, forms.Form):
    price_list = forms.ModelChoiceField(
        queryset=PriceList.objects.filter(active=True), label=_l("price list"), required=False,
        help_text=_l("Left empty: the products' list prices."),
    )
    currency = forms.ModelChoiceField(queryset=Currency.objects.all(), label=_l("currency"), required=False)
    day = forms.DateField(label=_l("prices valid on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_reference_fields(self.fields, user)


class CatalogueView(View):
    """Make the static HTML catalogue (a zip of an offline site) of the products the member may
    view, priced by a chosen price list."""

    template_name = "sales/catalogue_form.html"

    def dispatch(self, request, *args, **kwargs):
        from qinglan.products.models import Product

        if not (has_permission(request.user, Product, "view") and has_permission(request.user, PriceList, "view")):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return render(request, self.template_name, {"form": CatalogueForm(user=request.user)})

    def post(self, request):
        form = CatalogueForm(request.POST, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        data = form.cleaned_data
        try:
            files = catalogue.build(user=request.user, price_list=data["price_list"], currency=data["currency"], day=data["day"])
        except ValidationError as error:
            form.add_error(None, error)
            return render(request, self.template_name, {"form": form}, status=400)
        response = HttpResponse(catalogue.as_zip(files), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="catalogue-{timezone.localdate().isoformat()}.zip"'
        return response


TARGET_ROWS = 200


class TargetsView(View):
    """Targets of a year with what achieved them so far (目標達成), the members may view."""

    template_name = "sales/targets.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, SalesTarget, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        today = timezone.localdate()
        try:
            year = int(request.GET.get("year", today.year))
        except ValueError:
            year = today.year
        period = request.GET.get("period", "")
        chosen = SalesTarget.objects.restrict(request.user, "view").filter(year=year).select_related("member", "department", "region")
        if period in TargetPeriod.values:
            chosen = chosen.filter(period=period)
        rows = targets.achievement_rows(list(chosen.order_by("period", "number", "id")[:TARGET_ROWS]))
        base = base_currency()
        return render(request, self.template_name, {
            "rows": rows, "year": year, "years": range(today.year - 3, today.year + 2), "period": period, "periods": TargetPeriod.choices,
            "base": base, "places": base.decimal_places if base else 2, "limit": TARGET_ROWS, "today": today,
        })


class CommissionRunForm(StyledFormMixin, forms.Form):
    plan = forms.ModelChoiceField(queryset=CommissionPlan.objects.filter(active=True), label=_l("commission plan"))
    period = forms.ChoiceField(choices=TargetPeriod.choices, label=_l("period"), initial=TargetPeriod.MONTH)
    year = forms.IntegerField(label=_l("year"), min_value=2000, max_value=2100)
    number = forms.IntegerField(label=_l("month or quarter"), min_value=1, max_value=12, initial=1, help_text=_l("1–12 for a month, 1–4 for a quarter; 1 for a year."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        prepare_reference_fields(self.fields, user)

    def clean(self):
        data = super().clean()
        limit = PERIOD_NUMBERS.get(data.get("period"), 12)
        if data.get("number") and data["number"] > limit:
            self.add_error("number", _("A %(period)s statement is numbered 1 to %(limit)s.") % {"period": TargetPeriod(data["period"]).label, "limit": limit})
        return data


class CommissionRunView(View):
    """Calculate the statements of every member of a plan for a period: missing ones are made,
    drafts recalculated, confirmed ones left as they are."""

    template_name = "sales/commission_run.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, CommissionStatement, "add"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        today = timezone.localdate()
        last_month = add_months(today, -1)
        form = CommissionRunForm(user=request.user, initial={"year": last_month.year, "number": last_month.month})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = CommissionRunForm(request.POST, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        try:
            made, recalculated, kept = commissions.run_plan(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
            return render(request, self.template_name, {"form": form}, status=400)
        return render(request, self.template_name, {"form": form, "done": True, "made": made, "recalculated": recalculated, "kept": kept})


DASHBOARD_MONTHS = 12


class SalesDashboardView(View):
    """The sales dashboard (銷售儀表板): this month's figures, invoiced and received by month,
    the open pipeline by stage, target achievement, receivables by days past due and the year's
    biggest owners, products and customers — each part over what the member may view, shown
    only when the member may view that kind of record."""

    template_name = "sales/dashboard.html"

    def dispatch(self, request, *args, **kwargs):
        self.may = {
            "invoices": has_permission(request.user, Invoice, "view"),
            "opportunities": has_permission(request.user, Opportunity, "view"),
            "orders": has_permission(request.user, SalesOrder, "view"),
            "targets": has_permission(request.user, SalesTarget, "view"),
        }
        if not any(self.may.values()):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        from qinglan.core import charts

        user, today = request.user, timezone.localdate()
        base = base_currency()
        places = base.decimal_places if base else 2
        this_month = today.replace(day=1)
        first = add_months(this_month, 1 - DASHBOARD_MONTHS)
        year_start, next_month = today.replace(month=1, day=1), add_months(this_month, 1)
        context = {"may": self.may, "base": base, "places": places, "today": today}
        if self.may["invoices"]:
            months, rows, _matrix = reports.by_month(user, first, next_month)
            labels = [month.strftime("%m") if month.month != 1 else month.strftime("%Y-%m") for month in months]
            context["monthly"] = charts.column_chart(
                _("Invoiced and received by month"), labels,
                [(_("invoiced (net)"), [row["invoiced"] for row in rows]), (_("money received"), [row["received"] for row in rows])], places=places,
            )
            current = rows[-1]
            aging = reports.aging_totals(user, today)
            context["kpis"] = {"invoiced": current["invoiced"], "received": current["received"], "open": sum(aging, Decimal(0)), "overdue": sum(aging[1:], Decimal(0))}
            context["aging"] = charts.column_chart(
                _("Receivables by days past due"), [_("not due"), "1–30", "31–60", "61–90", "> 90"], [(_("open balance"), aging)], height=180, places=places,
            )
            owners = reports.top_invoiced(user, year_start, next_month, "owner_id")
            names = {member.pk: str(member) for member in User.objects.filter(pk__in=[key for key, _amount in owners if key])}
            context["owners"] = charts.bar_chart(_("Invoiced by owner this year"), [(names.get(key) or _("(no owner)"), amount, None) for key, amount in owners], places=places)
            customers = reports.top_invoiced(user, year_start, next_month, "customer_id")
            found = Customer.objects.in_bulk([key for key, _amount in customers])
            linked = set(Customer.objects.restrict(user, "view").filter(pk__in=list(found)).values_list("pk", flat=True))
            context["customers"] = charts.bar_chart(
                _("Top customers this year"),
                [(str(found[key]), amount, found[key].get_absolute_url() if key in linked else None) for key, amount in customers if key in found], places=places,
            )
            products = reports.top_products(user, year_start, next_month)
            found = Product.objects.in_bulk([key for key, _amount in products])
            context["products"] = charts.bar_chart(_("Top products this year"), [(str(found[key]), amount, None) for key, amount in products if key in found], places=places)
        if self.may["opportunities"]:
            stages = reports.pipeline_by_stage(user)
            context["pipeline"] = charts.bar_chart(
                _("Open pipeline by stage (weighted)"), [(f"{row['stage__name']} ({row['count']})", row["weighted"] or 0, None) for row in stages], places=places,
            )
            context["pipeline_weighted"] = sum((row["weighted"] or Decimal(0) for row in stages), Decimal(0))
        if self.may["targets"]:
            current = SalesTarget.objects.restrict(user, "view").filter(year=today.year).filter(
                Q(period=TargetPeriod.MONTH, number=today.month) | Q(period=TargetPeriod.QUARTER, number=(today.month - 1) // 3 + 1) | Q(period=TargetPeriod.YEAR)
            ).select_related("member", "department", "region").order_by("period", "id")
            context["targets"] = targets.achievement_rows(list(current[:8]))
        return render(request, self.template_name, context)


class MonthInput(forms.TextInput):
    """A browser's month picker (value "2026-03")."""

    input_type = "month"

    def format_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, datetime.date) else super().format_value(value)


class SalesByMonthForm(StyledFormMixin, forms.Form):
    start = forms.DateField(label=_l("from month"), required=False, widget=MonthInput, input_formats=["%Y-%m", "%Y-%m-%d"])
    end = forms.DateField(label=_l("to month"), required=False, widget=MonthInput, input_formats=["%Y-%m", "%Y-%m-%d"])
    by = forms.ChoiceField(label=_l("orders by"), required=False, choices=(("", _l("month only")), ("owner", _l("owner")), ("department", _l("department"))))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The last month comes before the first."))
            elif (end.year - start.year) * 12 + end.month - start.month >= 36:
                self.add_error("end", _("Choose at most 36 months."))
        return data


class SalesByMonthView(View):
    """Sales by month (銷售月報): booked orders (count and net), invoiced net less credit notes
    and money received per month, with a chart, optionally the orders by owner or department;
    as a page or CSV."""

    template_name = "sales/sales_by_month.html"

    def dispatch(self, request, *args, **kwargs):
        if not has_permission(request.user, SalesOrder, "view"):
            raise PermissionDenied(_("You have no permission to do this."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        from qinglan.core import charts

        today = timezone.localdate()
        form = SalesByMonthForm(request.GET or None)
        if request.GET and not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        data = form.cleaned_data if request.GET else {}
        first = (data.get("start") or today.replace(month=1)).replace(day=1)
        last = (data.get("end") or min(max(today, first), add_months(first, 35))).replace(day=1)
        if last < first:  # only the last month chosen, before this year: its year
            first = last.replace(month=1)
        by = data.get("by") or ""
        months, rows, matrix = reports.by_month(request.user, first, add_months(last, 1), by=by or None)
        base = base_currency()
        places = base.decimal_places if base else 2
        totals = {name: sum((row[name] for row in rows), Decimal(0)) for name in ("orders", "ordered", "invoiced", "received")}
        groups = []
        if matrix:
            model = User if by == "owner" else Department
            names = {record.pk: str(record) for record in model.objects.filter(pk__in=[key for key, _cells in matrix if key])}
            groups = [
                {"name": names.get(key) or (_("(no owner)") if by == "owner" else _("(no department)")), "cells": [cells.get(month, Decimal("0.00")) for month in months], "total": sum(cells.values(), Decimal(0))}
                for key, cells in matrix
            ]
        if request.GET.get("format") == "csv":
            return self.csv(rows, groups, months, by)
        chart = charts.column_chart(
            _("Sales by month"), [month.strftime("%Y-%m") for month in months],
            [(_("orders booked (net)"), [row["ordered"] for row in rows]), (_("invoiced (net)"), [row["invoiced"] for row in rows]), (_("money received"), [row["received"] for row in rows])],
            places=places,
        )
        if not request.GET:
            form = SalesByMonthForm(initial={"start": first, "end": last})
        return render(request, self.template_name, {
            "form": form, "rows": rows, "totals": totals, "chart": chart, "groups": groups, "months": months, "by": by,
            "base": base, "places": places, "query": request.GET.urlencode(),
        })

    def csv(self, rows, groups, months, by):
        import csv
        import io

        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow([_("month"), _("orders"), _("orders booked (net)"), _("invoiced (net)"), _("money received")])
        for row in rows:
            writer.writerow([row["month"].strftime("%Y-%m"), row["orders"], row["ordered"], row["invoiced"], row["received"]])
        if groups:
            writer.writerow([])
            writer.writerow([_("owner") if by == "owner" else _("department"), *[month.strftime("%Y-%m") for month in months], _("Total")])
            for group in groups:
                writer.writerow([group["name"], *group["cells"], group["total"]])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="sales-by-month-{months[0]:%Y-%m}.csv"'
        return response
