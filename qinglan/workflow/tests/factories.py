"""Sample records for the permission matrix (see core.testing.sample_factory), and helpers."""

from pathlib import Path

from qinglan.core.testing import sample_factory
from qinglan.workflow.models import ProcessDefinition, ProcessInstance

BPMN_DIR = Path(__file__).resolve().parent / "bpmn"


def bpmn(name):
    return (BPMN_DIR / name).read_text(encoding="utf-8")


def _definition():
    definition = ProcessDefinition.objects.filter(key="matrix").first()
    if definition is None:
        definition = ProcessDefinition.objects.create(key="matrix", version=1, name="矩陣流程 matrix", xml="<definitions/>")
    return definition


@sample_factory(ProcessDefinition)
def process_definition(owner, serial):
    record = ProcessDefinition.objects.create(key=f"matrix{serial}", version=1, name=f"矩陣流程{serial} matrix", xml="<definitions/>")
    return record, None, None


@sample_factory(ProcessInstance)
def process_instance(owner, serial):
    record = ProcessInstance.objects.create(definition=_definition(), title=f"矩陣申請{serial} matrix", initiator=owner)
    return record, owner, owner.department
