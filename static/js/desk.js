// Desk console: conditional polling of the queue, and a chime for new alerts.
(function () {
  "use strict";

  const queue = document.getElementById("queue");
  let etag = queue ? queue.dataset.etag : null;
  let seenAlerts = null;

  // Ask the queue "anything new since this version?" so an idle poll is a 304.
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt === queue && etag) event.detail.headers["If-None-Match"] = etag;
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== queue || !event.detail.xhr) return;
    const tag = event.detail.xhr.getResponseHeader("ETag");
    if (tag) etag = tag;
  });

  // Browsers allow sound only after the page has been clicked once.
  let audio = null;
  document.addEventListener("pointerdown", function () {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
  }, { passive: true });

  function chime() {
    if (document.body.dataset.chime !== "on" || !audio) return;
    const now = audio.currentTime;
    [880, 660].forEach(function (frequency, i) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.25 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.25 + 0.5);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + i * 0.25);
      tone.stop(now + i * 0.25 + 0.55);
    });
  }

  function alertIds() {
    return new Set(Array.from(document.querySelectorAll("[data-alert-id]"), function (el) { return el.dataset.alertId; }));
  }

  function checkAlerts() {
    const current = alertIds();
    if (seenAlerts !== null) {
      for (const id of current) {
        if (!seenAlerts.has(id)) { chime(); break; }
      }
    }
    seenAlerts = current;
  }

  document.body.addEventListener("htmx:afterSettle", checkAlerts);
  checkAlerts();
})();
