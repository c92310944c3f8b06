"""XPDL 2.x (the WfMC's process definition format, 2.0, 2.1 and 2.2, with XPDL 1.0-style
splits and joins on activities) converted to a BPMN 2.0 file with a diagram, which then goes
through the same checks as any BPMN deployment. What converts:

- activities performed by people (``Implementation/No`` or a ``Task`` for people, and
  activities with a performer) → user tasks; their performer → the assignee rule:
  a participant of type ROLE → ``role:<name>``, HUMAN → ``member:<id>``, ORGANIZATIONAL_UNIT →
  ``department:<id>``, a performer written as one of Qinglan's rules (``manager``…) as it is;
- routes (``Route GatewayType`` Exclusive/XOR, Parallel/AND, Inclusive/OR) → gateways, and
  the ``Split``/``Join`` of an activity with several transitions → a gateway after or before it;
- transitions → sequence flows; a ``CONDITION`` → the flow's condition (``&&``, ``||`` and
  ``!`` written as and, or, not), ``OTHERWISE`` → the gateway's default flow;
- start and end events (or, without them, the activities no transition enters or leaves);
- sub-flows (``SubFlow Id``) → call activities of that process (deploy it first);
- the activities' positions (``NodeGraphicsInfo``) or, without them, a left-to-right layout.

Anything else (scripts, tools and services, events other than start and end, exception
transitions, complex gateways) is refused with its name: nothing is deployed."""

import re
from collections import defaultdict

from django.utils.translation import gettext as _
from lxml import etree

from . import assignees, engine, expressions
from .engine import BPMN_NS, QINGLAN_NS, DefinitionError

XPDL_NAMESPACES = (
    "http://www.wfmc.org/2002/XPDL1.0", "http://www.wfmc.org/2004/XPDL2.0alpha", "http://www.wfmc.org/2008/XPDL2.1",
    "http://www.wfmc.org/2009/XPDL2.2",
)
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "qinglan": QINGLAN_NS}
GATEWAYS = {
    "exclusive": "exclusiveGateway", "xor": "exclusiveGateway", "parallel": "parallelGateway", "and": "parallelGateway",
    "inclusive": "inclusiveGateway", "or": "inclusiveGateway",
}
SIZES = {"userTask": (100, 80), "callActivity": (100, 80), "startEvent": (36, 36), "endEvent": (36, 36)}
GATEWAY_SIZE = (50, 50)
REFUSED_TASKS = {
    "TaskScript": "script", "TaskService": "service", "TaskSend": "send", "TaskReceive": "receive", "TaskReference": "reference",
    "TaskApplication": "application", "TaskBusinessRule": "business rule",
}


def looks_like_xpdl(data):
    head = data[:2000] if isinstance(data, bytes) else data[:2000].encode("utf-8", "replace")
    return b"wfmc.org" in head and b"Package" in head


def _local(tag):
    return etree.QName(tag).localname if isinstance(tag, str) else None


def _children(element, name):
    return [child for child in element if _local(child.tag) == name]


def _child(element, name):
    found = _children(element, name)
    return found[0] if found else None


def _find(element, *path):
    for name in path:
        if element is None:
            return None
        element = _child(element, name)
    return element


def _descendants(element, name):
    return [node for node in element.iter() if _local(node.tag) == name]


def _ncname(value, used):
    """A valid, unique BPMN ID for an XPDL Id."""
    text = re.sub(r"[^\w\-.]", "_", value or "") or "id"
    if not re.match(r"[A-Za-z_]", text):
        text = f"_{text}"
    candidate, number = text, 2
    while candidate in used:
        candidate, number = f"{text}_{number}", number + 1
    used.add(candidate)
    return candidate


def _condition(text, transition_id):
    converted = (text or "").strip()
    converted = re.sub(r"\s*&&\s*", " and ", converted)
    converted = re.sub(r"\s*\|\|\s*", " or ", converted)
    converted = re.sub(r"!(?!=)\s*", "not ", converted)
    converted = re.sub(r"\btrue\b", "True", converted)
    converted = re.sub(r"\bfalse\b", "False", converted)
    try:
        expressions.check(converted)
    except expressions.ExpressionError as error:
        raise DefinitionError(_("The condition of the transition “%(transition)s” cannot be converted: %(error)s") % {"transition": transition_id, "error": error}) from None
    return converted


def _read(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > engine.MAX_XML_BYTES:
        raise DefinitionError(_("The file is larger than %(size)d MB.") % {"size": engine.MAX_XML_BYTES // (1024 * 1024)})
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise DefinitionError(_("The file is not well-formed XML: %(error)s") % {"error": error}) from None
    if root.getroottree().docinfo.doctype:
        raise DefinitionError(_("The file has a document type declaration, which XPDL files do not need."))
    if _local(root.tag) != "Package" or etree.QName(root.tag).namespace not in XPDL_NAMESPACES:
        raise DefinitionError(_("This is not an XPDL file: its root element should be a Package of the WfMC's XPDL namespace."))
    return root


def _participants(*scopes):
    found = {}
    for scope in scopes:
        for participant in _descendants(_child(scope, "Participants") if _child(scope, "Participants") is not None else etree.Element("x"), "Participant"):
            kind = _child(participant, "ParticipantType")
            found[participant.get("Id")] = (participant.get("Name") or participant.get("Id"), (kind.get("Type") if kind is not None else "ROLE").upper())
    return found


def _performer_rule(activity, participants, notes, step):
    performers = [p.text.strip() for p in _descendants(activity, "Performer") if (p.text or "").strip()]
    if not performers:
        return ""
    if len(performers) > 1:
        notes.append(_("Step “%(step)s”: only the first of its performers is kept.") % {"step": step})
    performer = performers[0]
    if performer in assignees.RELATIVE_RULES:
        return performer
    try:
        assignees.check_rule(performer)
        if ":" in performer:
            return performer
    except ValueError:
        pass
    name, kind = participants.get(performer, (performer, "ROLE"))
    if kind == "HUMAN":
        return f"member:{performer}"
    if kind == "ORGANIZATIONAL_UNIT":
        return f"department:{performer}"
    if kind in ("ROLE", "ROLE_EXPRESSION"):
        return f"role:{name}"
    raise DefinitionError(
        _("Step “%(step)s” is performed by “%(performer)s”, a participant of type %(kind)s; only people, roles and departments act on steps here.")
        % {"step": step, "performer": name, "kind": kind}
    )


def _kind_of(activity, name):
    """(BPMN tag, extra) for an XPDL activity, or raise DefinitionError."""
    route = _child(activity, "Route")
    if route is not None:
        split, join = _split_join(activity)
        gateway = (route.get("GatewayType") or split or join or "Exclusive").lower()
        if gateway not in GATEWAYS:
            raise DefinitionError(_("The route “%(activity)s” is a %(kind)s gateway, which is not supported.") % {"activity": name, "kind": route.get("GatewayType")})
        return GATEWAYS[gateway], None
    event = _child(activity, "Event")
    if event is not None:
        which = next((child for child in event if _local(child.tag)), None)
        kind = _local(which.tag) if which is not None else ""
        trigger = (which.get("Trigger") or which.get("Result") or "None") if which is not None else "None"
        if kind == "StartEvent" and trigger == "None":
            return "startEvent", None
        if kind == "EndEvent" and trigger in ("None", "Terminate"):
            return "endEvent", trigger == "Terminate"
        raise DefinitionError(_("The event “%(activity)s” (%(kind)s %(trigger)s) is not supported; only plain start and end events are.") % {"activity": name, "kind": kind, "trigger": trigger})
    implementation = _child(activity, "Implementation")
    if implementation is not None:
        subflow = _child(implementation, "SubFlow")
        if subflow is not None:
            return "callActivity", subflow.get("Id")
        if _child(implementation, "Tool") is not None:
            raise DefinitionError(_("The activity “%(activity)s” runs a tool application, which is not supported; only people's steps are.") % {"activity": name})
        task = _child(implementation, "Task")
        if task is not None:
            for child in task:
                if _local(child.tag) in REFUSED_TASKS:
                    raise DefinitionError(
                        _("The activity “%(activity)s” is a %(kind)s task, which is not supported; only people's steps are.") % {"activity": name, "kind": REFUSED_TASKS[_local(child.tag)]}
                    )
    if _child(activity, "BlockActivity") is not None:
        raise DefinitionError(_("The activity “%(activity)s” is a block activity (activity set), which is not supported.") % {"activity": name})
    return "userTask", None


def _split_join(activity):
    restrictions = _descendants(activity, "TransitionRestriction")
    split = join = None
    for restriction in restrictions:
        for node in restriction:
            if _local(node.tag) == "Split" and node.get("Type"):
                split = node.get("Type").lower()
            if _local(node.tag) == "Join" and node.get("Type"):
                join = node.get("Type").lower()
    return split, join


def _position(activity):
    info = next(iter(_descendants(activity, "NodeGraphicsInfo")), None)
    coordinates = _child(info, "Coordinates") if info is not None else None
    if coordinates is None:
        return None
    try:
        return float(coordinates.get("XCoordinate")), float(coordinates.get("YCoordinate"))
    except (TypeError, ValueError):
        return None


def processes_of(data):
    """[(Id, Name)] of the package's processes."""
    root = _read(data)
    return [(p.get("Id"), p.get("Name") or p.get("Id")) for p in _descendants(root, "WorkflowProcess")]


def to_bpmn(data, process_id=None):
    """(BPMN XML, notes) for one process of an XPDL package: `process_id`, or the one no other
    process of the package calls (the main one). Raises DefinitionError with the reason."""
    root = _read(data)
    processes = _descendants(root, "WorkflowProcess")
    if not processes:
        raise DefinitionError(_("The package holds no process."))
    notes = []
    if process_id:
        chosen = [p for p in processes if p.get("Id") == process_id]
        if not chosen:
            raise DefinitionError(_("The package has no process “%(process)s”.") % {"process": process_id})
        process = chosen[0]
    else:
        called = {s.get("Id") for s in _descendants(root, "SubFlow")}
        main = [p for p in processes if p.get("Id") not in called] or processes
        process = main[0]
        others = [p.get("Name") or p.get("Id") for p in processes if p is not process]
        if others:
            notes.append(_("The package also holds: %(processes)s; import each one by its ID, the called ones first.") % {"processes": ", ".join(others)})
    return _convert(root, process, notes), notes


def _convert(root, process, notes):
    participants = _participants(root, process)
    used = set()
    process_id = _ncname(process.get("Id"), used)
    definitions = etree.Element(f"{{{BPMN_NS}}}definitions", nsmap=NSMAP, id=_ncname("definitions", used), targetNamespace="urn:qinglan:xpdl")
    bpmn_process = etree.SubElement(definitions, f"{{{BPMN_NS}}}process", id=process_id, name=process.get("Name") or process.get("Id"), isExecutable="true")
    nodes = {}  # XPDL Id -> {"id", "tag", "element", "position"}
    activities = _descendants(_child(process, "Activities") if _child(process, "Activities") is not None else etree.Element("x"), "Activity")
    if not activities:
        raise DefinitionError(_("The process “%(process)s” has no activities.") % {"process": process.get("Name") or process.get("Id")})
    transitions = []
    for transition in _descendants(_child(process, "Transitions") if _child(process, "Transitions") is not None else etree.Element("x"), "Transition"):
        transitions.append(transition)
    outgoing, incoming = defaultdict(list), defaultdict(list)
    for transition in transitions:
        outgoing[transition.get("From")].append(transition)
        incoming[transition.get("To")].append(transition)

    def add(tag, element_id, name="", **attributes):
        element = etree.SubElement(bpmn_process, f"{{{BPMN_NS}}}{tag}", id=element_id, **attributes)
        if name:
            element.set("name", name)
        return element

    for activity in activities:
        xpdl_id = activity.get("Id")
        name = activity.get("Name") or xpdl_id
        tag, extra = _kind_of(activity, name)
        element = add(tag, _ncname(xpdl_id, used), name if tag not in ("startEvent", "endEvent") or activity.get("Name") else "")
        if tag == "userTask":
            rule = _performer_rule(activity, participants, notes, name)
            if rule:
                element.set(f"{{{QINGLAN_NS}}}assignee", rule)
        elif tag == "callActivity":
            element.set("calledElement", extra or "")
        elif tag == "endEvent" and extra:
            etree.SubElement(element, f"{{{BPMN_NS}}}terminateEventDefinition", id=_ncname(f"{xpdl_id}_terminate", used))
        nodes[xpdl_id] = {"id": element.get("id"), "tag": tag, "element": element, "position": _position(activity)}
    for transition in transitions:
        for end in ("From", "To"):
            if transition.get(end) not in nodes:
                raise DefinitionError(_("The transition “%(transition)s” points to “%(activity)s”, which is not an activity of the process.") % {"transition": transition.get("Id"), "activity": transition.get(end)})

    flows = []  # (source BPMN id, target BPMN id, flow element)

    def flow(source, target, condition=None, flow_id=None):
        element = etree.SubElement(bpmn_process, f"{{{BPMN_NS}}}sequenceFlow", id=_ncname(flow_id or f"{source}_{target}", used), sourceRef=source, targetRef=target)
        if condition:
            expression = etree.SubElement(element, f"{{{BPMN_NS}}}conditionExpression")
            expression.text = condition
        flows.append((source, target, element))
        return element

    def gateway(kind, near):
        tag = GATEWAYS.get(kind, "exclusiveGateway")
        element = add(tag, _ncname(f"{near}_{kind}", used))
        gateway_id = element.get("id")
        nodes[gateway_id] = {"id": gateway_id, "tag": tag, "element": element, "position": None}
        return gateway_id

    # splits and joins written on activities (XPDL 1.0 style) become gateways
    source_of, target_of = {}, {}
    for xpdl_id, node in list(nodes.items()):
        if node["tag"] not in ("userTask", "callActivity"):
            continue
        activity = next(a for a in activities if a.get("Id") == xpdl_id)
        split, join = _split_join(activity)
        if len(outgoing[xpdl_id]) > 1:
            after = gateway(split or "xor", node["id"])
            flow(node["id"], after)
            source_of[xpdl_id] = after
        if len(incoming[xpdl_id]) > 1 and (join or "xor") in ("and", "or", "parallel", "inclusive"):
            before = gateway(join, node["id"])
            flow(before, node["id"])
            target_of[xpdl_id] = before
    defaults = {}
    for transition in transitions:
        source = source_of.get(transition.get("From"), nodes[transition.get("From")]["id"])
        target = target_of.get(transition.get("To"), nodes[transition.get("To")]["id"])
        condition = _child(transition, "Condition")
        kind = (condition.get("Type") or "CONDITION").upper() if condition is not None else ""
        text = "".join(condition.itertext()).strip() if condition is not None else ""
        if kind in ("EXCEPTION", "DEFAULTEXCEPTION"):
            raise DefinitionError(_("The transition “%(transition)s” is taken on an exception, which is not supported.") % {"transition": transition.get("Id")})
        element = flow(source, target, _condition(text, transition.get("Id")) if kind == "CONDITION" and text else None, flow_id=transition.get("Id"))
        if transition.get("Name"):
            element.set("name", transition.get("Name"))
        if kind == "OTHERWISE":
            defaults[source] = element.get("id")
    for gateway_id, flow_id in defaults.items():
        node = next((n for n in nodes.values() if n["id"] == gateway_id), None)
        if node is not None and node["tag"].endswith("Gateway") and node["tag"] != "parallelGateway":
            node["element"].set("default", flow_id)
    # a process without start or end events (XPDL 1.0 style) starts and ends where no transition does
    tags = {node["tag"] for node in nodes.values()}
    entered = {target for _source, target, _element in flows}
    left = {source for source, _target, _element in flows}
    if "startEvent" not in tags:
        start = add("startEvent", _ncname("start", used))
        nodes[start.get("id")] = {"id": start.get("id"), "tag": "startEvent", "element": start, "position": None}
        for node in list(nodes.values()):
            if node["id"] not in entered and node["tag"] != "startEvent":
                flow(start.get("id"), node["id"])
    if "endEvent" not in tags:
        end = add("endEvent", _ncname("end", used))
        nodes[end.get("id")] = {"id": end.get("id"), "tag": "endEvent", "element": end, "position": None}
        for node in list(nodes.values()):
            if node["id"] not in left and node["tag"] not in ("endEvent", "startEvent"):
                flow(node["id"], end.get("id"))
    _diagram(definitions, process_id, list(nodes.values()), flows)
    return etree.tostring(definitions, encoding="unicode", xml_declaration=False)


def _layout(nodes, flows):
    """Positions left to right by the longest path from a start, for nodes without their own."""
    by_id = {node["id"]: node for node in nodes}
    successors = defaultdict(list)
    for source, target, _element in flows:
        successors[source].append(target)
    depth = {node["id"]: 0 for node in nodes}
    for _round in range(len(nodes)):
        changed = False
        for source, target, _element in flows:
            if depth[target] < depth[source] + 1 and depth[source] + 1 <= len(nodes):
                depth[target] = depth[source] + 1
                changed = True
        if not changed:
            break
    rows = defaultdict(int)
    positions = {}
    for node_id in sorted(depth, key=lambda key: (depth[key], list(by_id).index(key))):
        positions[node_id] = (80 + depth[node_id] * 170, 80 + rows[depth[node_id]] * 130)
        rows[depth[node_id]] += 1
    return positions


def _diagram(definitions, process_id, nodes, flows):
    own = all(node["position"] is not None for node in nodes)
    positions = {node["id"]: node["position"] for node in nodes} if own else _layout(nodes, flows)
    diagram = etree.SubElement(definitions, f"{{{BPMNDI_NS}}}BPMNDiagram", id=f"{process_id}_diagram")
    plane = etree.SubElement(diagram, f"{{{BPMNDI_NS}}}BPMNPlane", id=f"{process_id}_plane", bpmnElement=process_id)
    bounds = {}
    for node in nodes:
        width, height = SIZES.get(node["tag"], GATEWAY_SIZE)
        x, y = positions[node["id"]]
        # a node's centre sits on its row, whatever its size
        top = y + (80 - height) / 2 if not own else y
        bounds[node["id"]] = (x, top, width, height)
        shape = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNShape", id=f"{node['id']}_di", bpmnElement=node["id"])
        etree.SubElement(shape, f"{{{DC_NS}}}Bounds", x=f"{x:g}", y=f"{top:g}", width=str(width), height=str(height))
    for source, target, element in flows:
        edge = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=f"{element.get('id')}_di", bpmnElement=element.get("id"))
        sx, sy, sw, sh = bounds[source]
        tx, ty, tw, th = bounds[target]
        etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=f"{sx + sw:g}", y=f"{sy + sh / 2:g}")
        etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=f"{tx:g}", y=f"{ty + th / 2:g}")
