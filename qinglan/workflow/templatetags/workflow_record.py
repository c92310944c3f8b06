from django import template

register = template.Library()

SHOWN_INSTANCES = 5


@register.simple_tag
def record_approval(record, user):
    """What the approval panel of a bound record's page shows: its latest instances (the one it
    waits on first) with their open steps, and the processes bound to it; None when there is
    nothing to show (the panel is then left out)."""
    from qinglan.workflow import binding, services
    from qinglan.workflow.choices import TaskKind, TaskStatus, shown_name
    from qinglan.workflow.models import WorkTask

    bound = binding.bindings_for(record)
    instances = list(services.record_instances(record)[:SHOWN_INSTANCES])
    if not instances and not bound:
        return None
    open_steps = {}
    rows = (
        WorkTask.objects.filter(instance__in=[i.pk for i in instances if i.status in services.PENDING], status=TaskStatus.OPEN)
        .exclude(kind=TaskKind.ASSIST)
        .select_related("assignee", "candidate_role", "candidate_department", "candidate_position")
        .order_by("signer_order", "id")
    )
    for row in rows:
        open_steps.setdefault(row.instance_id, []).append(row)
    for instance in instances:
        instance.open_steps = open_steps.get(instance.pk, [])
        instance.viewable = services.may_view_instance(instance, user)
        instance.process_name = shown_name(instance.definition.name)
    processes = []
    for item in bound:
        definition = services.latest_definition(item.process_key)
        processes.append(shown_name(definition.name) if definition is not None else item.process_key)
    return {"instances": instances, "processes": processes, "pending": next((i for i in instances if i.status in services.PENDING), None)}
