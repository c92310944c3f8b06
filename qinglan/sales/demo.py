"""Demo opportunities for `qinglan demo`: about thirty deals of the sales team across the
pipeline (some won and lost this month), with competitors, product lines and the sales
roles' permissions on them."""

import datetime
import random
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation

from qinglan.core.permissions import Scope
from qinglan.customers.models import Customer
from qinglan.org.models import Currency, Role, RolePermission, User

from . import services
from .choices import StageKind
from .models import (
    PrintTemplate,
    AccountStatement,
    TerritoryRule,
    CommissionPlan,
    CommissionRate,
    CommissionStatement,
    CommissionTier,
    Competitor,
    Invoice,
    LossReason,
    Opportunity,
    OpportunityLine,
    OpportunityStage,
    PaymentTerm,
    PriceList,
    PriceRule,
    Promotion,
    Quote,
    QuoteLine,
    Receipt,
    ReceiptAllocation,
    SalesTarget,
    SalesOrder,
    SalesOrderLine,
    TaxRate,
)

DEALS = [
    "年度設備採購案", "廠區網路升級", "門市 POS 系統導入", "倉儲自動化規劃", "ERP 授權續約", "產線感測器更新",
    "辦公室筆電汰換", "冷鏈物流合作", "新品包材合同", "資安健檢專案", "客服中心擴建", "會議室視訊設備",
]
COMPETITORS = [
    ("宏觀系統", "https://hongguan.example", "價格低、交期快", "售後服務據點少"),
    ("全球資訊", "https://globalinfo.example", "品牌知名度高", "報價偏高、客製彈性低"),
    ("東方科技", "", "在地關係深", "產品線較窄"),
]


def _grant(role_name, models, actions, scope):
    role = Role.objects.get(name=role_name)
    for model in models:
        RolePermission.objects.update_or_create(
            role=role, content_type=ContentType.objects.get_for_model(model), defaults={"actions": actions, "scope": scope}
        )


def load_demo():
    # The sentences services store (why an order waits for approval) in the installation's language.
    with translation.override(settings.LANGUAGE_CODE):
        _load_demo()


def _load_demo():
    services.ensure_defaults()
    rng = random.Random(2027)
    competitors = [Competitor.objects.create(name=name, website=site, strengths=strong, weaknesses=weak) for name, site, strong, weak in COMPETITORS]
    stages = list(OpportunityStage.objects.filter(active=True))
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    won = next(stage for stage in stages if stage.kind == StageKind.WON)
    lost = next(stage for stage in stages if stage.kind == StageKind.LOST)
    reasons = list(LossReason.objects.all())
    usd = Currency.objects.filter(code="USD").first()
    today = timezone.localdate()
    customers = list(Customer.objects.filter(owner__isnull=False).select_related("owner").order_by("pk")[:30])
    try:
        from qinglan.products.models import Product

        products = list(Product.objects.filter(list_price__isnull=False).order_by("pk")[:20])
    except ImportError:  # the products app is not installed
        products = []
    for index, customer in enumerate(customers):
        stage = won if index % 10 == 3 else lost if index % 10 == 7 else open_stages[index % len(open_stages)]
        opportunity = Opportunity(
            name=f"{customer.short_name or customer.name} {DEALS[index % len(DEALS)]}", customer=customer, owner=customer.owner,
            stage=stage, amount=Decimal(rng.choice([80_000, 150_000, 320_000, 560_000, 1_200_000, 2_800_000])),
            currency=usd if index % 9 == 5 and usd else None,
            expected_close_date=today + datetime.timedelta(days=rng.randint(-20, 150)),
            loss_reason=rng.choice(reasons) if stage == lost else None,
            close_note="客戶選擇報價較低的方案" if stage == lost else "",
            description="客戶希望分兩期導入，第一期先上線總公司。" if index % 4 == 0 else "",
        )
        if opportunity.currency_id:
            opportunity.amount = (opportunity.amount / 30).quantize(Decimal(1))
        services.prepare_opportunity(opportunity=opportunity, created=True)
        opportunity.save()
        opportunity.competitors.set(rng.sample(competitors, rng.randint(0, 2)))
        if products and index % 3 == 0:
            for product in rng.sample(products, min(2, len(products))):
                OpportunityLine.objects.create(
                    opportunity=opportunity, product=product, description=product.name,
                    quantity=Decimal(rng.choice([1, 5, 10, 20])), unit_price=product.list_price, discount=Decimal(rng.choice([0, 5, 10])),
                )
        services.opportunity_saved(opportunity=opportunity, user=None, stage_before=None, status_before=StageKind.OPEN, customer_before=None)
    _grant("業務員", [Opportunity, SalesOrder, Invoice, Receipt], ["view", "add", "change", "export"], Scope.OWN)
    _grant("業務主管", [Invoice, Receipt], ["view", "add", "change", "delete", "export", "import"], Scope.SUBTREE)
    _grant("業務主管", [Opportunity], ["view", "add", "change", "delete", "export", "import"], Scope.SUBTREE)
    _grant("業務主管", [SalesOrder], ["view", "add", "change", "delete", "export", "import", "approve"], Scope.SUBTREE)
    _grant("業務員", [Quote, AccountStatement], ["view", "add", "change", "export"], Scope.OWN)
    _grant("業務主管", [AccountStatement], ["view", "add", "change", "delete", "export"], Scope.SUBTREE)
    _grant("業務員", [SalesTarget], ["view"], Scope.ALL)
    _grant("業務主管", [SalesTarget], ["view", "add", "change", "delete", "export", "import"], Scope.ALL)
    _grant("業務主管", [Quote], ["view", "add", "change", "delete", "export", "import"], Scope.SUBTREE)
    lookups = [OpportunityStage, LossReason, Competitor, TaxRate, PaymentTerm, PriceList, Promotion]
    _grant("業務員", lookups, ["view"], Scope.ALL)
    _grant("業務主管", lookups, ["view"], Scope.ALL)
    _demo_pricing(products)
    _demo_orders(customers, products, rng)
    _demo_quotes(customers, products, rng)
    _demo_targets(customers)
    _demo_commissions(customers)
    _demo_territories()
    _demo_print_templates()


def _demo_orders(customers, products, rng):
    """A dozen orders at every step: drafts, approved and running ones, one changed after
    approval (two versions), one supplementary, one waiting for the manager's approval because
    it goes beyond its customer's credit limit."""
    from qinglan.org.models import CompanyProfile

    CompanyProfile.objects.update(credit_control="approval")
    terms = list(PaymentTerm.objects.all())
    items = products or [None]
    orders = []
    for index, customer in enumerate(customers[:12]):
        order = SalesOrder(
            customer=customer, owner=customer.owner, payment_term=terms[index % len(terms)] if terms else None,
            order_date=timezone.localdate() - datetime.timedelta(days=rng.randint(0, 40)),
            delivery_date=timezone.localdate() + datetime.timedelta(days=rng.randint(5, 40)), notes="請於上午送達" if index % 4 == 0 else "",
        )
        services.prepare_order(order=order, created=True)
        order.save()
        for product in rng.sample(items, min(len(items), rng.randint(1, 3))):
            SalesOrderLine.objects.create(
                order=order, product=product, description=product.name if product else "安裝與教育訓練",
                quantity=Decimal(rng.choice([1, 2, 5, 10])), unit=getattr(product, "base_unit", None),
                unit_price=product.list_price if product else Decimal(30000), discount=Decimal(rng.choice([0, 0, 5])),
            )
        services.order_saved(order=order, user=None)
        orders.append(order)
    manager = orders[0].owner.manager if orders and orders[0].owner and orders[0].owner.manager_id else None
    for index, order in enumerate(orders):
        if index % 6 == 0:
            continue  # stays a draft
        if index == 1:  # beyond the customer's credit limit: waits for approval
            order.customer.credit_limit = order.total_base / 2
            order.customer.save(update_fields=["credit_limit"])
        services.submit_order(record=order, user=order.owner)
        order.refresh_from_db()
        if order.status != "approved":
            continue
        if index % 3 == 0:
            services.start_fulfilment(record=order, user=order.owner)
        if index == 5:
            services.start_fulfilment(record=order, user=order.owner)
            services.complete_order(record=order, user=order.owner)
            services.add_supplementary_order(record=order, user=order.owner)
        if index == 4:  # a change after approval: a second version
            previous = services.order_snapshot(order.pk)
            line = order.lines.first()
            line.quantity += 2
            line.save(update_fields=["quantity"])
            services.order_saved(order=order, user=manager or order.owner, previous=previous)
    _demo_invoices(orders)


def _demo_invoices(orders):
    """Running and completed orders invoiced; some paid in full, one in part, one with a
    prepayment left over, one overdue."""
    today = timezone.localdate()
    running = SalesOrder.objects.filter(pk__in=[order.pk for order in orders], status__in=("fulfilling", "completed")).order_by("pk")
    for index, order in enumerate(running.select_related("customer", "owner")):
        invoice = services.invoice_from_order(record=order, user=order.owner)
        if index == 0:  # fell due three weeks ago
            Invoice.objects.filter(pk=invoice.pk).update(invoice_date=today - datetime.timedelta(days=51), due_date=today - datetime.timedelta(days=21))
            invoice.refresh_from_db()
        services.issue_invoice(record=invoice, user=order.owner)
        invoice.refresh_from_db()
        paid = {0: Decimal(0), 1: (invoice.total / 2).quantize(Decimal(1))}.get(index, invoice.total)
        if not paid:
            continue
        receipt = Receipt(customer=order.customer, owner=order.owner, amount=paid + (Decimal(5000) if index == 2 else 0), reference=f"TX{202611000 + index}")
        services.prepare_receipt(receipt=receipt, created=True)
        receipt.save()
        ReceiptAllocation.objects.create(receipt=receipt, invoice=invoice, amount=paid)
        services.receipt_saved(receipt=receipt, user=order.owner)


def _demo_pricing(products):
    """A dealer price list for the top customer level with quantity tiers, a general list
    taking 3% off, this month's promotion on the first product's category and a buy-ten-get-one."""
    from qinglan.customers.models import CustomerLevel

    today = timezone.localdate()
    general = PriceList.objects.create(name="一般牌價", priority=20, notes="所有客戶適用：定價九七折。")
    PriceRule.objects.create(price_list=general, method="discount", value=Decimal(3))
    level = CustomerLevel.objects.order_by("order").first()
    if level is not None:
        dealers = PriceList.objects.create(name=f"{level.name}客戶價", priority=10, notes="依數量分級的優惠價。")
        dealers.levels.add(level)
        PriceRule.objects.create(price_list=dealers, method="discount", value=Decimal(8))
        for product in products[:4]:
            for quantity, off in ((10, 12), (50, 15)):
                PriceRule.objects.create(
                    price_list=dealers, product=product, min_quantity=Decimal(quantity), method="fixed",
                    value=(product.list_price * (100 - off) / 100).quantize(Decimal(1)),
                )
    if products:
        first = products[0]
        month_end = (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
        if first.category_id:
            Promotion.objects.create(
                name="年終回饋", kind="percent", percent=Decimal(5), starts_on=today.replace(day=1), ends_on=month_end, category=first.category,
            )
        Promotion.objects.create(
            name="買十送一", kind="gift", buy_quantity=10, free_quantity=1, starts_on=today.replace(day=1), ends_on=month_end, product=products[-1],
        )


def _demo_quotes(customers, products, rng):
    """Quotes at every step: drafts, one sent, one converted into an order, one waiting for the
    manager because its discount is beyond the limit, and a revised one (two versions)."""
    from . import quotes

    if not products:
        return
    for index, customer in enumerate(customers[12:20]):
        quote = Quote(
            customer=customer, owner=customer.owner, quote_date=timezone.localdate() - datetime.timedelta(days=rng.randint(0, 20)),
            terms="報價含稅，有效期間內下單適用；交貨期：訂單確認後 14 個工作天。",
        )
        quotes.prepare_quote(quote=quote, created=True)
        quote.save()
        for product in rng.sample(products, min(len(products), 2)):
            QuoteLine.objects.create(quote=quote, product=product, description=product.name, quantity=Decimal(rng.choice([2, 5, 12, 20])))
        if index == 3:  # priced by hand 25% below the lists: needs the manager
            line = quote.lines.first()
            line.unit_price = (line.product.list_price * Decimal("0.75")).quantize(Decimal(1))
            line.save(update_fields=["unit_price"])
        quotes.quote_saved(quote=quote, user=None)
        if index % 4 == 0:
            continue  # a draft
        quotes.submit_quote(record=quote, user=customer.owner)
        quote.refresh_from_db()
        if quote.status != "approved":
            continue
        if index in (1, 5):
            quotes.mark_sent(record=quote, user=customer.owner)
        if index == 2:
            quotes.quote_to_order(record=quote, user=customer.owner)
        if index == 5:  # the customer asked for more: a second version
            quotes.revise_quote(record=quote, user=customer.owner)
            QuoteLine.objects.filter(quote=quote).update(quantity=Decimal(30), unit_price=None)
            quotes.quote_saved(quote=quote, user=customer.owner)


def _demo_targets(customers):
    """This month's and this quarter's targets of the salespeople and their department, and
    the company's year, so the achievement page shows progress from the demo invoices."""
    today = timezone.localdate()
    owners = sorted({customer.owner for customer in customers if customer.owner_id}, key=lambda member: member.pk)
    for owner in owners:
        SalesTarget.objects.create(period="month", year=today.year, number=today.month, member=owner, amount=Decimal(1_500_000))
        SalesTarget.objects.create(period="quarter", year=today.year, number=(today.month - 1) // 3 + 1, member=owner, amount=Decimal(4_000_000), measure="received")
    departments = {owner.department for owner in owners if owner.department_id}
    for department in sorted(departments, key=lambda item: item.pk):
        SalesTarget.objects.create(period="quarter", year=today.year, number=(today.month - 1) // 3 + 1, department=department, amount=Decimal(12_000_000))
    SalesTarget.objects.create(period="year", year=today.year, amount=Decimal(60_000_000))


def _demo_commissions(customers):
    """A commission plan for the salespeople (rates by the top categories, tiers by this
    month's target) and this month's draft statements from the demo's paid invoices."""
    from qinglan.products.models import Category

    from . import commissions

    owners = sorted({customer.owner for customer in customers if customer.owner_id}, key=lambda member: member.pk)
    plan = CommissionPlan.objects.create(name="業務佣金方案", default_rate=Decimal(2), notes="依產品類別計算，本月目標達成率決定倍率。")
    plan.members.set(owners)
    for category, rate in zip(Category.objects.filter(depth=1).order_by("path")[:3], (Decimal(3), Decimal(5), Decimal("1.5"))):
        CommissionRate.objects.create(plan=plan, category=category, rate=rate)
    for start, multiplier in ((0, 60), (80, 100), (100, 120)):
        CommissionTier.objects.create(plan=plan, from_achievement=Decimal(start), multiplier=Decimal(multiplier))
    today = timezone.localdate()
    commissions.run_plan(plan=plan, period="month", year=today.year, number=today.month, user=None)
    _grant("業務員", [CommissionStatement], ["view"], Scope.OWN)
    _grant("業務員", [CommissionPlan], ["view"], Scope.ALL)
    _grant("業務主管", [CommissionPlan], ["view", "add", "change", "export"], Scope.ALL)
    _grant("業務主管", [CommissionStatement], ["view", "add", "change", "export", "approve"], Scope.SUBTREE)


def _demo_territories():
    """New customers in southern Taiwan go to 張雅婷 (sales2); new manufacturers elsewhere to the
    northern sales team in turn."""
    from qinglan.customers.models import Region
    from qinglan.org.models import Department, DictionaryItem

    south = Region.objects.filter(code="TW-S").first()
    seller = User.objects.filter(username="sales2").first()
    if south and seller:
        rule = TerritoryRule.objects.create(name="南部客戶", order=1, member=seller, notes="台南、高雄的新客戶由南區業務負責。")
        rule.regions.set([south])
    team = Department.objects.filter(code="SALES-N").first()
    manufacturing = DictionaryItem.objects.filter(dictionary__code="customer-industry", value="manufacturing").first()
    if team and manufacturing:
        rule = TerritoryRule.objects.create(name="製造業新客戶輪派", order=2, team=team)
        rule.industries.set([manufacturing])
    _grant("業務主管", [TerritoryRule], ["view", "add", "change", "delete"], Scope.ALL)


def _demo_print_templates():
    PrintTemplate.objects.create(
        kind="quote", name="標準報價單", is_default=True, title="報價單",
        intro="{{ customer }} 敬啟：\n感謝貴公司詢價，謹將報價說明如下，敬請參考。",
        closing="本報價有效至 {{ valid_until }}。如有任何問題，請與業務 {{ owner }} 聯絡。",
        footer="{{ company }} · 報價單 {{ code }}",
    )
    PrintTemplate.objects.create(
        kind="statement", name="標準對帳單", is_default=True, title="{{ company }} 對帳單",
        closing="請於收到後 7 日內核對回覆；逾期未回覆視為確認無誤。", footer="{{ company }} · 對帳單 {{ code }}",
    )
    _grant("業務主管", [PrintTemplate], ["view"], Scope.ALL)
    _grant("業務員", [PrintTemplate], ["view"], Scope.ALL)
