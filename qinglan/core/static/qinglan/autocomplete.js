// Search-as-you-type for reference fields. The server renders a <select data-autocomplete=URL>
// holding only the chosen records; here it gets a text box and a list of matches fetched from
// URL?q=… (records the member may view). The select stays in the form and is what is submitted.
(function () {
  "use strict";

  let counter = 0;

  function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => fn.apply(this, args), wait);
    };
  }

  function enhance(select) {
    if (select.dataset.acReady) return;
    select.dataset.acReady = "1";
    counter += 1;
    const multiple = select.multiple;
    const baseId = select.id || `ql-ac-${counter}`;
    const small = select.classList.contains("form-select-sm");

    const wrap = document.createElement("div");
    wrap.className = "ql-ac position-relative";
    const box = document.createElement("div");
    box.className = `form-control d-flex flex-wrap align-items-center gap-1 ql-ac-box${small ? " form-control-sm" : ""}`;
    if (select.classList.contains("is-invalid")) box.classList.add("is-invalid");
    const input = document.createElement("input");
    input.type = "text";
    input.id = `${baseId}_search`;
    input.className = "ql-ac-input border-0 flex-grow-1 bg-transparent";
    input.autocomplete = "off";
    input.placeholder = select.dataset.acPlaceholder || "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    const menu = document.createElement("ul");
    menu.className = "dropdown-menu ql-ac-menu w-100 shadow-sm";
    menu.id = `${baseId}_listbox`;
    menu.setAttribute("role", "listbox");
    input.setAttribute("aria-controls", menu.id);
    box.appendChild(input);
    wrap.appendChild(box);
    wrap.appendChild(menu);
    select.insertAdjacentElement("afterend", wrap);
    select.classList.add("d-none");
    select.tabIndex = -1;
    // A hidden required select would block submission without showing why; the server checks.
    if (select.required) {
      select.required = false;
      if (!multiple) input.required = true;
    }
    const label = document.querySelector(`label[for="${CSS.escape(select.id)}"]`);
    if (label) {
      label.htmlFor = input.id;
    } else if (select.getAttribute("aria-label")) {
      input.setAttribute("aria-label", select.getAttribute("aria-label"));
    }

    let active = -1;
    let request = 0;

    function chosen() {
      return Array.from(select.options).filter((option) => option.selected && option.value !== "");
    }

    function renderChosen() {
      box.querySelectorAll(".ql-ac-chip").forEach((chip) => chip.remove());
      if (!multiple) {
        const current = chosen()[0];
        input.value = current ? current.text : "";
        return;
      }
      chosen().forEach((option) => {
        const chip = document.createElement("span");
        chip.className = "badge text-bg-light border ql-ac-chip d-inline-flex align-items-center";
        chip.textContent = option.text;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-close ms-1";
        remove.style.fontSize = "0.6em";
        remove.setAttribute("aria-label", `${select.dataset.acRemove || "Remove"} ${option.text}`);
        remove.addEventListener("click", () => {
          option.selected = false;
          select.dispatchEvent(new Event("change", { bubbles: true }));
          renderChosen();
          input.focus();
        });
        chip.appendChild(remove);
        box.insertBefore(chip, input);
      });
    }

    function close() {
      menu.classList.remove("show");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function items() {
      return Array.from(menu.querySelectorAll("[role=option]"));
    }

    function highlight(index) {
      const list = items();
      list.forEach((item, i) => item.classList.toggle("active", i === index));
      active = index;
      if (list[index]) {
        input.setAttribute("aria-activedescendant", list[index].id);
        list[index].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(id, text) {
      let option = Array.from(select.options).find((candidate) => candidate.value === String(id));
      if (!option) {
        option = new Option(text, id);
        select.add(option);
      }
      if (multiple) {
        option.selected = true;
        input.value = "";
      } else {
        select.value = String(id);
      }
      select.dispatchEvent(new Event("change", { bubbles: true }));
      renderChosen();
      close();
    }

    function note(text) {
      const item = document.createElement("li");
      item.className = "dropdown-item-text small text-secondary";
      item.textContent = text;
      menu.appendChild(item);
    }

    function show(results, more, query) {
      menu.dataset.query = query; // which text the shown results answer
      menu.replaceChildren();
      const taken = new Set(chosen().map((option) => option.value));
      const offered = results.filter((result) => !(multiple && taken.has(String(result.id))));
      offered.forEach((result, index) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "dropdown-item text-wrap";
        button.id = `${menu.id}_${index}`;
        button.setAttribute("role", "option");
        button.dataset.id = result.id;
        button.textContent = result.text;
        button.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the box
        button.addEventListener("click", () => choose(result.id, result.text));
        item.appendChild(button);
        menu.appendChild(item);
      });
      if (!offered.length) note(select.dataset.acEmpty || "");
      if (more) note(select.dataset.acMore || "");
      menu.classList.add("show");
      input.setAttribute("aria-expanded", "true");
      highlight(offered.length ? 0 : -1);
    }

    const search = debounce(() => {
      const url = new URL(select.dataset.autocomplete, window.location.href);
      const text = multiple || !chosen()[0] || input.value !== chosen()[0].text ? input.value.trim() : "";
      url.searchParams.set("q", text);
      request += 1;
      const mine = request;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : { results: [], more: false }))
        .then((data) => {
          if (mine === request && document.activeElement === input) show(data.results || [], data.more, text);
        })
        .catch(() => {});
    }, 150);

    input.addEventListener("focus", search);
    input.addEventListener("input", search);
    input.addEventListener("keydown", (event) => {
      const list = items();
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!menu.classList.contains("show")) search();
        else highlight(Math.min(active + 1, list.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (menu.classList.contains("show") && list[active]) {
          event.preventDefault();
          list[active].click();
        }
      } else if (event.key === "Escape") {
        close();
      } else if (event.key === "Backspace" && multiple && input.value === "") {
        const last = chosen().pop();
        if (last) {
          last.selected = false;
          renderChosen();
        }
      }
    });
    input.addEventListener("blur", () => {
      close();
      if (!multiple) {
        if (input.value.trim() === "") {
          if (select.value !== "") {
            select.value = "";
            select.dispatchEvent(new Event("change", { bubbles: true }));
          }
        }
        renderChosen(); // a half-typed name goes back to the chosen record's
      }
    });
    box.addEventListener("click", (event) => {
      if (event.target === box) input.focus();
    });
    renderChosen();
  }

  function enhanceAll(root) {
    if (root.matches && root.matches("select[data-autocomplete]")) enhance(root);
    if (root.querySelectorAll) root.querySelectorAll("select[data-autocomplete]").forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", () => {
    enhanceAll(document);
    // Rows added to a formset and content swapped in by htmx get the same treatment.
    new MutationObserver((mutations) => {
      mutations.forEach((mutation) => mutation.addedNodes.forEach((node) => {
        if (node.nodeType === 1 && !node.closest("template")) enhanceAll(node);
      }));
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
