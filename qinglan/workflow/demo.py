"""Demo data: the leave request process, a role grant so every demo member sees the approvals
menu, and two leave requests waiting in the demo manager's (陳美玲) inbox."""

import datetime

from django.contrib.contenttypes.models import ContentType

from qinglan.core.permissions import Scope

from . import services
from .models import ProcessInstance

REQUESTS = (
    # initiator, type, first day (days from today), days, reason
    ("sales", "annual", 14, 2, "家族旅遊"),
    ("sales2", "personal", 7, 5, "搬家與辦理戶籍遷移"),
)


def load_demo():
    from qinglan.org.models import Role, RolePermission, User

    services.ensure_fixed_processes()
    instance_type = ContentType.objects.get_for_model(ProcessInstance)
    for role in Role.objects.filter(name__in=("業務主管", "業務員")):
        RolePermission.objects.get_or_create(role=role, content_type=instance_type, defaults={"actions": ["view"], "scope": Scope.OWN})
    today = datetime.date.today()
    for username, leave_type, offset, days, reason in REQUESTS:
        member = User.objects.filter(username=username).first()
        if member is None:
            continue
        start = today + datetime.timedelta(days=offset)
        end = start + datetime.timedelta(days=days - 1)
        services.start(
            definition_key="leave_request", initiator=member, title=f"請假單：{member}，{days} 天（{start.isoformat()} 起）",
            data={"leave_type": leave_type, "date_from": start.isoformat(), "date_to": end.isoformat(), "days": days, "reason": reason},
        )
