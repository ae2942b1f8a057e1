// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // A double-clicked submit button must not post a form twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    window.setTimeout(function () { form.dataset.submitting = ""; }, 5000);
  }, true);
  // Confirm destructive actions that declare data-confirm.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.dataset.confirm)) { event.preventDefault(); }
  });
})();
