/* Qinglan process designer: the bpmn-js modeler and our side panel for the qinglan: attributes
   the engine reads (assignee rules, countersign, deadlines, copies, fallback),
   conditions of sequence flows, timers and called processes. Deploying, checking and importing
   go to the server, which runs the engine's own checks. */
(function () {
  "use strict";
  if (!window.BpmnJS) { return; }

  var STEP_ATTRIBUTES = ["assignee", "countersign", "quorum", "signing", "due", "cc"];
  var QINGLAN = {
    name: "Qinglan", uri: "urn:qinglan:bpmn", prefix: "qinglan", xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Step", "extends": ["bpmn:UserTask", "bpmn:ManualTask"],
        properties: STEP_ATTRIBUTES.map(function (name) { return { name: name, isAttr: true, type: "String" }; }) },
      { name: "ProcessRules", "extends": ["bpmn:Process"], properties: [{ name: "fallback", isAttr: true, type: "String" }] }
    ]
  };

  var form = document.getElementById("designer-form");
  var panel = document.getElementById("designer-panel");
  var statusBox = document.getElementById("designer-status");
  var messages = JSON.parse(document.getElementById("designer-messages").textContent);
  var modeler = new window.BpmnJS({ container: "#designer-canvas", moddleExtensions: { qinglan: QINGLAN } });
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var canvas = modeler.get("canvas");
  var current = null;
  window.qinglanDesigner = modeler;  // for the browser tests and the console

  function csrf() { return form.querySelector("[name=csrfmiddlewaretoken]").value; }

  function showStatus(kind, text, notes, link) {
    statusBox.className = "alert py-2 small alert-" + kind;
    statusBox.textContent = text;
    if (link) {
      var anchor = document.createElement("a");
      anchor.href = link.url;
      anchor.className = "ms-2";
      anchor.textContent = link.label;
      statusBox.appendChild(anchor);
    }
    if (notes && notes.length) {
      var list = document.createElement("ul");
      list.className = "mb-0 mt-1";
      notes.forEach(function (note) { var item = document.createElement("li"); item.textContent = note; list.appendChild(item); });
      statusBox.appendChild(list);
    }
  }

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }
  function timerOf(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0] || null;
  }

  function sectionsFor(element) {
    var bo = element.businessObject;
    var shown = ["named"];
    if (element === canvas.getRootElement()) { shown.push("process"); }
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) { shown.push("step"); }
    if (is(bo, "bpmn:SequenceFlow")) { shown.push("flow"); }
    if (is(bo, "bpmn:Event") && timerOf(bo)) { shown.push("timer"); }
    if (is(bo, "bpmn:CallActivity")) { shown.push("call"); }
    return shown;
  }

  function read(element, prop) {
    var bo = element.businessObject;
    if (prop === "condition") { return bo.conditionExpression ? bo.conditionExpression.body || "" : ""; }
    if (prop === "default") { return !!(element.source && element.source.businessObject.default === bo); }
    if (prop === "timer") {
      var timer = timerOf(bo);
      var value = timer && (timer.timeDuration || timer.timeDate || timer.timeCycle);
      return value ? value.body || "" : "";
    }
    return bo.get(prop) || "";
  }

  function refreshWhen() {
    var mode = document.getElementById("p-countersign").value;
    panel.querySelectorAll("[data-when]").forEach(function (block) {
      var when = block.getAttribute("data-when");
      block.style.display = (when === "quorum" ? mode === "quorum" : mode !== "") ? "" : "none";
    });
  }

  function show(element) {
    current = element || canvas.getRootElement();
    if (!current || !current.businessObject) { return; }
    var shown = sectionsFor(current);
    document.getElementById("designer-selected").textContent = current.businessObject.$type.replace("bpmn:", "") + " · " + current.businessObject.id;
    panel.querySelectorAll("[data-section]").forEach(function (section) {
      var visible = shown.indexOf(section.getAttribute("data-section")) !== -1;
      section.classList.toggle("ql-shown", visible);
      if (!visible) { return; }
      section.querySelectorAll("[data-prop]").forEach(function (input) {
        var value = read(current, input.getAttribute("data-prop"));
        if (input.type === "checkbox") { input.checked = !!value; } else { input.value = value; }
      });
    });
    refreshWhen();
  }

  function apply(prop, input) {
    var element = current;
    if (!element) { return; }
    var bo = element.businessObject;
    var value = input.type === "checkbox" ? input.checked : input.value.trim();
    var changes = {};
    if (prop === "condition") {
      changes.conditionExpression = value ? moddle.create("bpmn:FormalExpression", { body: value }) : undefined;
    } else if (prop === "default") {
      if (element.source) { modeling.updateProperties(element.source, { "default": value ? bo : undefined }); }
      return;
    } else if (prop === "timer") {
      var timer = timerOf(bo);
      if (!timer) { return; }
      var kind = /^R\d*\//.test(value) ? "timeCycle" : (/^\d{4}-/.test(value) ? "timeDate" : "timeDuration");
      var timerChanges = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      if (value) { timerChanges[kind] = moddle.create("bpmn:FormalExpression", { body: value }); }
      modeling.updateModdleProperties(element, timer, timerChanges);
      return;
    } else if (prop === "id") {
      if (!/^[A-Za-z_][\w\-.]*$/.test(value)) { input.value = bo.id; return; }
      changes.id = value;
    } else {
      changes[prop] = value || undefined;
    }
    modeling.updateProperties(element, changes);
    if (prop === "qinglan:countersign") { refreshWhen(); }
  }

  panel.addEventListener("change", function (event) {
    var prop = event.target.getAttribute("data-prop");
    if (prop) { apply(prop, event.target); }
  });

  modeler.on("selection.changed", function (event) { show(event.newSelection[0]); });

  function load(xml) {
    return modeler.importXML(xml).then(function () {
      canvas.zoom("fit-viewport", "auto");
      show(null);
    });
  }

  function post(url, body) {
    body.append("csrfmiddlewaretoken", csrf());
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
      .then(function (response) { return response.json(); });
  }

  function drawing() { return modeler.saveXML({ format: true }).then(function (result) { return result.xml; }); }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    drawing().then(function (xml) {
      var body = new FormData(form);
      body.delete("csrfmiddlewaretoken");
      body.append("xml", xml);
      return post(form.action, body);
    }).then(function (result) {
      if (result.ok) {
        showStatus("success", result.message, result.notes, { url: result.url, label: "→" });
        statusBox.setAttribute("data-deployed", result.url);
      } else {
        showStatus("danger", messages.deployFailed + " " + result.error);
      }
    }).catch(function () { showStatus("danger", messages.network); });
  });

  document.getElementById("designer-check").addEventListener("click", function () {
    drawing().then(function (xml) {
      var body = new FormData();
      body.append("xml", xml);
      return post(form.dataset.checkUrl, body);
    }).then(function (result) {
      if (result.ok) { showStatus("success", messages.checked, result.notes); } else { showStatus("danger", messages.deployFailed + " " + result.error); }
    }).catch(function () { showStatus("danger", messages.network); });
  });

  document.getElementById("designer-file").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) { return; }
    var body = new FormData();
    body.append("file", file);
    body.append("process", document.getElementById("designer-xpdl-process").value.trim());
    post(form.dataset.checkUrl, body).then(function (result) {
      event.target.value = "";
      if (!result.ok) { showStatus("danger", messages.importFailed + " " + result.error); return null; }
      return load(result.xml).then(function () {
        document.getElementById("deploy-name").value = result.name || "";
        showStatus("success", messages.checked, result.notes);
      }).catch(function () { showStatus("danger", messages.importFailed + " " + messages.noDiagram); });
    }).catch(function () { showStatus("danger", messages.network); });
  });

  document.getElementById("designer-export").addEventListener("click", function () {
    drawing().then(function (xml) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      link.download = (canvas.getRootElement().businessObject.id || "process") + ".bpmn";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });

  load(JSON.parse(document.getElementById("designer-xml").textContent)).catch(function () {
    showStatus("danger", messages.noDiagram);
  });
}());
