"""Everything that touches SpiffWorkflow: reading a BPMN file (with the checks that refuse what
Qinglan does not run), the restricted script engine, and turning a workflow into JSON and
back. services.py builds the business verbs (deploy, start, complete, withdraw) on this.

Qinglan's own properties live in the BPMN file as attributes in the namespace
``urn:qinglan:bpmn`` (prefix ``qinglan``):

- on a ``userTask``: ``qinglan:assignee`` — who acts on the step (see assignees.py for the rules);
- on the ``process``: ``qinglan:fallback`` — who gets a step whose rule finds nobody
  (``member:<username>``, ``role:<name>`` or ``superusers``).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import assignees, expressions

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
QINGLAN_NS = "urn:qinglan:bpmn"
MAX_XML_BYTES = 2 * 1024 * 1024

# What this slice runs. Elements of a process outside this set are refused at deployment with
# their name, rather than deployed and failing (or silently doing nothing) later.
SUPPORTED = {
    "startEvent", "endEvent", "userTask", "task", "manualTask", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "sequenceFlow", "conditionExpression", "incoming", "outgoing", "documentation",
    "extensionElements", "laneSet", "lane", "flowNodeRef", "textAnnotation", "text", "association",
    "terminateEventDefinition", "property",
    "script",  # only inside a script task, which is refused itself
}
DESCRIBED = {
    "scriptTask": gettext_lazy("script tasks (scripts are not run: use conditions on the data)"),
    "serviceTask": gettext_lazy("service tasks"),
    "sendTask": gettext_lazy("send tasks"),
    "receiveTask": gettext_lazy("receive tasks"),
    "businessRuleTask": gettext_lazy("business rule tasks"),
    "callActivity": gettext_lazy("call activities (sub-processes)"),
    "subProcess": gettext_lazy("sub-processes"),
    "adHocSubProcess": gettext_lazy("sub-processes"),
    "transaction": gettext_lazy("transactions"),
    "boundaryEvent": gettext_lazy("boundary events"),
    "intermediateCatchEvent": gettext_lazy("intermediate events"),
    "intermediateThrowEvent": gettext_lazy("intermediate events"),
    "eventBasedGateway": gettext_lazy("event-based gateways"),
    "complexGateway": gettext_lazy("complex gateways"),
    "timerEventDefinition": gettext_lazy("timers"),
    "messageEventDefinition": gettext_lazy("message events"),
    "signalEventDefinition": gettext_lazy("signal events"),
    "errorEventDefinition": gettext_lazy("error events"),
    "escalationEventDefinition": gettext_lazy("escalation events"),
    "conditionalEventDefinition": gettext_lazy("conditional events"),
    "multiInstanceLoopCharacteristics": gettext_lazy("multi-instance steps (countersign)"),
    "standardLoopCharacteristics": gettext_lazy("loops"),
    "dataObject": gettext_lazy("data objects"),
    "dataObjectReference": gettext_lazy("data objects"),
    "dataStoreReference": gettext_lazy("data stores"),
    "dataInputAssociation": gettext_lazy("data associations"),
    "dataOutputAssociation": gettext_lazy("data associations"),
}


class DefinitionError(ValueError):
    """A BPMN file Qinglan refuses to deploy; the message says why, in the member's language."""


@dataclass
class ParsedDefinition:
    process_id: str
    name: str
    task_rules: dict = field(default_factory=dict)
    fallback: str = ""


# ---- the restricted script engine --------------------------------------------------------


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Conditions go through expressions.evaluate; scripts and service calls are refused."""

    def evaluate(self, expression, context, external_context=None):
        return expressions.evaluate(expression, {**(external_context or {}), **context})

    def execute(self, script, context, external_context=None):
        raise expressions.ExpressionError(_("Scripts are not run by Qinglan's workflow engine."))

    def call_service(self, context, **kwargs):
        raise expressions.ExpressionError(_("Service tasks are not run by Qinglan's workflow engine."))


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression):
        expressions.check(expression)


def script_engine():
    return RestrictedScriptEngine()


# ---- reading a BPMN file -------------------------------------------------------------------


def _local(tag):
    return etree.QName(tag).localname if isinstance(tag, str) else None


def _read_xml(xml):
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if len(data) > MAX_XML_BYTES:
        raise DefinitionError(_("The file is larger than %(size)d MB.") % {"size": MAX_XML_BYTES // (1024 * 1024)})
    # No DTDs, entities or network: a BPMN file has no use for them, and they are how XML
    # bombs and file reads get in.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise DefinitionError(_("The file is not well-formed XML: %(error)s") % {"error": error}) from None
    if root.getroottree().docinfo.doctype:
        raise DefinitionError(_("The file has a document type declaration, which BPMN files do not need."))
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DefinitionError(_("This is not a BPMN 2.0 file: its root element should be bpmn:definitions."))
    return root


def _check_schema(root):
    try:
        BpmnValidator().validate(root)
    except ValidationException as error:
        raise DefinitionError(_("The file is not valid BPMN 2.0: %(error)s") % {"error": _first_line(error)}) from None


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _check_supported(process):
    refused = {}
    for element in process.iterdescendants():
        name = _local(element.tag)
        if name is None or etree.QName(element.tag).namespace != BPMN_NS:
            continue  # comments and other tools' extension elements
        if name not in SUPPORTED:
            refused.setdefault(str(DESCRIBED.get(name, name)), element.get("id") or name)
    if refused:
        parts = [f"{what} ({where})" for what, where in sorted(refused.items())]
        raise DefinitionError(_("This process uses elements Qinglan does not run yet: %(elements)s.") % {"elements": "; ".join(parts)})


def _check_flows(process):
    ids = {element.get("id") for element in process.iterdescendants() if element.get("id")}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for end in ("sourceRef", "targetRef"):
            if flow.get(end) not in ids:
                raise DefinitionError(
                    _("The flow “%(flow)s” points to “%(target)s”, which is not in the process.") % {"flow": flow.get("id"), "target": flow.get(end)}
                )


def _check_conditions(process):
    for expression in process.iter(f"{{{BPMN_NS}}}conditionExpression"):
        flow = expression.getparent().get("id")
        try:
            expressions.check(expression.text or "")
        except expressions.ExpressionError as error:
            raise DefinitionError(_("Condition of the flow “%(flow)s”: %(error)s") % {"flow": flow, "error": error}) from None
    for gateway in process.iter(f"{{{BPMN_NS}}}exclusiveGateway", f"{{{BPMN_NS}}}inclusiveGateway"):
        outgoing = [flow for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow") if flow.get("sourceRef") == gateway.get("id")]
        if len(outgoing) > 1:
            for flow in outgoing:
                if flow.find(f"{{{BPMN_NS}}}conditionExpression") is None and gateway.get("default") != flow.get("id"):
                    raise DefinitionError(
                        _("The flow “%(flow)s” leaves the gateway “%(gateway)s” without a condition and is not its default flow.")
                        % {"flow": flow.get("id"), "gateway": gateway.get("id")}
                    )


def _task_rules(process):
    rules = {}
    for task in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask"):
        rule = (task.get(f"{{{QINGLAN_NS}}}assignee") or "").strip()
        try:
            assignees.check_rule(rule)
        except ValueError as error:
            raise DefinitionError(_("Step “%(step)s”: %(error)s") % {"step": task.get("id"), "error": error}) from None
        rules[task.get("id")] = {"name": task.get("name") or task.get("id"), "assignee": rule}
    return rules


def read_definition(xml):
    """Check a BPMN file thoroughly and return what Qinglan keeps of it; raises DefinitionError
    (with a translated reason) for anything malformed, invalid or unsupported."""
    root = _read_xml(xml)
    _check_schema(root)
    processes = [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("isExecutable", "true").lower() != "false"]
    if len(processes) != 1:
        raise DefinitionError(_("The file must hold exactly one executable process; it holds %(count)d.") % {"count": len(processes)})
    if root.find(f"{{{BPMN_NS}}}collaboration") is not None:
        raise DefinitionError(_("Collaborations (pools and message flows) are not supported yet."))
    process = processes[0]
    _check_supported(process)
    _check_flows(process)
    _check_conditions(process)
    rules = _task_rules(process)
    if not rules:
        raise DefinitionError(_("The process has no user task, so nobody would ever approve anything."))
    fallback = (process.get(f"{{{QINGLAN_NS}}}fallback") or "").strip()
    if fallback:
        try:
            assignees.check_fallback(fallback)
        except ValueError as error:
            raise DefinitionError(_("Fallback assignee: %(error)s") % {"error": error}) from None
    process_id = process.get("id")
    try:
        _parse_spec(root, process_id)
    except DefinitionError:
        raise
    except (ValidationException, SpiffWorkflowException) as error:
        raise DefinitionError(_("The process cannot be run: %(error)s") % {"error": _first_line(error)}) from None
    return ParsedDefinition(process_id=process_id, name=process.get("name") or process_id, task_rules=rules, fallback=fallback)


def _parse_spec(root, process_id):
    parser = BpmnParser()
    parser.add_bpmn_xml(root)
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    # SpiffWorkflow checks that every flow leads somewhere and that each task is sound.
    for task_spec in spec.task_specs.values():
        task_spec.test()
    return spec, subprocess_specs


# ---- running and persisting ----------------------------------------------------------------


def new_workflow(xml, process_id, data):
    """A new workflow of the (already deployed, so already checked) BPMN file, with `data`
    given to its start."""
    spec, subprocess_specs = _parse_spec(_read_xml(xml), process_id)
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine())
    start = workflow.get_next_task(state=TaskState.READY)
    start.data.update(data)
    return workflow


def run(workflow):
    """Run the engine's own steps (gateways, events) until the workflow waits for people."""
    workflow.do_engine_steps()


def ready_user_tasks(workflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def complete_user_task(workflow, task_id, data):
    task = workflow.get_task_from_id(task_id)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def cancel(workflow):
    workflow.cancel()


def dump(workflow):
    """The workflow as JSON text (it includes its own process spec, so a definition that is
    later replaced by a new version does not change a running instance)."""
    return BpmnWorkflowSerializer().serialize_json(workflow)


def load(state):
    workflow = BpmnWorkflowSerializer().deserialize_json(state)
    workflow.script_engine = script_engine()
    return workflow


def engine_error_message(error):
    """A clear, translated message for an error raised while the engine ran."""
    cause = error
    while cause is not None and not isinstance(cause, expressions.ExpressionError):
        cause = getattr(cause, "exception", None) or cause.__cause__ or cause.__context__
        if cause is error:
            break
    if isinstance(cause, expressions.ExpressionError):
        return str(cause)
    return _("The process could not continue: %(error)s") % {"error": _first_line(error)}
