"""Everything that touches SpiffWorkflow: reading a BPMN file (with the checks that refuse what
Qinglan does not run), the restricted script engine, and turning a workflow into JSON and
back. services.py builds the business verbs (deploy, start, complete, withdraw) on this.

Qinglan's own properties live in the BPMN file as attributes in the namespace
``urn:qinglan:bpmn`` (prefix ``qinglan``):

- on a ``userTask``: ``qinglan:assignee`` — who acts on the step (see assignees.py for the rules);
  ``qinglan:countersign`` — ``all``, ``any`` or ``quorum`` makes it a countersign (會簽) step
  signed by every member the rules find, with ``qinglan:quorum`` (``2`` or ``60%``) for a
  quorum and ``qinglan:signing`` ``parallel`` (the default) or ``sequential``;
  ``qinglan:due`` — an ISO 8601 duration (``P2D``, ``PT4H``) after which the step is overdue
  and escalated to the assignee's manager; ``qinglan:cc`` — assignee rules (comma-separated)
  of members who get a copy (抄送) when the step opens;
  ``qinglan:fields`` — how the process form's fields show at the step, as
  ``name:mode`` pairs (comma-separated) with mode ``hidden``, ``readonly`` or ``editable``;
  a field not named is read-only there;
- on the ``process``: ``qinglan:fallback`` — who gets a step whose rule finds nobody
  (``member:<username>``, ``role:<name>`` or ``superusers``); ``qinglan:starters`` — who may
  start it from the "Start a process" page (``role:<name>``, ``department:<code or ID>``,
  comma-separated; empty: everyone);
- in the process's ``extensionElements``: ``qinglan:formField`` elements, the form a member
  fills in to start it (``name``, ``label``, ``type`` — one of FIELD_TYPES —, ``required``,
  ``help``, and ``qinglan:option`` children with ``value`` and ``label`` for a choice). The
  values become the process data the gateways' conditions and ``field:<name>`` assignees read.

Countersign is Qinglan's, not BPMN multi-instance: the engine holds one user task, and each
signer has a task row under it; the engine task completes once the outcome is decided. The
signatures then live in indexed rows under the instance's row lock, so two signers at once,
a signer added later and a restart need nothing from the engine's multi-instance state.

Timers (intermediate catch events, boundary events on a step or call activity) take an ISO
8601 duration or date, written plainly (``PT4H``) or as a condition-language expression over
the data (``"P" + str(days) + "D"``). Call activities run the latest deployed version of the
process named by ``calledElement``, fixed when the instance starts.
"""

import ast
import keyword
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
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
    "terminateEventDefinition", "property", "callActivity", "subProcess", "intermediateCatchEvent", "boundaryEvent",
    "timerEventDefinition", "timeDuration", "timeDate", "timeCycle",
    "script",  # only inside a script task, which is refused itself
}
STEP_TAGS = ("userTask", "manualTask")
FIELD_TYPES = ("text", "longtext", "number", "decimal", "date", "choice", "member", "yesno", "attachment")
FIELD_MODES = ("hidden", "readonly", "editable")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
# names the engine itself puts in the process data, or the condition language reads as constants
RESERVED_FIELDS = {"outcome", "initiator", "record_owner", "true", "false", "null"}
MAX_FORM_FIELDS = 60
STARTER_PREFIXES = ("role", "department")
COUNTERSIGN_MODES = ("all", "any", "quorum")
ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
ISO_LITERAL = re.compile(r"^(R\d*/)?[0-9P][0-9A-Za-z:.+\-/]*$")
DESCRIBED = {
    "scriptTask": gettext_lazy("script tasks (scripts are not run: use conditions on the data)"),
    "serviceTask": gettext_lazy("service tasks"),
    "sendTask": gettext_lazy("send tasks"),
    "receiveTask": gettext_lazy("receive tasks"),
    "businessRuleTask": gettext_lazy("business rule tasks"),
    "adHocSubProcess": gettext_lazy("ad-hoc sub-processes"),
    "transaction": gettext_lazy("transactions"),
    "intermediateThrowEvent": gettext_lazy("intermediate events"),
    "eventBasedGateway": gettext_lazy("event-based gateways"),
    "complexGateway": gettext_lazy("complex gateways"),
    "messageEventDefinition": gettext_lazy("message events"),
    "signalEventDefinition": gettext_lazy("signal events"),
    "errorEventDefinition": gettext_lazy("error events"),
    "escalationEventDefinition": gettext_lazy("escalation events"),
    "conditionalEventDefinition": gettext_lazy("conditional events"),
    "multiInstanceLoopCharacteristics": gettext_lazy("multi-instance steps (use qinglan:countersign on the user task)"),
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
    called: list = field(default_factory=list)  # process IDs its call activities run
    form_fields: list = field(default_factory=list)  # the start form: [{"name", "label", "type", …}]
    starters: str = ""  # who may start it from the start page; empty: everyone


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


def _check_events(process):
    """Timers are the only events Qinglan waits for: an intermediate catch event or a boundary
    event must hold a timer (other event definitions are refused by name above), and a boundary
    timer sits on a step, a call activity or a sub-process."""
    for event in process.iter(f"{{{BPMN_NS}}}intermediateCatchEvent", f"{{{BPMN_NS}}}boundaryEvent"):
        timers = event.findall(f"{{{BPMN_NS}}}timerEventDefinition")
        if len(timers) != 1:
            raise DefinitionError(_("The event “%(event)s” must wait for exactly one timer; other events are not supported yet.") % {"event": event.get("id")})
        if _local(event.tag) == "boundaryEvent":
            attached = process.xpath(".//*[@id=$ref]", ref=event.get("attachedToRef") or "")
            if not attached or _local(attached[0].tag) not in (*STEP_TAGS, "callActivity", "subProcess"):
                raise DefinitionError(_("The timer “%(event)s” must be attached to a user task, a call activity or a sub-process.") % {"event": event.get("id")})
        _check_timer(event.get("id"), timers[0], cycle_allowed=_local(event.tag) == "boundaryEvent" and event.get("cancelActivity", "true") == "false")


def _check_timer(event_id, timer, *, cycle_allowed):
    values = [child for child in timer if _local(child.tag) in ("timeDuration", "timeDate", "timeCycle")]
    if len(values) != 1 or not (values[0].text or "").strip():
        raise DefinitionError(_("The timer “%(event)s” needs one duration, date or cycle.") % {"event": event_id})
    kind, text = _local(values[0].tag), values[0].text.strip()
    if kind == "timeCycle" and not cycle_allowed:
        raise DefinitionError(_("The timer “%(event)s” repeats; only a non-interrupting boundary timer may repeat.") % {"event": event_id})
    if ISO_LITERAL.match(text):
        _check_timer_value(event_id, kind, text)
        return
    try:
        tree = expressions.parse(text)
    except expressions.ExpressionError as error:
        raise DefinitionError(_("Timer “%(event)s”: %(error)s") % {"event": event_id, "error": error}) from None
    if isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str):
        _check_timer_value(event_id, kind, tree.body.value)


def _check_timer_value(event_id, kind, value):
    try:
        if kind == "timeDuration":
            if not ISO_DURATION.match(value.upper()):
                raise ValueError(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # noqa: BLE001 — SpiffWorkflow's parsers raise bare Exceptions
        raise DefinitionError(
            _("The timer “%(event)s” has “%(value)s”, which is not an ISO 8601 duration (P2D, PT4H), date (2027-01-31T09:00) or cycle (R3/PT1H).")
            % {"event": event_id, "value": value}
        ) from None


def parse_duration(value):
    """A timedelta for an ISO 8601 duration of days, weeks, hours, minutes and seconds (a step's
    deadline); raises ValueError for anything else, years and months included (they have no
    fixed length)."""
    match = ISO_DURATION.match((value or "").strip().upper())
    if not match or match.group(1) or match.group(2):
        raise ValueError(value)
    parsed = TimerEventDefinition.parse_iso_duration(value.strip().upper())
    return timedelta(**{unit: amount for unit, amount in parsed.items()})


def _countersign(task):
    mode = (task.get(f"{{{QINGLAN_NS}}}countersign") or "").strip()
    if not mode:
        return None
    step = task.get("id")
    if mode not in COUNTERSIGN_MODES:
        raise DefinitionError(_("Step “%(step)s”: countersign must be all, any or quorum, not “%(mode)s”.") % {"step": step, "mode": mode})
    signing = (task.get(f"{{{QINGLAN_NS}}}signing") or "parallel").strip()
    if signing not in ("parallel", "sequential"):
        raise DefinitionError(_("Step “%(step)s”: signing must be parallel or sequential, not “%(signing)s”.") % {"step": step, "signing": signing})
    quorum = (task.get(f"{{{QINGLAN_NS}}}quorum") or "").strip()
    if mode == "quorum":
        match = re.fullmatch(r"(\d+)(%?)", quorum)
        number = int(match.group(1)) if match else 0
        if not match or number < 1 or (match.group(2) and number > 100):
            raise DefinitionError(_("Step “%(step)s”: a quorum is a number of signers (2) or a percentage (60%%), not “%(quorum)s”.") % {"step": step, "quorum": quorum})
    elif quorum:
        raise DefinitionError(_("Step “%(step)s”: a quorum is only for countersign=\"quorum\".") % {"step": step})
    return {"mode": mode, "quorum": quorum, "sequential": signing == "sequential"}


def quorum_needed(countersign, signer_count):
    """How many approvals decide a countersign step with `signer_count` signers."""
    if countersign["mode"] == "all":
        return signer_count
    if countersign["mode"] == "any":
        return 1
    quorum = countersign["quorum"]
    needed = math.ceil(signer_count * int(quorum[:-1]) / 100) if quorum.endswith("%") else int(quorum)
    return max(1, min(needed, signer_count))  # never more than there are signers


def _form_fields(process):
    """The start form declared in the process's extension elements (qinglan:formField)."""
    extensions = process.find(f"{{{BPMN_NS}}}extensionElements")
    elements = extensions.findall(f"{{{QINGLAN_NS}}}formField") if extensions is not None else []
    if len(elements) > MAX_FORM_FIELDS:
        raise DefinitionError(_("The form has more than %(count)d fields.") % {"count": MAX_FORM_FIELDS})
    fields, names = [], set()
    for element in elements:
        name = (element.get("name") or "").strip()
        if not FIELD_NAME.match(name) or keyword.iskeyword(name) or name in RESERVED_FIELDS:
            raise DefinitionError(
                _("Form field “%(name)s”: a field name starts with a letter, holds only letters, digits and _ (at most 40) and is not outcome, initiator or record_owner.")
                % {"name": name}
            )
        if name in names:
            raise DefinitionError(_("The form has two fields named “%(name)s”.") % {"name": name})
        names.add(name)
        kind = (element.get("type") or "text").strip()
        if kind not in FIELD_TYPES:
            raise DefinitionError(
                _("Form field “%(name)s”: the type “%(type)s” is not one of %(types)s.") % {"name": name, "type": kind, "types": ", ".join(FIELD_TYPES)}
            )
        options, values = [], set()
        for option in element.findall(f"{{{QINGLAN_NS}}}option"):
            value = (option.get("value") or "").strip()[:100]
            if not value or value in values:
                raise DefinitionError(_("Form field “%(name)s”: every option needs a value of its own.") % {"name": name})
            values.add(value)
            options.append({"value": value, "label": (option.get("label") or "").strip()[:200] or value})
        if kind == "choice" and not options:
            raise DefinitionError(_("Form field “%(name)s”: a choice needs options.") % {"name": name})
        if kind != "choice" and options:
            raise DefinitionError(_("Form field “%(name)s”: only a choice has options.") % {"name": name})
        entry = {
            "name": name, "label": (element.get("label") or "").strip()[:200] or name, "type": kind,
            "required": (element.get("required") or "").strip().lower() == "true", "help": (element.get("help") or "").strip()[:500],
        }
        if options:
            entry["options"] = options
        fields.append(entry)
    return fields


def _starters(process):
    text = (process.get(f"{{{QINGLAN_NS}}}starters") or "").strip()
    rules = assignees.split_rules(text)
    for rule in rules:
        prefix, _sep, value = rule.partition(":")
        if prefix.strip() not in STARTER_PREFIXES or not value.strip():
            raise DefinitionError(
                _("Who may start it: “%(rule)s” is not role:<role name> or department:<code or ID> (empty: everyone).") % {"rule": rule}
            )
    return ", ".join(f"{rule.partition(':')[0].strip()}:{rule.partition(':')[2].strip()}" for rule in rules)


def _step_fields(task, names):
    """{field name: mode} of a step's qinglan:fields; a field not named is read-only."""
    text = (task.get(f"{{{QINGLAN_NS}}}fields") or "").strip()
    modes = {}
    for part in assignees.split_rules(text):
        name, _sep, mode = (piece.strip() for piece in part.partition(":"))
        if name not in names:
            raise DefinitionError(_("Step “%(step)s”: the form has no field “%(name)s”.") % {"step": task.get("id"), "name": name})
        if mode not in FIELD_MODES:
            raise DefinitionError(
                _("Step “%(step)s”: the field “%(name)s” is hidden, readonly or editable, not “%(mode)s”.") % {"step": task.get("id"), "name": name, "mode": mode}
            )
        modes[name] = mode
    return modes


def _task_rules(process, form_fields=()):
    names = {entry["name"] for entry in form_fields}
    rules = {}
    for task in process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in STEP_TAGS)):
        step = task.get("id")
        rule = (task.get(f"{{{QINGLAN_NS}}}assignee") or "").strip()
        countersign = _countersign(task)
        try:
            assignees.check_rule(rule, several=countersign is not None)
        except ValueError as error:
            raise DefinitionError(_("Step “%(step)s”: %(error)s") % {"step": step, "error": error}) from None
        due = (task.get(f"{{{QINGLAN_NS}}}due") or "").strip()
        if due:
            try:
                parse_duration(due)
            except ValueError:
                raise DefinitionError(
                    _("Step “%(step)s”: the deadline “%(due)s” is not an ISO 8601 duration in weeks, days, hours or minutes (P2D, PT4H).") % {"step": step, "due": due}
                ) from None
        cc = (task.get(f"{{{QINGLAN_NS}}}cc") or "").strip()
        try:
            assignees.check_rule(cc, several=True)
        except ValueError as error:
            raise DefinitionError(_("Step “%(step)s”, copy to: %(error)s") % {"step": step, "error": error}) from None
        rules[step] = {"name": task.get("name") or step, "assignee": rule}
        if countersign:
            rules[step]["countersign"] = countersign
        if due:
            rules[step]["due"] = due
        if cc:
            rules[step]["cc"] = cc
        fields = _step_fields(task, names)
        if fields:
            rules[step]["fields"] = fields
    return rules


def called_processes(xml):
    """The process IDs the call activities of a (deployed) file name."""
    root = _read_xml(xml)
    return sorted({c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity") if c.get("calledElement")})


def read_definition(xml, *, called=None):
    """Check a BPMN file thoroughly and return what Qinglan keeps of it; raises DefinitionError
    (with a translated reason) for anything malformed, invalid or unsupported. `called` maps the
    process IDs of deployed processes to their XML, for call activities."""
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
    _check_events(process)
    form_fields = _form_fields(process)
    starters = _starters(process)
    rules = _task_rules(process, form_fields)
    process_id = process.get("id")
    called_ids = sorted({c.get("calledElement") for c in process.iter(f"{{{BPMN_NS}}}callActivity")})
    for key in called_ids:
        if not key:
            raise DefinitionError(_("A call activity does not say which process it calls (calledElement)."))
        if key == process_id:
            raise DefinitionError(_("The process calls itself (“%(key)s”).") % {"key": key})
        if key not in (called or {}):
            raise DefinitionError(_("The call activity calls the process “%(key)s”, which is not deployed; deploy it first.") % {"key": key})
    if process_id in (called or {}):
        raise DefinitionError(_("The process calls itself through the processes it calls (“%(key)s”).") % {"key": process_id})
    if not rules and not called_ids:
        raise DefinitionError(_("The process has no user task, so nobody would ever approve anything."))
    fallback = (process.get(f"{{{QINGLAN_NS}}}fallback") or "").strip()
    if fallback:
        try:
            assignees.check_fallback(fallback)
        except ValueError as error:
            raise DefinitionError(_("Fallback assignee: %(error)s") % {"error": error}) from None
    try:
        _parse_spec(root, process_id, called or {})
    except DefinitionError:
        raise
    except (ValidationException, SpiffWorkflowException) as error:
        raise DefinitionError(_("The process cannot be run: %(error)s") % {"error": _first_line(error)}) from None
    return ParsedDefinition(
        process_id=process_id, name=process.get("name") or process_id, task_rules=rules, fallback=fallback, called=called_ids,
        form_fields=form_fields, starters=starters,
    )


def _quote_plain_timers(specs):
    """A timer written plainly (PT4H, as other modelers write it) becomes the string literal the
    engine evaluates; expressions are left as they are."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition) and ISO_LITERAL.match((definition.expression or "").strip()):
                definition.expression = repr(definition.expression.strip())


def _parse_spec(root, process_id, called):
    parser = BpmnParser()
    parser.add_bpmn_xml(root)
    for xml in called.values():
        parser.add_bpmn_xml(_read_xml(xml))
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    _quote_plain_timers([spec, *subprocess_specs.values()])
    # SpiffWorkflow checks that every flow leads somewhere and that each task is sound.
    for task_spec in spec.task_specs.values():
        task_spec.test()
    return spec, subprocess_specs


# ---- running and persisting ----------------------------------------------------------------


def new_workflow(xml, process_id, data, called=None):
    """A new workflow of the (already deployed, so already checked) BPMN file, with `data`
    given to its start; `called`: the XML of the processes its call activities run."""
    spec, subprocess_specs = _parse_spec(_read_xml(xml), process_id, called or {})
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine())
    start = workflow.get_next_task(state=TaskState.READY)
    start.data.update(data)
    return workflow


def run(workflow):
    """Run the engine's own steps (gateways, events, due timers) until the workflow waits for
    people or for time."""
    workflow.do_engine_steps()


def fire_timers(workflow):
    """Let the timers whose time has come fire, and run on from them."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


def next_timer(workflow):
    """When the earliest timer the workflow waits for is due (UTC), or None."""
    moments = []
    for event in workflow.waiting_events():
        if "Timer" not in event.event_type or event.value is None:
            continue
        value = event.value.get("next") if isinstance(event.value, dict) else event.value
        try:
            moments.append(TimerEventDefinition.get_datetime(value))
        except (TypeError, ValueError):
            continue
    return min(moments) if moments else None


def ready_user_tasks(workflow):
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def complete_user_task(workflow, task_id, data):
    task = workflow.get_task_from_id(task_id)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def process_id_of(task):
    """The ID of the process (or embedded sub-process) a task belongs to."""
    return task.workflow.spec.name


def leads_to(workflow, earlier_id, later_id):
    """Did the task `earlier_id` come before `later_id` on the same path (not on a parallel
    branch)? Crosses from a called process into the call activity that runs it."""
    earlier, task = workflow.get_task_from_id(earlier_id), workflow.get_task_from_id(later_id)
    while task is not None:
        if task.is_descendant_of(earlier) or task is earlier:
            return True
        parent_id = task.workflow.parent_task_id
        task = workflow.get_task_from_id(parent_id) if parent_id is not None else None
    return False


def has_task(workflow, task_id):
    """Is `task_id` in the workflow's tree still (running it again from its start drops it)?"""
    try:
        return workflow.get_task_from_id(task_id) is not None
    except TaskNotFoundException:
        return False


def is_ready(workflow, task_id):
    task = workflow.get_task_from_id(task_id)
    return task is not None and task.state == TaskState.READY


def return_to(workflow, task_id):
    """Send the workflow back to a step it has completed: that step is ready again and whatever
    followed it is undone."""
    workflow.reset_from_task_id(task_id)
    workflow.do_engine_steps()


def restart_with(workflow, values):
    """Run the process again from its start event with `values` merged into its data (the
    initiator corrected the form of a request returned to them): whatever followed the start is
    undone and the gateways on the way read the new values. Without a start event to run again
    from, the steps open now get the values."""
    from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

    start = next((task for task in workflow.task_tree if isinstance(task.task_spec, StartEvent)), None)
    if start is None:
        for task in ready_user_tasks(workflow):
            task.data.update(values)
        return
    start.parent.data.update(values)  # the start event takes its data from here as it runs
    workflow.reset_from_task_id(start.id)
    workflow.do_engine_steps()


def jump_to(workflow, bpmn_id):
    """Move the workflow to the step `bpmn_id` (an administrator's correction): back to it when
    it was completed before, or forward to it when it lies ahead of a step that is ready now, the
    steps in between counted as passed and the branches that are not taken dropped. Raises
    DefinitionError when the step cannot be reached from where the workflow is."""
    if any(t.task_spec.bpmn_id == bpmn_id for t in ready_user_tasks(workflow)):
        return  # it is open now: the caller opens it afresh
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == bpmn_id and t.task_spec.manual]
    if done:
        return_to(workflow, done[-1].id)
        return
    ahead = [t for t in workflow.get_tasks(state=TaskState.PREDICTED_MASK | TaskState.FUTURE) if t.task_spec.bpmn_id == bpmn_id]
    for target in ahead:
        path, node = [], target.parent
        while node is not None and node.state != TaskState.READY:
            if node.state not in (TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE):
                node = None
                break
            path.append(node)
            node = node.parent
        if node is None or not node.task_spec.manual:
            continue
        path.append(node)
        on_path = {task.id for task in path} | {target.id}
        for task in reversed(path):
            for child in list(task.children):
                if child.id not in on_path:
                    child.cancel()
            task._set_state(TaskState.COMPLETED)
        target._set_state(TaskState.READY)
        workflow.do_engine_steps()
        return
    raise DefinitionError(_("The step “%(step)s” cannot be reached from where the process is now.") % {"step": bpmn_id})


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
