/* Qinglan process designer: the bpmn-js modeler and our side panel for the qinglan: attributes
   the engine reads (assignee rules, countersign, deadlines, copies, fallback, who may start it),
   the process's form fields (qinglan:formField extension elements) and how each step shows
   them (qinglan:fields), conditions of sequence flows, timers and called processes. Deploying, checking and importing
   go to the server, which runs the engine's own checks. */
(function () {
  "use strict";
  if (!window.BpmnJS) { return; }

  var STEP_ATTRIBUTES = ["assignee", "countersign", "quorum", "signing", "due", "cc", "fields"];
  var QINGLAN = {
    name: "Qinglan", uri: "urn:qinglan:bpmn", prefix: "qinglan", xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Step", "extends": ["bpmn:UserTask", "bpmn:ManualTask"],
        properties: STEP_ATTRIBUTES.map(function (name) { return { name: name, isAttr: true, type: "String" }; }) },
      { name: "ProcessRules", "extends": ["bpmn:Process"],
        properties: [{ name: "fallback", isAttr: true, type: "String" }, { name: "starters", isAttr: true, type: "String" }] },
      { name: "FormField", superClass: ["Element"],
        properties: [
          { name: "name", isAttr: true, type: "String" }, { name: "label", isAttr: true, type: "String" },
          { name: "type", isAttr: true, type: "String" }, { name: "required", isAttr: true, type: "Boolean" },
          { name: "help", isAttr: true, type: "String" }, { name: "options", type: "Option", isMany: true }
        ] },
      { name: "Option", superClass: ["Element"],
        properties: [{ name: "value", isAttr: true, type: "String" }, { name: "label", isAttr: true, type: "String" }] }
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
    if (shown.indexOf("process") !== -1) { renderFields(); }
    if (shown.indexOf("step") !== -1) { renderStepFields(); }
  }

  /* ---- the process form: qinglan:formField extension elements of the process ---- */
  var fieldsBox = document.getElementById("designer-fields");
  var stepFieldsBox = document.getElementById("designer-step-fields");
  var fieldTemplate = document.getElementById("designer-field-template");
  var fieldModes = JSON.parse(document.getElementById("designer-field-modes").textContent);

  function processBo() { return canvas.getRootElement().businessObject; }

  function declaredFields() {
    var ext = processBo().extensionElements;
    return ext ? (ext.values || []).filter(function (value) { return is(value, "qinglan:FormField"); }) : [];
  }

  function plainFields() {
    return declaredFields().map(function (field) {
      return {
        name: field.get("name") || "", label: field.get("label") || "", type: field.get("type") || "text",
        required: !!field.get("required"), help: field.get("help") || "",
        options: (field.get("options") || []).map(function (option) {
          var value = option.get("value") || "", label = option.get("label") || "";
          return label && label !== value ? value + "=" + label : value;
        }).join("\n")
      };
    });
  }

  function writeFields(list) {
    var root = canvas.getRootElement();
    var bo = root.businessObject;
    var ext = bo.extensionElements;
    var others = ext ? (ext.values || []).filter(function (value) { return !is(value, "qinglan:FormField"); }) : [];
    var created = list.map(function (plain) {
      var field = moddle.create("qinglan:FormField", { name: plain.name, type: plain.type });
      if (plain.label) { field.set("label", plain.label); }
      if (plain.required) { field.set("required", true); }
      if (plain.help) { field.set("help", plain.help); }
      if (plain.type === "choice") {
        field.set("options", plain.options.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
          var cut = line.indexOf("=");
          var value = cut === -1 ? line : line.slice(0, cut).trim();
          var option = moddle.create("qinglan:Option", { value: value });
          option.$parent = field;
          if (cut !== -1 && line.slice(cut + 1).trim()) { option.set("label", line.slice(cut + 1).trim()); }
          return option;
        }));
      }
      return field;
    });
    var values = others.concat(created);
    if (!values.length) {
      if (ext) { modeling.updateProperties(root, { extensionElements: undefined }); }
      return;
    }
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(root, { extensionElements: ext });
    }
    values.forEach(function (value) { value.$parent = ext; });
    modeling.updateModdleProperties(root, ext, { values: values });
  }

  function readFieldCards() {
    return Array.prototype.map.call(fieldsBox.querySelectorAll(".ql-form-field"), function (card) {
      function value(key) { var input = card.querySelector("[data-ff=" + key + "]"); return input.type === "checkbox" ? input.checked : input.value.trim(); }
      return { name: value("name"), label: value("label"), type: value("type"), required: value("required"), help: value("help"), options: value("options") };
    });
  }

  function renderFields() {
    fieldsBox.innerHTML = "";
    plainFields().forEach(function (plain) {
      var card = fieldTemplate.content.firstElementChild.cloneNode(true);
      Object.keys(plain).forEach(function (key) {
        var input = card.querySelector("[data-ff=" + key + "]");
        if (!input) { return; }
        if (input.type === "checkbox") { input.checked = plain[key]; } else { input.value = plain[key]; }
      });
      card.querySelector("[data-ff-when=choice]").style.display = plain.type === "choice" ? "" : "none";
      fieldsBox.appendChild(card);
    });
  }

  document.getElementById("designer-add-field").addEventListener("click", function () {
    var list = readFieldCards();
    var number = list.length + 1;
    while (list.some(function (plain) { return plain.name === "field" + number; })) { number += 1; }
    list.push({ name: "field" + number, label: "", type: "text", required: false, help: "", options: "" });
    writeFields(list);
    renderFields();
    var inputs = fieldsBox.querySelectorAll("[data-ff=label]");
    if (inputs.length) { inputs[inputs.length - 1].focus(); }
  });

  fieldsBox.addEventListener("change", function (event) {
    if (!event.target.hasAttribute("data-ff")) { return; }
    writeFields(readFieldCards());
    renderFields();
  });

  fieldsBox.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    var cards = Array.prototype.slice.call(fieldsBox.querySelectorAll(".ql-form-field"));
    var index = cards.indexOf(button.closest(".ql-form-field"));
    var list = readFieldCards();
    if (button.hasAttribute("data-ff-remove")) {
      list.splice(index, 1);
    } else if (button.hasAttribute("data-ff-move")) {
      var target = index + parseInt(button.getAttribute("data-ff-move"), 10);
      if (target < 0 || target >= list.length) { return; }
      list.splice(target, 0, list.splice(index, 1)[0]);
    } else {
      return;
    }
    writeFields(list);
    renderFields();
  });

  /* ---- how a step shows the form: qinglan:fields="name:mode, …" on the user task ---- */
  function stepModes(element) {
    var modes = {};
    (element.businessObject.get("qinglan:fields") || "").split(",").forEach(function (part) {
      var cut = part.indexOf(":");
      if (cut !== -1) { modes[part.slice(0, cut).trim()] = part.slice(cut + 1).trim(); }
    });
    return modes;
  }

  function renderStepFields() {
    var element = current;
    var names = plainFields().map(function (plain) { return [plain.name, plain.label || plain.name]; });
    stepFieldsBox.innerHTML = "";
    if (!names.length) {
      var note = document.createElement("div");
      note.className = "form-text";
      note.textContent = messages.noFields;
      stepFieldsBox.appendChild(note);
      return;
    }
    var modes = stepModes(element);
    names.forEach(function (pair) {
      var row = document.createElement("div");
      row.className = "d-flex align-items-center gap-2 mb-1";
      var label = document.createElement("label");
      label.className = "me-auto text-truncate";
      label.textContent = pair[1];
      label.htmlFor = "step-field-" + pair[0];
      var select = document.createElement("select");
      select.className = "form-select form-select-sm w-auto";
      select.id = "step-field-" + pair[0];
      select.setAttribute("data-step-field", pair[0]);
      fieldModes.forEach(function (mode) {
        var option = document.createElement("option");
        option.value = mode[0];
        option.textContent = mode[1];
        select.appendChild(option);
      });
      select.value = modes[pair[0]] || "readonly";
      row.appendChild(label);
      row.appendChild(select);
      stepFieldsBox.appendChild(row);
    });
  }

  stepFieldsBox.addEventListener("change", function (event) {
    var name = event.target.getAttribute("data-step-field");
    if (!name || !current) { return; }
    var parts = [];
    stepFieldsBox.querySelectorAll("[data-step-field]").forEach(function (select) {
      if (select.value !== "readonly") { parts.push(select.getAttribute("data-step-field") + ":" + select.value); }
    });
    modeling.updateProperties(current, { "qinglan:fields": parts.join(", ") || undefined });
  });

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
