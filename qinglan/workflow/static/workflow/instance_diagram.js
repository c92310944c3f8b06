/* The diagram of a process instance: the bpmn-js viewer with its completed, active and pending
   steps marked (services.diagram_state). */
(function () {
  "use strict";
  var box = document.getElementById("instance-diagram");
  var source = document.getElementById("instance-diagram-data");
  if (!box || !source || !window.BpmnJS) { return; }
  var data = JSON.parse(source.textContent);
  var viewer = new window.BpmnJS({ container: box });
  viewer.importXML(data.xml).then(function () {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport", "auto");
    [["done", "ql-done"], ["active", "ql-active"], ["pending", "ql-pending"]].forEach(function (pair) {
      data[pair[0]].forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, pair[1]); }
      });
    });
    box.setAttribute("data-ready", "true");
  }).catch(function () { box.remove(); });
}());
