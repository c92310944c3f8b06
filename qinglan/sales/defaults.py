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


def create_defaults(NumberSequence, Stage, LossReason, language):
    """The number sequence, and the stages and loss reasons when there are none (models passed
    in, so a migration can use its historical ones)."""
    from django.utils import translation
    from django.utils.translation import gettext

    NumberSequence.objects.get_or_create(code=SEQUENCE["code"], defaults=SEQUENCE)
    with translation.override(language):
        if not Stage.objects.exists():
            for order, (name, probability, kind) in enumerate(STAGES, 1):
                Stage.objects.create(name=gettext(name), order=order * 10, probability=probability, kind=kind)
        if not LossReason.objects.exists():
            for name in LOSS_REASONS:
                LossReason.objects.create(name=gettext(name))
