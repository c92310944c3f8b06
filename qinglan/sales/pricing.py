"""The pricing engine (計價引擎): one policy for quotes, orders and the portal.

For a customer, a currency, a day and lines of (product, quantity) it finds each line's unit
price, discount and gift and says why:

1. The price list: the one named on the document (refused when closed or in another
   currency), else the most specific open list in the document's currency that applies to the
   customer — its own list, then its level's, then its region's (with parent regions), then a
   general list; among equals the lower priority number, then the older list.
2. The rule of that list: for the product itself before its category (the nearest one up the
   tree) before every product; the highest "from quantity" the line reaches (tiers); only rules
   valid on the day. Fixed price, list price less a discount, or cost plus a markup — the list
   and cost prices converted into the document's currency at the day's rate.
3. No list or no rule: the product's list price (converted).
4. The best promotion running that day for the product, its category or everything (and the
   customer's level, when the promotion names levels): percent off (the line's discount),
   an amount off each unit, or buy X get Y (a free gift line) — the one worth most to the
   customer.

Unit prices are rounded to the currency's places (half up). Everything is read with a handful
of queries whatever the number of lines (`price_lines`)."""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.detail import decimal_text
from qinglan.org.services import base_currency, convert

from .choices import PriceMethod, PromotionKind
from .models import PriceList, PriceRule, Promotion


@dataclass
class Price:
    """What the engine says of one line."""

    product: object
    quantity: Decimal
    unit_price: Decimal | None = None
    discount: Decimal = Decimal(0)  # percent
    free_quantity: Decimal = Decimal(0)
    price_list: object = None
    rule: object = None
    promotion: object = None
    gift_promotion: object = None
    steps: list = field(default_factory=list)

    @property
    def basis(self):
        """The explanation as one line of text (kept on the order or quote line)."""
        return "；".join(self.steps)[:300]


def _quantum(currency):
    places = currency.decimal_places if currency is not None else 2
    return Decimal(1).scaleb(-places)


def _money(amount, currency):
    return decimal_text(amount, currency.decimal_places if currency is not None else 2)


def choose_list(lists, customer, region_paths, day):
    """The most specific open list of `lists` (already in the right currency) for `customer`."""
    best = None
    for price_list in lists:
        if not price_list.is_open(day):
            continue
        customers, levels, regions = price_list._targets
        if customer is not None and customer.pk in customers:
            rank = 0
        elif customer is not None and customer.level_id in levels:
            rank = 1
        elif regions and any(path.startswith(tuple(regions)) for path in region_paths):
            rank = 2
        elif not (customers or levels or regions):
            rank = 3
        else:
            continue
        key = (rank, price_list.priority, price_list.pk)
        if best is None or key < best[0]:
            best = (key, price_list)
    return best[1] if best else None


def _category_paths(product):
    """The product's category and its ancestors' materialized paths, nearest first."""
    from qinglan.products.services import lineage_paths

    if product is None or product.category_id is None:
        return []
    return lineage_paths(product.category.path)[::-1]


def price_lines(*, customer, items, currency=None, day=None, price_list=None):
    """Price each (product, quantity) of `items` for `customer` in `currency` (the base
    currency when None) on `day` (today): a list of Price, in order. `price_list`: the list
    named on the document, which must be open and in the currency."""
    from qinglan.customers.models import Region

    day = day or timezone.localdate()
    base = base_currency()
    currency = currency or base
    if price_list is not None:
        if not price_list.is_open(day):
            raise ValidationError(_("The price list “%(list)s” is closed on %(day)s.") % {"list": price_list, "day": day.isoformat()})
        list_currency = price_list.currency or base
        if currency is not None and list_currency is not None and list_currency.pk != currency.pk:
            raise ValidationError(
                _("The price list “%(list)s” is in %(list_currency)s, the document in %(currency)s.")
                % {"list": price_list, "list_currency": list_currency.code, "currency": currency.code}
            )
        lists = [price_list]
    else:
        lists = PriceList.objects.filter(active=True).filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )
        if currency is not None and base is not None and currency.pk == base.pk:
            lists = lists.filter(Q(currency__isnull=True) | Q(currency=currency))
        elif currency is not None:
            lists = lists.filter(currency=currency)
        lists = list(lists)
    if lists:
        through = PriceList.customers.through, PriceList.levels.through, PriceList.regions.through
        ids = [price_list.pk for price_list in lists]
        targets = {pk: (set(), set(), set()) for pk in ids}
        for pk, customer_id in through[0].objects.filter(pricelist_id__in=ids).values_list("pricelist_id", "customer_id"):
            targets[pk][0].add(customer_id)
        for pk, level_id in through[1].objects.filter(pricelist_id__in=ids).values_list("pricelist_id", "customerlevel_id"):
            targets[pk][1].add(level_id)
        for pk, path in through[2].objects.filter(pricelist_id__in=ids).values_list("pricelist_id", "region__path"):
            targets[pk][2].add(path)
        for price_list_ in lists:
            price_list_._targets = targets[price_list_.pk]
    region_paths = []
    if customer is not None and customer.region_id:
        region_paths = list(Region.objects.filter(pk=customer.region_id).values_list("path", flat=True))
    chosen = choose_list(lists, customer, region_paths, day) if lists else None

    products = [product for product, _quantity in items if product is not None]
    category_paths = {product.pk: _category_paths(product) for product in products}
    all_paths = {path for paths in category_paths.values() for path in paths}
    # Category ids rather than a join on their paths: each alternative below then reads an index.
    from qinglan.products.models import Category

    category_ids = list(Category.objects.filter(path__in=all_paths).values_list("pk", flat=True)) if all_paths else []
    product_ids = list({p.pk for p in products})
    applicable = Q(product__isnull=True, category__isnull=True) | Q(product__in=product_ids) | Q(category__in=category_ids)
    rules = []
    if chosen is not None:
        rules = list(
            PriceRule.objects.filter(price_list=chosen)
            .filter(applicable)
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
            .select_related("category")
        )
    promotions = list(
        Promotion.objects.filter(active=True, starts_on__lte=day, ends_on__gte=day)
        .filter(applicable)
        .select_related("category").prefetch_related("levels")
    )
    # The rules that may apply to a product: its own, its categories' (nearest first) and the general ones.
    by_product, by_path, general = {}, {}, []
    for rule in rules:
        if rule.product_id is not None:
            by_product.setdefault(rule.product_id, []).append(rule)
        elif rule.category_id is not None:
            by_path.setdefault(rule.category.path, []).append(rule)
        else:
            general.append(rule)
    rates = {}

    def converted(amount, source):
        source = source or base
        if amount is None or source is None or currency is None or source.pk == currency.pk:
            return amount
        key = source.pk
        if key not in rates:
            rates[key] = convert(Decimal(1), source, currency, on=day, base=base, places=None)
        if rates[key] is None:
            raise ValidationError(
                _("No exchange rate from %(source)s to %(target)s on %(day)s.") % {"source": source.code, "target": currency.code, "day": day.isoformat()}
            )
        return amount * rates[key]

    results = []
    for product, quantity in items:
        result = Price(product=product, quantity=quantity, price_list=chosen)
        results.append(result)
        if product is None:
            continue
        paths = category_paths.get(product.pk, [])
        candidates = by_product.get(product.pk, []) + [rule for path in paths for rule in by_path.get(path, ())] + general
        rule = _pick_rule(candidates, product, paths, quantity)
        list_price = converted(product.list_price, product.price_currency)
        if rule is not None:
            result.rule = rule
            if rule.method == PriceMethod.FIXED:
                price = rule.value
                result.steps.append(_("Price list “%(list)s”: fixed price %(price)s from %(quantity)s") % {
                    "list": chosen, "price": _money(price, currency), "quantity": decimal_text(rule.min_quantity, 4)})
            elif rule.method == PriceMethod.DISCOUNT:
                if list_price is None:
                    raise ValidationError(_("“%(product)s” has no list price to take the discount of price list “%(list)s” from.") % {"product": product, "list": chosen})
                price = list_price * (1 - rule.value / 100)
                result.steps.append(_("Price list “%(list)s”: list price %(price)s less %(percent)s%%") % {
                    "list": chosen, "price": _money(list_price, currency), "percent": decimal_text(rule.value, 4)})
            else:
                cost = converted(product.cost, product.cost_currency)
                if cost is None:
                    raise ValidationError(_("“%(product)s” has no cost to add the markup of price list “%(list)s” to.") % {"product": product, "list": chosen})
                price = cost * (1 + rule.value / 100)
                result.steps.append(_("Price list “%(list)s”: cost %(cost)s plus %(percent)s%%") % {
                    "list": chosen, "cost": decimal_text(cost, 4), "percent": decimal_text(rule.value, 4)})
        elif list_price is not None:
            price = list_price
            result.steps.append(_("List price %(price)s") % {"price": _money(list_price, currency)})
        else:
            result.steps.append(_("No price list rule and no list price: enter the price."))
            continue
        result.unit_price = Decimal(price).quantize(_quantum(currency), ROUND_HALF_UP)
        _apply_promotion(result, promotions, paths, customer, currency)
    return results


def _pick_rule(rules, product, paths, quantity):
    best = None
    for rule in rules:
        if rule.min_quantity > quantity:
            continue
        if rule.product_id is not None:
            if rule.product_id != product.pk:
                continue
            specificity = 0
        elif rule.category_id is not None:
            if rule.category.path not in paths:
                continue
            specificity = 1 + paths.index(rule.category.path)  # the nearest category first
        else:
            specificity = 1000
        key = (specificity, -rule.min_quantity, rule.pk)
        if best is None or key < best[0]:
            best = (key, rule)
    return best[1] if best else None


def _apply_promotion(result, promotions, paths, customer, currency):
    best = None
    gross = result.unit_price * result.quantity
    for promotion in promotions:
        if promotion.product_id is not None and promotion.product_id != result.product.pk:
            continue
        if promotion.category_id is not None and promotion.category.path not in paths:
            continue
        if promotion.min_quantity > result.quantity:
            continue
        levels = {level.pk for level in promotion.levels.all()}
        if levels and (customer is None or customer.level_id not in levels):
            continue
        if promotion.kind == PromotionKind.PERCENT:
            worth = gross * promotion.percent / 100
        elif promotion.kind == PromotionKind.AMOUNT:
            worth = min(promotion.amount, result.unit_price) * result.quantity
        else:
            free = (result.quantity // promotion.buy_quantity) * promotion.free_quantity
            worth = free * result.unit_price
        if worth > 0 and (best is None or worth > best[0]):
            best = (worth, promotion)
    if best is None:
        return
    promotion = best[1]
    if promotion.kind == PromotionKind.PERCENT:
        result.discount = promotion.percent
        result.promotion = promotion
        result.steps.append(_("Promotion “%(name)s”: %(percent)s%% off") % {"name": promotion, "percent": decimal_text(promotion.percent, 4)})
    elif promotion.kind == PromotionKind.AMOUNT:
        off = min(promotion.amount, result.unit_price)
        result.unit_price = (result.unit_price - off).quantize(_quantum(currency), ROUND_HALF_UP)
        result.promotion = promotion
        result.steps.append(_("Promotion “%(name)s”: %(amount)s off each unit") % {"name": promotion, "amount": _money(off, currency)})
    else:
        result.free_quantity = (result.quantity // promotion.buy_quantity) * promotion.free_quantity
        result.gift_promotion = promotion
        result.steps.append(_("Promotion “%(name)s”: buy %(buy)s get %(free)s free — %(gift)s free") % {
            "name": promotion, "buy": promotion.buy_quantity, "free": promotion.free_quantity, "gift": decimal_text(result.free_quantity, 4)})


def price_document_lines(*, document, lines, line_model, parent_field, user=None, reprice=False):
    """Price the lines of an order or a quote: lines without a unit price (all of them with
    `reprice`) take the engine's price and discount; the explanation is kept on each line;
    gift lines of buy-X-get-Y promotions are made again. Returns the lines kept."""
    priced = [line for line in lines if line.promotion_id is None and (reprice or line.unit_price is None) and line.product_id]
    if any(line.unit_price is None and not line.product_id for line in lines):
        raise ValidationError(_("A line without a product needs a unit price."))
    if not priced:
        return lines
    results = price_lines(
        customer=document.customer, items=[(line.product, line.quantity) for line in priced], currency=document.currency,
        day=getattr(document, "order_date", None) or getattr(document, "quote_date", None), price_list=document.price_list,
    )
    for line, result in zip(priced, results, strict=True):
        if result.unit_price is None:
            raise ValidationError(_("“%(product)s” has no price for this customer; enter the unit price.") % {"product": line.product})
        line.unit_price = result.unit_price
        line.discount = result.discount
        line.price_basis = result.basis
    line_model.objects.bulk_update(priced, ["unit_price", "discount", "price_basis"])
    # Gift lines of buy-X-get-Y promotions: made for the lines priced now; repricing makes them all again.
    if reprice:
        line_model.objects.filter(pk__in=[line.pk for line in lines if line.promotion_id is not None]).delete()
        lines = [line for line in lines if line.promotion_id is None]
    gifts = [
        line_model(**{
            parent_field: document, "product": line.product, "description": _("Gift: %(promotion)s") % {"promotion": result.gift_promotion},
            "quantity": result.free_quantity, "unit_price": Decimal(0), "discount": Decimal(0), "tax_rate_id": line.tax_rate_id,
            "promotion": result.gift_promotion, "price_basis": result.basis,
        })
        for line, result in zip(priced, results, strict=True)
        if result.free_quantity
    ]
    line_model.objects.bulk_create(gifts)
    return lines + gifts
