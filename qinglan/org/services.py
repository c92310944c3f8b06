"""Organisation services: profile updates, gap-free document numbers, amounts in the base currency."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qinglan.core.changelog import log_change, snapshot
from qinglan.core.models import ObjectChange

from .models import CompanyProfile, ExchangeRate, NumberSequence


@transaction.atomic
def update_profile(*, form, user):
    before = snapshot(user)
    member = form.save()
    log_change(record=member, action=ObjectChange.Action.UPDATE, user=user, before=before, after=snapshot(member))
    return member


def next_number(*, code, when=None):
    """The next number of a sequence, e.g. SO-2026-00001.

    Call it inside the transaction that saves the document: the row lock serialises
    concurrent callers, and if the transaction rolls back the number is not used, so the
    sequence stays gap-free."""
    return next_numbers(code=code, count=1, when=when)[0]


@transaction.atomic
def next_numbers(*, code, count, when=None):
    """The next `count` numbers of a sequence in one step (e.g. for an import), as next_number."""
    when = timezone.localtime(when or timezone.now())
    sequence = NumberSequence.objects.select_for_update().filter(code=code).first()
    if sequence is None:
        raise ValidationError(_("There is no number sequence “%(code)s”.") % {"code": code})
    period = str(when.year) if sequence.reset_yearly else ""
    if sequence.period != period:
        sequence.period = period
        sequence.next_value = 1
    first = sequence.next_value
    sequence.next_value = first + count
    sequence.save(update_fields=["period", "next_value", "last_updated"])
    prefix = sequence.prefix.format(code=sequence.code.upper(), year=when.year, month=f"{when.month:02d}")
    return [f"{prefix}{value:0{sequence.padding}d}" for value in range(first, first + count)]


def base_currency():
    """The company's base currency (None before the company profile names one)."""
    profile = CompanyProfile.objects.select_related("base_currency").first()
    return profile.base_currency if profile else None


def convert(amount, source, target, *, on=None, base=None, places=2):
    """`amount` of currency `source` in currency `target` through the base currency, at the
    latest rates valid on `on` (today by default); rounded to `places` (None: not rounded).
    None when a rate is missing."""
    if amount is None:
        return None
    base = base_currency() if base is None else base
    if source is None or target is None or source.pk == target.pk:
        return amount
    on = on or timezone.localdate()

    def rate(currency):
        if base is not None and currency.pk == base.pk:
            return Decimal(1)
        return ExchangeRate.objects.filter(currency=currency, date__lte=on).order_by("-date").values_list("rate", flat=True).first()

    source_rate, target_rate = rate(source), rate(target)
    if source_rate is None or not target_rate:
        return None
    value = amount * source_rate / target_rate
    return value if places is None else value.quantize(Decimal(1).scaleb(-places))


def to_base(amount, currency, *, on=None, base=None):
    """`amount` of `currency` in the base currency at the latest rate valid on `on` (today by
    default), rounded to cents; the amount itself when `currency` is the base currency or none;
    None when no rate is known. `base`: the base currency, when the caller has it."""
    if amount is None:
        return None
    base = base_currency() if base is None else base
    if currency is None or base is None or currency.pk == base.pk:
        return amount
    on = on or timezone.localdate()
    rate = ExchangeRate.objects.filter(currency=currency, date__lte=on).order_by("-date").values_list("rate", flat=True).first()
    if rate is None:
        return None
    return (amount * rate).quantize(Decimal("0.01"))
