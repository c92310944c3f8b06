from django.db import migrations, models


def fill_process_keys(apps, schema_editor):
    """The rows of steps inside called processes, written before the field existed: a step
    whose ID is not one of the instance's own process but one of a process it calls."""
    ProcessInstance = apps.get_model("workflow", "ProcessInstance")
    ProcessDefinition = apps.get_model("workflow", "ProcessDefinition")
    WorkTask = apps.get_model("workflow", "WorkTask")
    rules = {}

    def rules_of(pk):
        if pk not in rules:
            rules[pk] = ProcessDefinition.objects.filter(pk=pk).values_list("task_rules", flat=True).first() or {}
        return rules[pk]

    for pk, called, definition_id in ProcessInstance.objects.values_list("id", "called", "definition_id").iterator():
        if not called:
            continue
        own = rules_of(definition_id)
        steps = set(WorkTask.objects.filter(instance_id=pk).exclude(bpmn_id="").values_list("bpmn_id", flat=True))
        for bpmn_id in steps - set(own):
            key = next((key for key, called_pk in called.items() if bpmn_id in rules_of(called_pk)), None)
            if key:
                WorkTask.objects.filter(instance_id=pk, bpmn_id=bpmn_id).update(process_key=key)


class Migration(migrations.Migration):

    dependencies = [
        ("workflow", "0004_overdue_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="worktask",
            name="process_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=100, verbose_name="called process"),
        ),
        migrations.AddField(
            model_name="taskevent",
            name="changes",
            field=models.JSONField(blank=True, default=dict, editable=False, verbose_name="changes"),
        ),
        migrations.RunPython(fill_process_keys, migrations.RunPython.noop),
    ]
