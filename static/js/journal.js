// The note editor: text macros (.cave, .diag, ...) and saving a draft when the tab closes.
(function () {
  "use strict";
  var form = document.getElementById("note-editor");
  if (!form) { return; }
  var textarea = form.querySelector("textarea[name=text]");
  var known = (form.dataset.macros || "").split(",").filter(Boolean);
  var dirty = false;

  textarea.addEventListener("input", function () { dirty = true; });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt === textarea && event.detail.successful) { dirty = false; }
  });

  // A macro is expanded when the word before the caret is ".name" and a space or newline follows.
  textarea.addEventListener("keyup", function (event) {
    if (event.key !== " " && event.key !== "Enter") { return; }
    var caret = textarea.selectionStart;
    var before = textarea.value.slice(0, caret - 1);
    var match = /(^|\s)\.([a-zæøå]+)$/i.exec(before);
    if (!match || known.indexOf(match[2].toLowerCase()) === -1) { return; }
    var name = match[2].toLowerCase();
    var start = before.length - name.length - 1;
    fetch(form.dataset.macroUrl.replace("__name__", name), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var value = textarea.value;
        // Only replace if the macro text is still where it was typed.
        if (value.slice(start, start + name.length + 1) !== "." + name) { return; }
        textarea.value = value.slice(0, start) + data.text + value.slice(start + name.length + 1);
        var position = start + data.text.length + 1;
        textarea.setSelectionRange(position, position);
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      });
  });

  // No lost text on a closed tab: send what is unsaved as the page goes away.
  function flush() {
    if (!dirty || !navigator.sendBeacon) { return; }
    var data = new FormData(form);
    data.delete("sign");
    navigator.sendBeacon(form.dataset.autosaveUrl, data);
    dirty = false;
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { flush(); }
  });
  window.addEventListener("pagehide", flush);
  form.addEventListener("submit", function () { dirty = false; });
})();
