"""The pipeline a new installation starts with (named in its language by the migration and by
services.ensure_defaults); administrators rename, reorder and add to it under Sales."""

from django.utils.translation import gettext_noop

STAGES = [  # (name, probability %, kind)
    (gettext_noop("Qualification"), 10, "open"),
    (gettext_noop("Needs analysis"), 25, "open"),
    (gettext_noop("Proposal"), 50, "open"),
    (gettext_noop("Negotiation"), 75, "open"),
    (gettext_noop("Won"), 100, "won"),
    (gettext_noop("Lost"), 0, "lost"),
]
LOSS_REASONS = [
    gettext_noop("Price too high"), gettext_noop("Chose a competitor"), gettext_noop("Budget cancelled"),
    gettext_noop("No decision made"), gettext_noop("Product does not fit"),
]
SEQUENCE = {"code": "opportunity", "name": "銷售機會編號 Opportunity numbers", "prefix": "OP{year}-", "padding": 5, "reset_yearly": True}


TAX_RATES = [  # (name, rate %, prices include it, default)
    (gettext_noop("Sales tax 5%"), 5, False, True),
    (gettext_noop("Sales tax 5% (included)"), 5, True, False),
    (gettext_noop("Tax exempt"), 0, False, False),
]
PAYMENT_TERMS = [(gettext_noop("Cash on delivery"), 0), (gettext_noop("Net 30 days"), 30), (gettext_noop("Net 60 days"), 60)]


def create_defaults(get_model, language):
    """The number sequence, and the stages, loss reasons, tax rates and payment terms of a
    kind there are none of yet. `get_model(app_label, name)` is a migration's apps.get_model
    (the models of that point in history; kinds not made yet are skipped) or the app registry's."""
    from django.utils import translation
    from django.utils.translation import gettext

    def model(name):
        try:
            return get_model("sales", name)
        except LookupError:
            return None

    get_model("org", "NumberSequence").objects.get_or_create(code=SEQUENCE["code"], defaults=SEQUENCE)
    Stage, LossReason, TaxRate, PaymentTerm = (model(name) for name in ("OpportunityStage", "LossReason", "TaxRate", "PaymentTerm"))
    with translation.override(language):
        if Stage is not None and not Stage.objects.exists():
            for order, (name, probability, kind) in enumerate(STAGES, 1):
                Stage.objects.create(name=gettext(name), order=order * 10, probability=probability, kind=kind)
        if LossReason is not None and not LossReason.objects.exists():
            for name in LOSS_REASONS:
                LossReason.objects.create(name=gettext(name))
        if TaxRate is not None and not TaxRate.objects.exists():
            for name, rate, inclusive, default in TAX_RATES:
                TaxRate.objects.create(name=gettext(name), rate=rate, inclusive=inclusive, is_default=default)
        if PaymentTerm is not None and not PaymentTerm.objects.exists():
            for name, days in PAYMENT_TERMS:
                PaymentTerm.objects.create(name=gettext(name), days=days)
