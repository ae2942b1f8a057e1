// Calling display for the waiting-room TV: polls every 700 ms, flashes and chimes on a new call.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var offline = document.getElementById("offline");
  var seen = {};
  var audio = null;
  var first = true;
  document.getElementById("chime-on").addEventListener("click", function (e) {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    e.target.textContent = "🔔 Chuông đang bật";
  });
  function chime() {
    // A short two-tone chime synthesised with WebAudio: no sound files to ship.
    if (!audio) { return; }
    [[659.25, 0], [523.25, 0.35]].forEach(function (tone) {
      var osc = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime + tone[1];
      osc.type = "sine"; osc.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, t); gain.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
      osc.connect(gain); gain.connect(audio.destination); osc.start(t); osc.stop(t + 0.65);
    });
  }
  function render(data) {
    var rang = false;
    data.rooms.forEach(function (room) {
      var section = board.querySelector('[data-room="' + room.code + '"]');
      if (!section) { return; }
      section.querySelector(".room-name").textContent = room.name;
      var current = section.querySelector(".current");
      current.textContent = room.current || "—";
      section.querySelector(".recent").textContent = room.recent.length ? "Đã gọi: " + room.recent.join("  ") : "";
      section.querySelector(".waiting").textContent = "Đang chờ: " + room.waiting;
      if (room.current_call && seen[room.code] !== room.current_call) {
        if (!first) { rang = true; current.classList.remove("flash-call"); void current.offsetWidth; current.classList.add("flash-call"); }
        seen[room.code] = room.current_call;
      }
    });
    if (rang) { chime(); }
    first = false;
  }
  function poll() {
    fetch(board.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (data) { offline.hidden = true; render(data); },
            function () { offline.hidden = false; }).then(function () { window.setTimeout(poll, 700); });
  }
  poll();
})();
