"""The process designer: the bpmn-js modeler with Qinglan's side panel for the ``qinglan:``
attributes the engine reads. Saving deploys the drawing as the next version of its process
(running instances keep theirs) through the same checks as any deployment; importing a BPMN
file from another modeler (or an XPDL file, converted) loads it after the same checks, or
refuses it with the reason. Only members who may add process definitions use it."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from qinglan.core.permissions import has_permission

from . import engine, importers, services, xpdl
from .choices import ProcessKind, shown_name
from .models import ProcessDefinition

MAX_UPLOAD = engine.MAX_XML_BYTES
FIELD_TYPES = (
    ("text", gettext_lazy("text")), ("longtext", gettext_lazy("long text")), ("number", gettext_lazy("whole number")),
    ("decimal", gettext_lazy("decimal number")), ("date", gettext_lazy("date")), ("choice", gettext_lazy("choice")),
    ("member", gettext_lazy("member")), ("yesno", gettext_lazy("yes/no")), ("attachment", gettext_lazy("attachment")),
)

NEW_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:qinglan="urn:qinglan:bpmn" id="definitions" targetNamespace="urn:qinglan:processes">
  <bpmn:process id="new_process" name="" isExecutable="true">
    <bpmn:startEvent id="start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="new_process">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def may_design(user):
    return has_permission(user, ProcessDefinition, "add")


def _check_designer(request):
    if not may_design(request.user):
        raise PermissionDenied(_("Only members who may add process definitions may use the designer."))


def _called_xml(xml):
    try:
        keys = engine.called_processes(xml)
    except engine.DefinitionError:
        return {}
    return {key: definition.xml for key, definition in services.called_definitions(keys).items()}


def read_upload(upload, process_id=None):
    """(BPMN XML, notes) of an uploaded .bpmn/.xml or .xpdl file (`process_id`: which process
    of an XPDL package); raises DefinitionError."""
    if upload.size > MAX_UPLOAD:
        raise engine.DefinitionError(_("The file is larger than %(size)d MB.") % {"size": MAX_UPLOAD // (1024 * 1024)})
    data = upload.read()
    name = (upload.name or "").lower()
    if name.endswith(".xpdl") or xpdl.looks_like_xpdl(data):
        xml, notes = xpdl.to_bpmn(data, process_id=process_id or None)
        prepared, more = importers.prepare_bpmn(xml)
        return prepared, notes + more
    return importers.prepare_bpmn(data)


class DesignerView(View):
    template_name = "workflow/designer.html"

    def get(self, request, pk=None, copy=False):
        _check_designer(request)
        definition = get_object_or_404(ProcessDefinition, pk=pk) if pk else None
        keys = list(ProcessDefinition.objects.filter(active=True).order_by("key").values_list("key", flat=True).distinct())
        xml = definition.xml if definition else NEW_PROCESS
        copy_of = None
        if copy:
            copy_of = definition
            xml, new_key = services.copy_xml(definition)
            definition = ProcessDefinition(key=new_key, name=_("%(name)s (copy)") % {"name": shown_name(copy_of.name)}, kind=ProcessKind.CUSTOM)
        context = {
            "definition": definition,
            "copy_of": copy_of,
            "xml": xml,
            "kinds": ProcessKind.choices,
            "called_keys": keys,
            "designer_messages": designer_messages(),
            "field_types": FIELD_TYPES,
            "field_modes": [["readonly", _("read-only")], ["editable", _("editable")], ["hidden", _("hidden")]],
        }
        return render(request, self.template_name, context)


class DesignerCheckView(View):
    """POST an uploaded file (``file``) or the drawing (``xml``): the XML ready for the designer,
    what was converted, and whether it would deploy (or why not)."""

    def post(self, request):
        _check_designer(request)
        try:
            if "file" in request.FILES:
                xml, notes = read_upload(request.FILES["file"], request.POST.get("process", "").strip())
            else:
                xml, notes = importers.prepare_bpmn(request.POST.get("xml", ""))
            parsed = engine.read_definition(xml, called=_called_xml(xml))
        except engine.DefinitionError as error:
            return JsonResponse({"ok": False, "error": str(error)}, status=400)
        return JsonResponse({"ok": True, "xml": xml, "notes": notes, "key": parsed.process_id, "name": parsed.name, "steps": len(parsed.task_rules)})


class DesignerDeployView(View):
    """POST the drawing (``xml``, ``name``, ``kind``): deployed as the next version of its
    process, or refused with the reason and nothing deployed."""

    def post(self, request):
        _check_designer(request)
        kind = request.POST.get("kind") or ProcessKind.CUSTOM
        if kind not in ProcessKind.values:
            return JsonResponse({"ok": False, "error": _("Unknown kind of process.")}, status=400)
        try:
            xml, notes = importers.prepare_bpmn(request.POST.get("xml", ""))
            definition = services.deploy(xml=xml, user=request.user, name=request.POST.get("name", "").strip()[:200], kind=kind)
        except engine.DefinitionError as error:
            return JsonResponse({"ok": False, "error": str(error)}, status=400)
        except ValidationError as error:
            messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            return JsonResponse({"ok": False, "error": " ".join(m for ms in messages.values() for m in ms)}, status=400)
        return JsonResponse({
            "ok": True, "url": definition.get_absolute_url(), "designer": reverse("workflow:designer_edit", args=[definition.pk]),
            "message": _("Deployed %(process)s.") % {"process": definition}, "notes": notes,
        })


class DefinitionXmlView(View):
    """A deployed version as a BPMN 2.0 file."""

    def get(self, request, pk):
        definition = get_object_or_404(ProcessDefinition.objects.restrict(request.user, "view"), pk=pk)
        response = HttpResponse(definition.xml, content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{definition.key}-v{definition.version}.bpmn"'
        return response


def designer_messages():
    """The sentences the designer's script shows, in the member's language."""
    return {
        "deployFailed": _("Not deployed:"),
        "importFailed": _("Not imported:"),
        "checked": _("The process can be deployed."),
        "noDiagram": _("This file has no diagram to draw."),
        "network": _("The server could not be reached; try again."),
        "noFields": _("The process has no form fields yet (select the process to add them)."),
    }
