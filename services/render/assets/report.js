(function () {
  "use strict";
  var status = document.getElementById("status");
  function say(text) { if (status) { status.textContent = text; } }

  // Endpoint inventory filter.
  var table = document.getElementById("endpoint-table");
  var input = document.getElementById("endpoint-filter");
  var kind = document.getElementById("endpoint-kind");
  var count = document.getElementById("endpoint-count");
  if (table && input && kind && count) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var apply = function () {
      var query = input.value.toLowerCase().trim();
      var wanted = kind.value;
      var shown = 0;
      rows.forEach(function (row) {
        var visible = (!query || row.getAttribute("data-search").indexOf(query) !== -1) &&
          (!wanted || row.getAttribute("data-kind") === wanted);
        row.hidden = !visible;
        if (visible) { shown += 1; }
      });
      count.textContent = shown + " of " + rows.length + " endpoints shown";
    };
    input.addEventListener("input", apply);
    kind.addEventListener("change", apply);
    apply();
  }

  // Copy buttons: the Clipboard API where the page is a secure context, else a selected textarea.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.focus();
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(area);
    return copied;
  }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      var text = source.textContent;
      var label = button.textContent;
      var done = function (copied) {
        button.textContent = copied ? "Copied" : "Select and copy manually";
        say(copied ? "Code copied to the clipboard." : "Copying failed; select the code and copy it.");
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); },
          function () { done(fallbackCopy(text)); });
      } else {
        done(fallbackCopy(text));
      }
    });
  });
})();
