// Reception screen: one scan (keyboard wedge + Enter, or a serial scanner polled) checks the patient in.
(function () {
  "use strict";
  var root = document.getElementById("reception");
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var scan = document.getElementById("scan");
  var result = document.getElementById("result");
  var busy = false;

  function api(method, url, body) {
    return fetch(url, {method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: body ? JSON.stringify(body) : undefined}).then(function (r) {
      if (r.status === 204) { return {status: 204, data: null}; }
      return r.json().then(function (data) { return {status: r.status, data: data}; },
        function () { return {status: r.status, data: {error: "Máy chủ trả lời không hợp lệ."}}; });
    }, function () { return {status: 0, data: {error: "Không kết nối được máy chủ. Dữ liệu chưa được lưu; vui lòng quét lại."}}; });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function flags() {
    return ["flag-emergency", "flag-pregnant", "flag-disability"].filter(function (id) {
      return document.getElementById(id).checked; }).map(function (id) { return document.getElementById(id).value; });
  }
  function options() {
    return {room: document.getElementById("room").value, flags: flags(),
            use_insurance: !document.getElementById("no-insurance").checked};
  }
  function show(kind) { result.hidden = false; result.className = "card result result-" + kind; result.textContent = ""; }
  function refocus() { scan.value = ""; scan.focus(); }

  function showError(message) {
    show("error");
    result.appendChild(el("p", {role: "alert", "class": "error"}, message));
    refocus();
  }
  function showTicket(data, qr) {
    show(data.status === "existing_visit" ? "warning" : "ok");
    var p = data.patient || {};
    result.appendChild(el("h2", {}, (data.status === "existing_visit" ? "Đã tiếp đón trước đó: " : "Đã tiếp đón: ") + (p.name || "")));
    result.appendChild(el("p", {}, "Mã BN " + (p.code || "") + " · " + (p.birth_date || "") + " · " + (p.sex || "")));
    if (data.ticket) {
      result.appendChild(el("p", {"class": "ticket-number", "data-number": data.ticket.number}, data.ticket.number));
      result.appendChild(el("p", {}, data.ticket.room_name + (data.ticket.priority_label ? " · Ưu tiên: " + data.ticket.priority_label : "")));
    }
    if (data.visit) {
      var elig = {verified: "BHYT hợp lệ", to_verify: "BHYT chờ tra cứu", rejected: "Không hưởng BHYT", uninsured: "Không dùng BHYT"}[data.visit.eligibility] || data.visit.eligibility;
      result.appendChild(el("p", {"class": "eligibility eligibility-" + data.visit.eligibility}, elig + (data.visit.eligibility_note ? ": " + data.visit.eligibility_note : "")));
    }
    (data.warnings || []).forEach(function (w) { result.appendChild(el("p", {"class": "warning"}, w)); });
    if (data.changes && data.changes.length && qr) {
      var box = el("div", {"class": "changes"});
      box.appendChild(el("h3", {}, "Thông tin trên thẻ khác với hồ sơ — chọn mục cần cập nhật:"));
      data.changes.forEach(function (c) {
        var label = el("label");
        var box2 = el("input", {type: "checkbox", value: c.field, checked: "checked"});
        label.appendChild(box2);
        label.appendChild(document.createTextNode(" " + c.label + ": «" + (c.old || "trống") + "» → «" + c.new + "»"));
        box.appendChild(label);
      });
      var accept = el("button", {type: "button", id: "accept-changes"}, "Cập nhật hồ sơ theo thẻ");
      accept.addEventListener("click", function () {
        var fields = Array.prototype.map.call(box.querySelectorAll("input:checked"), function (i) { return i.value; });
        api("POST", root.dataset.accept, {patient_id: p.id, qr: qr, fields: fields}).then(function (r) {
          box.textContent = r.status === 200 ? "Đã cập nhật hồ sơ." : (r.data.error || "Không cập nhật được.");
          refocus();
        });
      });
      box.appendChild(accept);
      result.appendChild(box);
    }
    refocus();
  }
  function showUnknown(data, qr) {
    show("new");
    var c = data.card;
    result.appendChild(el("h2", {}, "Người bệnh mới — kiểm tra thông tin từ thẻ"));
    var dl = el("dl", {"class": "card-fields"});
    [["Số CCCD", c.number], ["Họ và tên", c.name], ["Ngày sinh", c.birth_date], ["Giới tính", c.sex], ["Địa chỉ", c.address]].forEach(function (row) {
      dl.appendChild(el("dt", {}, row[0])); dl.appendChild(el("dd", {}, row[1]));
    });
    result.appendChild(dl);
    (data.warnings || []).forEach(function (w) { result.appendChild(el("p", {"class": "warning"}, w)); });
    var phone = el("input", {id: "new-phone", placeholder: "Số điện thoại (không bắt buộc)", inputmode: "tel"});
    result.appendChild(phone);
    var confirm = el("button", {type: "button", id: "confirm-new", "class": "big"}, "Tạo hồ sơ và tiếp đón");
    confirm.addEventListener("click", function () {
      confirm.disabled = true;
      var body = options(); body.qr = qr; body.phone = phone.value;
      api("POST", root.dataset.register, body).then(function (r) {
        if (r.status === 201) { showTicket(r.data, null); } else { showError(r.data.error || "Không tạo được hồ sơ."); }
      });
    });
    result.appendChild(confirm);
    confirm.focus();
  }
  function submitScan(text) {
    if (busy || !text.trim()) { return; }
    busy = true;
    var body = options(); body.qr = text;
    api("POST", root.dataset.checkin, body).then(function (r) {
      busy = false;
      if (r.status === 201 || r.status === 200) {
        if (r.data.status === "unknown_patient") { showUnknown(r.data, text); } else { showTicket(r.data, text); }
      } else { showError(r.data.error || "Có lỗi, vui lòng quét lại."); }
    });
  }
  document.getElementById("scan-form").addEventListener("submit", function (e) {
    e.preventDefault(); submitScan(scan.value);
  });
  // Keep the scanner's field focused unless the user works elsewhere on purpose.
  document.addEventListener("click", function (e) {
    if (!e.target.closest("input, select, button, textarea, summary, a, label")) { scan.focus(); }
  });

  // Manual search.
  document.getElementById("search-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target, params = new URLSearchParams();
    ["cccd", "bhyt", "name", "dob"].forEach(function (k) { if (form[k].value.trim()) { params.set(k, form[k].value.trim()); } });
    var out = document.getElementById("search-results");
    api("GET", root.dataset.search + "?" + params.toString()).then(function (r) {
      out.textContent = "";
      if (r.status !== 200) { out.appendChild(el("p", {"class": "error", role: "alert"}, r.data.error)); return; }
      if (!r.data.patients.length) { out.appendChild(el("p", {}, "Không tìm thấy hồ sơ phù hợp.")); return; }
      r.data.patients.forEach(function (p) {
        var row = el("div", {"class": "search-row"});
        row.appendChild(el("span", {}, p.name + " · " + p.birth_date + " · " + p.sex + " · " + p.code + (p.status === "merged" ? " (đã gộp)" : "")));
        var b = el("button", {type: "button"}, "Tiếp đón");
        b.addEventListener("click", function () {
          var body = options(); body.patient_id = p.id;
          api("POST", root.dataset.checkinPatient, body).then(function (res) {
            if (res.status === 201 || res.status === 200) { showTicket(res.data, null); } else { showError(res.data.error); }
          });
        });
        row.appendChild(b);
        out.appendChild(row);
      });
    });
  });

  // Serial (USB-COM) scanners assigned to this screen.
  function pollScans() {
    api("GET", root.dataset.scans + "?screen=" + encodeURIComponent(root.dataset.screen)).then(function (r) {
      if (r.status === 200 && r.data && r.data.qr) { scan.value = r.data.qr; submitScan(r.data.qr); }
      window.setTimeout(pollScans, 700);
    });
  }
  pollScans();

  // Alerts: tickets that did not print, visits waiting for the BHYT lookup.
  function pollAlerts() {
    api("GET", root.dataset.alerts).then(function (r) {
      var box = document.getElementById("alerts");
      box.textContent = "";
      if (r.status === 200) {
        r.data.print_alerts.forEach(function (a) { box.appendChild(el("div", {"class": "flash flash-danger", role: "alert"}, a.message)); });
        if (r.data.to_verify) { box.appendChild(el("div", {"class": "flash flash-info"}, r.data.to_verify + " lượt khám đang chờ tra cứu thẻ BHYT.")); }
      }
      window.setTimeout(pollAlerts, 5000);
    });
  }
  pollAlerts();
})();
