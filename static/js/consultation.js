// Consultation form: autosave (server draft + this browser's localStorage) and ICD-10 autocomplete.
// Plain JavaScript, no CDN; the form works without it.
(function () {
  "use strict";
  var form = document.getElementById("consultation-form");
  if (!form) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var key = form.dataset.draftKey;
  var status = document.getElementById("draft-status");
  var dirty = false, timer = null;

  function fields() {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.name !== "csrf_token" && el.name !== "version") { out[el.name] = el.value; }
    });
    return out;
  }
  function say(text) { if (status) { status.textContent = text; } }
  function saveLocal() {
    try { localStorage.setItem(key, JSON.stringify({at: Date.now(), version: form.dataset.savedVersion, fields: fields()})); }
    catch (e) { /* storage full or disabled: the server draft still works */ }
  }
  function saveServer() {
    if (!dirty) { return; }
    dirty = false;
    fetch(form.dataset.draftUrl, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({version: form.dataset.savedVersion, fields: fields()})
    }).then(function (r) {
      if (r.status === 401) {
        say("Phiên làm việc đã hết hạn: nội dung vẫn được giữ trên máy này. Đăng nhập lại rồi mở lại phiếu để tiếp tục.");
        return null;
      }
      return r.json().then(function (body) {
        say(r.ok ? "Đã lưu nháp lúc " + body.saved_at : (body.error || "Chưa lưu được nháp."));
      });
    }).catch(function () { say("Mất kết nối: nội dung vẫn được giữ trên máy này."); dirty = true; });
  }
  form.addEventListener("input", function () {
    dirty = true; saveLocal();
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(saveServer, 3000);
  });
  form.addEventListener("submit", saveLocal);
  window.addEventListener("beforeunload", function () { if (dirty) { saveLocal(); } });

  // Restore this browser's copy when it is newer than what the server rendered (e.g. the session
  // expired before the last autosave reached the server).
  try {
    var stored = JSON.parse(localStorage.getItem(key) || "null");
    var restoredBanner = document.getElementById("draft-restored");
    if (stored && stored.version === form.dataset.savedVersion && !document.getElementById("form-error")) {
      var current = fields(), differs = false;
      Object.keys(stored.fields).forEach(function (name) { if (current[name] !== undefined && current[name] !== stored.fields[name]) { differs = true; } });
      if (differs) {
        Object.keys(stored.fields).forEach(function (name) { var el = form.elements[name]; if (el) { el.value = stored.fields[name]; } });
        dirty = true;
        say("Đã khôi phục nội dung chưa lưu trên máy này (" + new Date(stored.at).toLocaleTimeString("vi-VN") + "). Kiểm tra rồi bấm Lưu.");
        if (!restoredBanner) { saveServer(); }
      }
    } else if (stored && stored.version !== form.dataset.savedVersion) {
      localStorage.removeItem(key);  // saved since: the local copy is stale
    }
  } catch (e) { /* ignore a corrupt local copy */ }
  if (document.querySelector(".flash-success")) { try { localStorage.removeItem(key); } catch (e) {} }

  // ICD-10 autocomplete on inputs with data-icd ("single" or "multi": codes separated by ";").
  Array.prototype.forEach.call(document.querySelectorAll("input[data-icd]"), function (input) {
    var list = document.createElement("ul");
    list.className = "icd-suggest"; list.hidden = true; list.setAttribute("role", "listbox");
    input.parentNode.appendChild(list);
    var pending = null, seq = 0;
    function term() { return input.dataset.icd === "multi" ? input.value.split(";").pop().trim() : input.value.trim(); }
    function choose(code) {
      if (input.dataset.icd === "multi") {
        var parts = input.value.split(";").map(function (s) { return s.trim(); }).filter(Boolean);
        parts.pop(); parts.push(code); input.value = parts.join("; ") + "; ";
      } else { input.value = code; }
      list.hidden = true; input.dispatchEvent(new Event("input", {bubbles: true})); input.focus();
    }
    input.addEventListener("input", function () {
      var q = term();
      if (pending) { clearTimeout(pending); }
      if (q.length < 2) { list.hidden = true; return; }
      pending = setTimeout(function () {
        var mine = ++seq;
        fetch("/api/icd10?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
          .then(function (r) { return r.ok ? r.json() : {results: []}; })
          .then(function (body) {
            if (mine !== seq) { return; }
            list.innerHTML = "";
            body.results.slice(0, 12).forEach(function (item) {
              var li = document.createElement("li");
              li.textContent = item.code + " — " + item.title; li.dataset.code = item.code; li.setAttribute("role", "option");
              li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(item.code); });
              list.appendChild(li);
            });
            list.hidden = !body.results.length;
          }).catch(function () { list.hidden = true; });
      }, 150);
    });
    input.addEventListener("blur", function () { setTimeout(function () { list.hidden = true; }, 150); });
  });
})();
