// The sale dashboard's controls (templates/admin/inventory/event/dashboard.html):
// each form asks its data-confirm question (with the value typed, if any)
// before it goes; on "OK" it posts with confirmed=yes, so the server applies
// it at once. Without this script the server asks on a page of its own.
(function () {
  "use strict";

  function start() {
    var forms = document.querySelectorAll("form.dash-control[data-confirm]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        var question = form.getAttribute("data-confirm");
        var input = form.querySelector("input[name='value']");
        if (input) question += "\n\n→ " + input.value;
        if (!window.confirm(question)) {
          event.preventDefault();
          return;
        }
        form.querySelector("input[name='confirmed']").value = "yes";
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
