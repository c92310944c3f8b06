"""BPMN files from other modelers (Camunda, Signavio, Zeebe, bpmn.io) made ready for Qinglan's
engine, or refused with the reason: what has a plain equivalent is converted (conditions
written as ``${amount > 1000}``, Camunda's assignee and candidate groups, a single pool around
the process, a process not marked executable) and every conversion is reported; everything
else goes through the engine's own checks (engine.read_definition), so an import is exactly as
strict as a deployment. Nothing here deploys anything."""

import re

from django.utils.translation import gettext as _
from lxml import etree

from . import engine
from .engine import BPMN_NS, QINGLAN_NS, DefinitionError

CAMUNDA_NS = ("http://camunda.org/schema/1.0/bpmn", "http://activiti.org/bpmn", "http://flowable.org/bpmn")
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
EL_EXPRESSION = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
PLAIN_NAME = re.compile(r"^[\w.\-@]+$")


def _q(ns, tag):
    return f"{{{ns}}}{tag}"


def _el_to_condition(text):
    """``${amount > 1000 && category == 'travel'}`` → ``amount > 1000 and category == 'travel'``."""
    match = EL_EXPRESSION.match(text or "")
    if not match:
        return None
    body = match.group(1).strip()
    body = re.sub(r"\s*&&\s*", " and ", body)
    body = re.sub(r"\s*\|\|\s*", " or ", body)
    body = re.sub(r"!(?!=)\s*", "not ", body)
    return body


def _foreign_attr(element, name):
    for ns in CAMUNDA_NS:
        value = element.get(_q(ns, name))
        if value is not None:
            return value.strip()
    return None


def prepare_bpmn(xml):
    """(XML text ready for the engine, [notes on what was converted]); raises DefinitionError
    with the reason when the file cannot run here."""
    root = engine._read_xml(xml)
    notes = []
    processes = root.findall(_q(BPMN_NS, "process"))
    collaboration = root.find(_q(BPMN_NS, "collaboration"))
    if collaboration is not None:
        participants = collaboration.findall(_q(BPMN_NS, "participant"))
        with_process = [p for p in participants if p.get("processRef")]
        if collaboration.findall(_q(BPMN_NS, "messageFlow")) or len(with_process) != 1:
            raise DefinitionError(_("The file holds several pools or message flows between them; Qinglan runs one process per file."))
        participant = with_process[0]
        # the diagram drew the pool: it becomes the process's own plane
        for plane in root.iter(_q(BPMNDI_NS, "BPMNPlane")):
            if plane.get("bpmnElement") == collaboration.get("id"):
                plane.set("bpmnElement", participant.get("processRef"))
        lanes = {lane.get("id") for lane in root.iter(_q(BPMN_NS, "lane"))}
        for shape in list(root.iter(_q(BPMNDI_NS, "BPMNShape"))):
            if shape.get("bpmnElement") == participant.get("id") or shape.get("bpmnElement") in lanes:
                shape.getparent().remove(shape)  # lanes are drawn inside their pool only
        root.remove(collaboration)
        notes.append(_("The pool “%(pool)s” was removed; its process is kept.") % {"pool": participant.get("name") or participant.get("id")})
    executable = [p for p in processes if p.get("isExecutable", "true").lower() != "false"]
    if not executable and len(processes) == 1:
        processes[0].set("isExecutable", "true")
        notes.append(_("The process was not marked executable; it is now."))
    for expression in root.iter(_q(BPMN_NS, "conditionExpression")):
        converted = _el_to_condition(expression.text)
        if converted is not None:
            notes.append(_("Condition “%(before)s” became “%(after)s”.") % {"before": expression.text.strip(), "after": converted})
            expression.text = converted
        for attribute in ("language",):
            if expression.get(attribute):
                del expression.attrib[attribute]
    for task in root.iter(_q(BPMN_NS, "userTask")):
        if task.get(_q(QINGLAN_NS, "assignee")):
            continue
        assignee, groups = _foreign_attr(task, "assignee"), _foreign_attr(task, "candidateGroups")
        rule = None
        if assignee and assignee.replace(" ", "") in ("${initiator}", "#{initiator}"):
            rule = "initiator"
        elif assignee and PLAIN_NAME.match(assignee):
            rule = f"member:{assignee}"
        elif groups and "," not in groups and PLAIN_NAME.match(groups.replace(" ", "")):
            rule = f"role:{groups}"
        if rule:
            task.set(_q(QINGLAN_NS, "assignee"), rule)
            notes.append(_("Step “%(step)s”: assignee rule %(rule)s.") % {"step": task.get("name") or task.get("id"), "rule": rule})
        elif assignee or groups:
            notes.append(
                _("Step “%(step)s”: the assignee “%(assignee)s” of the other modeler has no equivalent; the process fallback acts on it until you set a rule.")
                % {"step": task.get("name") or task.get("id"), "assignee": assignee or groups}
            )
    etree.cleanup_namespaces(root, top_nsmap={"qinglan": QINGLAN_NS})
    text = etree.tostring(root, encoding="unicode")
    if root.find(f".//{_q(BPMNDI_NS, 'BPMNDiagram')}") is None:
        notes.append(_("The file has no diagram; it can be deployed, but the designer and the instance page cannot draw it."))
    return text, notes


def check(xml, *, called=None):
    """prepare_bpmn, then the engine's checks: (xml, notes, parsed definition)."""
    text, notes = prepare_bpmn(xml)
    parsed = engine.read_definition(text, called=called)
    return text, notes, parsed
