// Small behaviours of the shell: select-all checkboxes, bulk buttons, page size, formset rows,
// confirmations. No inline scripts (the content security policy forbids them). The "auto"
// theme is applied by theme.js, which base.html loads in <head> so the page never flashes.
(function () {
  "use strict";

  function updateBulkButtons(form) {
    const any = form.querySelectorAll('input[name="pk"]:checked').length > 0;
    form.querySelectorAll("[data-needs-selection]").forEach((button) => { button.disabled = !any; });
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("input[data-select-all]")) {
      const form = target.closest("form");
      form.querySelectorAll('input[name="pk"]').forEach((box) => { box.checked = target.checked; });
      updateBulkButtons(form);
    } else if (target.matches('input[name="pk"]')) {
      updateBulkButtons(target.closest("form"));
    } else if (target.matches("select[data-page-size]")) {
      const url = new URL(window.location.href);
      url.searchParams.set("page_size", target.value);
      url.searchParams.delete("after");
      url.searchParams.delete("before");
      window.location.href = url.toString();
    }
  });

  document.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    if (add) {
      const prefix = add.dataset.addRow;
      const table = document.querySelector(`table[data-formset="${prefix}"]`);
      const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
      const index = parseInt(total.value, 10);
      const html = table.querySelector("template").innerHTML.replace(/__prefix__/g, String(index));
      table.querySelector("tbody").insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
    }
    const confirmable = event.target.closest("[data-confirm]");
    if (confirmable && !window.confirm(confirmable.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      const box = document.getElementById("ql-search-suggestions");
      if (box) box.innerHTML = "";
    }
  });
})();
