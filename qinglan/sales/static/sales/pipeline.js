// The sales pipeline: drag a card to another stage's column, or pick the stage from the card's
// menu. Either fills the hidden move form and submits it (htmx swaps the board in place);
// moving to a lost stage asks for the reason first.
(function () {
  "use strict";
  const moveForm = document.getElementById("ql-move");
  const lostDialog = document.getElementById("ql-lost");
  if (!moveForm || !lostDialog) return;
  const lostForm = lostDialog.querySelector("form");
  let dragged = null;

  function move(opportunity, stage, kind) {
    const form = kind === "lost" ? lostForm : moveForm;
    form.reset();
    form.elements.opportunity.value = opportunity;
    form.elements.stage.value = stage;
    if (kind === "lost") {
      lostDialog.showModal();
      form.elements.loss_reason.focus();
    } else {
      form.requestSubmit();
    }
  }

  document.addEventListener("click", function (event) {
    const item = event.target.closest("[data-move-to]");
    if (item) {
      const card = item.closest("[data-card]");
      move(card.dataset.card, item.dataset.moveTo, item.dataset.kind);
    }
    if (event.target.closest("#ql-lost [data-close]")) lostDialog.close();
  });
  lostForm.addEventListener("submit", function () { lostDialog.close(); });

  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest('[data-card][draggable="true"]');
    if (!card) return;
    dragged = card;
    card.classList.add("ql-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.card);
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("ql-dragging");
    dragged = null;
    document.querySelectorAll(".ql-drop-target").forEach(function (column) { column.classList.remove("ql-drop-target"); });
  });
  function columnOf(event) {
    return event.target.closest && event.target.closest("[data-stage-column]");
  }
  document.addEventListener("dragover", function (event) {
    const column = columnOf(event);
    if (!dragged || !column || column.contains(dragged)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("ql-drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    const column = columnOf(event);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("ql-drop-target");
  });
  document.addEventListener("drop", function (event) {
    const column = columnOf(event);
    if (!dragged || !column || column.contains(dragged)) return;
    event.preventDefault();
    column.classList.remove("ql-drop-target");
    move(dragged.dataset.card, column.dataset.stageColumn, column.dataset.kind);
  });
})();
