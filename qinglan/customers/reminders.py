"""Follow-up reminders: a follow-up whose next date has come tells the customer's owner once."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Activity

REMINDER_BATCH_SIZE = 500


def due_activities(today):
    return Activity.objects.filter(next_follow_up__lte=today, reminder_sent=False)


def send_follow_up_reminders(today=None, batch_size=REMINDER_BATCH_SIZE):
    """One in-app notification per follow-up due today or overdue, to its customer's owner,
    then the follow-up is marked reminded — in the same transaction, so a reminder is sent
    once even when two workers run the job (rows another run holds are skipped). A customer in
    the pool has no owner: its reminder is dropped. Returns the number of notifications sent."""
    from qinglan.extras.services import notify

    today = today or timezone.localdate()
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                due_activities(today)
                .select_related("customer__owner")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return sent
            Activity.objects.filter(pk__in=[activity.pk for activity in batch]).update(reminder_sent=True)
            for activity in batch:
                owner = activity.customer.owner
                if owner is None or not owner.is_active:
                    continue
                with translation.override(owner.language or settings.LANGUAGE_CODE):
                    overdue = activity.next_follow_up < today
                    title = (
                        _("Overdue follow-up: %(customer)s (due %(date)s)") if overdue else _("Follow up today: %(customer)s")
                    ) % {"customer": activity.customer, "date": activity.next_follow_up.isoformat()}
                    body = _("Planned at the follow-up “%(subject)s”.") % {"subject": activity.subject}
                notify(user=owner, title=title, body=body, url=activity.customer.get_absolute_url(), event="customers.follow_up.due")
                sent += 1


def reset_reminder(*, activity):
    """A follow-up whose next date moved gets a reminder again (called before it is saved)."""
    if activity.pk is None:
        return
    previous = Activity.objects.filter(pk=activity.pk).values_list("next_follow_up", flat=True).first()
    if previous != activity.next_follow_up:
        activity.reminder_sent = False
