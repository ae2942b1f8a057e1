// Self check-in kiosk: scan → choose the service → number on screen and ticket printed.
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var scan = document.getElementById("kiosk-scan");
  var qr = "";
  var resetTimer = null;
  function api(method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: body ? JSON.stringify(body) : undefined}).then(function (r) {
      if (r.status === 204) { return {status: 204, data: null}; }
      return r.json().then(function (d) { return {status: r.status, data: d}; });
    }, function () { return {status: 0, data: {error: "Mất kết nối. Vui lòng đến quầy tiếp đón."}}; });
  }
  function step(id) {
    ["step-scan", "step-room", "step-ticket", "step-message"].forEach(function (s) { document.getElementById(s).hidden = s !== id; });
    if (id === "step-scan") { scan.value = ""; qr = ""; scan.focus(); }
  }
  function later(seconds) {
    window.clearTimeout(resetTimer);
    resetTimer = window.setTimeout(function () { step("step-scan"); }, seconds * 1000);
  }
  function message(text, seconds) {
    document.getElementById("kiosk-message").textContent = text;
    step("step-message"); later(seconds || 8);
  }
  function identify(text) {
    qr = text;
    api("POST", root.dataset.identify, {qr: text}).then(function (r) {
      if (r.status !== 200) { message(r.data.error || "Không đọc được thẻ, vui lòng quét lại."); return; }
      if (!r.data.known) { message(r.data.message, 10); return; }
      document.getElementById("kiosk-name").textContent = r.data.first_name;
      var rooms = document.querySelectorAll(".kiosk-room");
      if (rooms.length === 1) { checkin(rooms[0].dataset.room); return; }
      step("step-room"); later(60);
    });
  }
  function watchPrint(jobId) {
    var tries = 0, out = document.getElementById("kiosk-print");
    var url = root.dataset.job.replace("00000000-0000-0000-0000-000000000000", jobId);
    function check() {
      api("GET", url).then(function (r) {
        tries += 1;
        if (r.status === 200 && r.data.state === "done") { out.textContent = "Mời bạn nhận phiếu ở khe máy in."; return; }
        if ((r.status === 200 && (r.data.state === "failed" || r.data.state === "needs_reprint" || r.data.error)) || tries > 12) {
          out.textContent = "Máy in chưa in được phiếu. Bạn hãy ghi nhớ số trên màn hình; quầy tiếp đón đã được báo.";
          out.className = "kiosk-hint kiosk-warning"; return;
        }
        window.setTimeout(check, 1000);
      });
    }
    check();
  }
  function checkin(room) {
    api("POST", root.dataset.checkin, {qr: qr, room: room}).then(function (r) {
      if (r.status === 201 || r.status === 200) {
        if (r.data.status === "unknown_patient") { message(r.data.message, 10); return; }
        document.getElementById("kiosk-number").textContent = r.data.ticket.number;
        document.getElementById("kiosk-room-name").textContent = "Mời bạn chờ gọi số tại " + r.data.ticket.room_name;
        var out = document.getElementById("kiosk-print");
        out.className = "kiosk-hint";
        step("step-ticket"); later(25);
        if (r.data.print_job) { out.textContent = "Đang in phiếu…"; watchPrint(r.data.print_job.id); }
        else { out.textContent = "Bạn đã lấy số trước đó; vui lòng chờ gọi số."; }
      } else { message(r.data.error || "Có lỗi, vui lòng đến quầy tiếp đón."); }
    });
  }
  document.querySelectorAll(".kiosk-room").forEach(function (b) {
    b.addEventListener("click", function () { checkin(b.dataset.room); });
  });
  document.getElementById("kiosk-cancel").addEventListener("click", function () { step("step-scan"); });
  scan.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); if (scan.value.trim()) { identify(scan.value); } scan.value = ""; }
  });
  document.addEventListener("click", function (e) { if (!e.target.closest("button")) { scan.focus(); } });
  function pollScans() {
    api("GET", root.dataset.scans).then(function (r) {
      if (r.status === 200 && r.data && r.data.qr && !document.getElementById("step-scan").hidden) { identify(r.data.qr); }
      window.setTimeout(pollScans, 700);
    });
  }
  pollScans();
  step("step-scan");
})();
