"""Sample records per resource for the permission matrix (see testing.sample_factory)."""

from decimal import Decimal

from qinglan.core.testing import sample_factory
from qinglan.customers.tests.factories import make_customer
from qinglan.sales import services
from qinglan.sales.choices import StageKind
from qinglan.sales.models import (
    PrintTemplate,
    AccountStatement,
    TerritoryRule,
    CommissionPlan,
    CommissionStatement,
    Competitor,
    Invoice,
    LossReason,
    Opportunity,
    OpportunityStage,
    PaymentTerm,
    PriceList,
    Promotion,
    Quote,
    Receipt,
    SalesOrder,
    SalesTarget,
    SalesOrderLine,
    TaxRate,
)


def stage(kind=StageKind.OPEN, **values):
    """A stage of the kind the migration made (Qualification… / Won / Lost)."""
    services.ensure_defaults()  # a transactional test's flush removed them
    return OpportunityStage.objects.filter(kind=kind, active=True, **values).order_by("order").first()


def make_opportunity(owner, name, *, customer=None, user=None, **extra):
    """An opportunity saved as the services save one."""
    opportunity = Opportunity(
        owner=owner, name=name, customer=customer or make_customer(owner, f"{name}客戶"), stage=extra.pop("stage", None) or stage(),
        amount=extra.pop("amount", Decimal("100000")), **extra,
    )
    services.prepare_opportunity(opportunity=opportunity, created=True)
    opportunity.save()
    services.opportunity_saved(opportunity=opportunity, user=user, stage_before=None, status_before=None, customer_before=None)
    return opportunity


@sample_factory(Opportunity)
def opportunity(owner, serial):
    return make_opportunity(owner, f"矩陣商機{serial} matrix"), owner, owner.department


@sample_factory(OpportunityStage)
def opportunity_stage(owner, serial):
    return OpportunityStage.objects.create(name=f"矩陣階段{serial}", order=100 + serial, probability=Decimal(30)), None, None


@sample_factory(LossReason)
def loss_reason(owner, serial):
    return LossReason.objects.create(name=f"矩陣原因{serial}"), None, None


@sample_factory(Competitor)
def competitor(owner, serial):
    return Competitor.objects.create(name=f"矩陣對手{serial}"), None, None


def make_order(owner, *, customer=None, lines=((Decimal("2"), Decimal("1000")),), tax_rate=None, user=None, **extra):
    """A draft order saved as the services save one; `lines`: (quantity, unit price) pairs."""
    order = SalesOrder(owner=owner, customer=customer or make_customer(owner, "訂單客戶"), **extra)
    services.prepare_order(order=order, created=True)
    order.save()
    for quantity, price in lines:
        SalesOrderLine.objects.create(order=order, description="商品", quantity=quantity, unit_price=price, tax_rate=tax_rate)
    services.order_saved(order=order, user=user)
    order.refresh_from_db()
    return order


@sample_factory(SalesOrder)
def sales_order(owner, serial):
    return make_order(owner, customer=make_customer(owner, f"矩陣訂單客戶{serial} matrix")), owner, owner.department


@sample_factory(TaxRate)
def tax_rate(owner, serial):
    return TaxRate.objects.create(name=f"矩陣稅率{serial}", rate=Decimal(serial)), None, None


@sample_factory(PaymentTerm)
def payment_term(owner, serial):
    return PaymentTerm.objects.create(name=f"矩陣條件{serial}", days=serial * 10), None, None


@sample_factory(Invoice)
def invoice(owner, serial):
    record = Invoice(owner=owner, customer=make_customer(owner, f"矩陣發票客戶{serial} matrix"))
    services.prepare_invoice(invoice=record, created=True)
    record.save()
    return record, owner, owner.department


@sample_factory(Receipt)
def receipt(owner, serial):
    record = Receipt(owner=owner, customer=make_customer(owner, f"矩陣收款客戶{serial} matrix"), amount=Decimal(1000 + serial))
    services.prepare_receipt(receipt=record, created=True)
    record.save()
    return record, owner, owner.department


@sample_factory(PriceList)
def price_list(owner, serial):
    return PriceList.objects.create(name=f"矩陣價目表{serial}"), None, None


@sample_factory(Promotion)
def promotion(owner, serial):
    import datetime

    today = datetime.date.today()
    return Promotion.objects.create(name=f"矩陣促銷{serial}", percent=Decimal(5), starts_on=today, ends_on=today), None, None


@sample_factory(Quote)
def quote(owner, serial):
    from qinglan.sales import quotes

    record = Quote(owner=owner, customer=make_customer(owner, f"矩陣報價客戶{serial} matrix"))
    quotes.prepare_quote(quote=record, created=True)
    record.save()
    return record, owner, owner.department


@sample_factory(SalesTarget)
def sales_target(owner, serial):
    return SalesTarget.objects.create(year=2026, number=serial % 12 + 1, member=owner, amount=Decimal(100000 + serial)), None, None


@sample_factory(CommissionPlan)
def commission_plan(owner, serial):
    return CommissionPlan.objects.create(name=f"矩陣佣金{serial}", default_rate=Decimal(2)), None, None


@sample_factory(CommissionStatement)
def commission_statement(owner, serial):
    from qinglan.sales import commissions

    plan = CommissionPlan.objects.create(name=f"矩陣結算方案{serial}")
    plan.members.add(owner)
    record = CommissionStatement(member=owner, plan=plan, year=2026, number=serial % 12 + 1)
    commissions.prepare_statement(statement=record, created=True)
    record.save()
    commissions.statement_saved(statement=record)
    return record, owner, owner.department


@sample_factory(TerritoryRule)
def territory_rule(owner, serial):
    return TerritoryRule.objects.create(name=f"矩陣分配規則{serial}", order=100 + serial, member=owner), None, None


@sample_factory(AccountStatement)
def account_statement(owner, serial):
    import datetime

    from qinglan.sales import reconciliation

    record = AccountStatement(
        owner=owner, customer=make_customer(owner, f"矩陣對帳客戶{serial} matrix"), period_start=datetime.date(2026, 1, 1), period_end=datetime.date(2026, 1, 31),
    )
    reconciliation.prepare_statement(statement=record, created=True)
    record.save()
    return record, owner, owner.department


@sample_factory(PrintTemplate)
def print_template(owner, serial):
    return PrintTemplate.objects.create(name=f"矩陣列印範本{serial}", intro="{{ customer }}"), None, None
