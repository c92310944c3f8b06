"""Demo data: the leave request process, the predefined purchase request (a countersign of
two of three managers above 100,000), a role grant so every demo member sees the approvals
menu, two leave requests and two purchase requests waiting in the demo managers' inboxes (one
of them overdue, one countersign half signed)."""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from qinglan.core.permissions import Scope

from . import services
from .choices import ProcessKind, TaskStatus
from .models import ProcessInstance, WorkTask

PURCHASES = (
    # initiator, item, amount, reason
    ("sales", "筆記型電腦 20 台", 560000, "新進業務人員配備"),
    ("sales2", "展場攤位與布置", 180000, "台北國際食品展"),
)

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
    purchase = services.deploy(
        xml=(services.PROCESSES_DIR / "purchase_request.bpmn").read_text(encoding="utf-8"), kind=ProcessKind.PREDEFINED, name="採購申請"
    )
    instances = []
    for username, item, amount, reason in PURCHASES:
        member = User.objects.filter(username=username).first()
        if member is not None:
            instances.append(services.start(
                definition_key=purchase.key, initiator=member, title=f"採購申請：{item}（NT$ {amount:,}）",
                data={"item": item, "amount": amount, "reason": reason},
            ))
    if len(instances) == 2:
        first, second = instances
        # the first waits on its manager past the two days it had
        WorkTask.objects.filter(instance=first, status=TaskStatus.OPEN).update(due=timezone.now() - datetime.timedelta(hours=5))
        # the second passed its manager; finance has countersigned, the others have not yet
        manager = User.objects.get(username="manager")
        services.complete(task=WorkTask.objects.get(instance=second, status=TaskStatus.OPEN), user=manager, outcome="approve", comment="展覽預算內")
        finance = WorkTask.objects.filter(instance=second, status=TaskStatus.OPEN, assignee__username="finance").first()
        if finance is not None:
            services.complete(task=finance, user=finance.assignee, outcome="approve", comment="已確認預算科目")
