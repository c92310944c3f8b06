// Loaded in <head>, before the page is drawn: a member whose theme is "auto" gets Bootstrap's
// light or dark theme from the system setting (prefers-color-scheme), and the page follows
// when that setting changes. The server renders "light" for "auto", which stays when scripts
// do not run. A separate file because the content security policy forbids inline scripts.
(function () {
  "use strict";
  var root = document.documentElement;
  if (root.getAttribute("data-ql-theme") !== "auto" || !window.matchMedia) return;
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    root.setAttribute("data-bs-theme", dark.matches ? "dark" : "light");
  }
  apply();
  if (dark.addEventListener) {
    dark.addEventListener("change", apply);
  } else if (dark.addListener) {
    dark.addListener(apply); // Safari before 14
  }
})();
