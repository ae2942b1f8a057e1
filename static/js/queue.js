// Queue page: call next / call a number / start / skip / absent, with optimistic versions.
(function () {
  "use strict";
  var root = document.getElementById("queue");
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var message = document.getElementById("queue-message");
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {})}).then(function (r) {
      return r.json().then(function (d) { return {status: r.status, data: d}; });
    }, function () { return {status: 0, data: {error: "Không kết nối được máy chủ."}}; });
  }
  function done(r, okText) {
    if (r.status === 200) { message.className = "ok"; message.textContent = okText(r.data);
      window.setTimeout(function () { window.location.reload(); }, 600); }
    else { message.className = "error"; message.textContent = r.data.error || "Có lỗi."; 
      window.setTimeout(function () { window.location.reload(); }, 2500); }
  }
  document.getElementById("call-next").addEventListener("click", function () {
    post(root.dataset.callNext).then(function (r) { done(r, function (d) { return "Đang gọi số " + d.number; }); });
  });
  root.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-action]");
    if (!b) { return; }
    var row = b.closest("tr");
    var url = "/api/queue/tickets/" + row.dataset.ticket + "/" + b.dataset.action;
    post(url, {version: parseInt(row.dataset.version, 10)}).then(function (r) {
      done(r, function (d) { return "Số " + d.number + ": " + d.state_label; });
    });
  });
})();
