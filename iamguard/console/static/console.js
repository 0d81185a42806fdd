// iamguard console: the policy editor's live validation. Loaded as a file (the CSP allows no
// inline script); without it every form still works, checked by the server on submit.
"use strict";
(function () {
  function render(box, result) {
    box.textContent = "";
    if (!result.findings.length) return;
    var list = document.createElement("ul");
    list.className = "findings";
    result.findings.forEach(function (f) {
      var item = document.createElement("li");
      item.className = "finding " + String(f.severity).toLowerCase();
      var sev = document.createElement("span");
      sev.className = "sev";
      sev.textContent = f.severity;
      var loc = document.createElement("code");
      loc.className = "loc";
      loc.textContent = f.location;
      item.append(sev, " ", loc, " " + f.message);
      list.append(item);
    });
    box.append(list);
  }
  function watch(form) {
    var editor = form.querySelector("textarea[name=document]");
    var box = form.querySelector("#findings");
    var timer = null;
    editor.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var body = new URLSearchParams();
        body.set("csrf", form.querySelector("input[name=csrf]").value);
        body.set("document", editor.value);
        fetch(form.dataset.validate, { method: "POST", body: body, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (result) { if (result) render(box, result); });
      }, 400);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-validate]").forEach(watch);
  });
})();
