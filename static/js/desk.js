// Desk console: conditional polling of the queue, a chime for new alerts,
// escalation of alerts nobody has acknowledged, and coming back by itself
// after the database was away.
(function () {
  "use strict";

  const queue = document.getElementById("queue");
  let etag = queue ? queue.dataset.etag : null;
  let seenAlerts = null;

  // Ask the queue "anything new since this version?" so an idle poll is a 304.
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt === queue && etag) event.detail.headers["If-None-Match"] = etag;
  });
  // A poll that failed (the database away: the message is swapped in) forgets
  // the version, so the first poll that works draws the whole queue again.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt !== queue || !event.detail.xhr) return;
    if (!event.detail.successful || event.detail.xhr.status >= 500) { etag = null; return; }
    const tag = event.detail.xhr.getResponseHeader("ETag");
    if (tag) etag = tag;
  });

  // An error page while the database is away: ask again every few seconds,
  // and open the page once it answers. Nobody has to reload the desk.
  const recover = document.querySelector("[data-recover-url]");
  if (recover) {
    const url = recover.dataset.recoverUrl;
    setInterval(function () {
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        if (response.status < 500) window.location.replace(url);
      }, function () { /* the server itself is away: ask again */ });
    }, 5000);
  }

  // Browsers allow sound only after the page has been clicked once.
  let audio = null;
  document.addEventListener("pointerdown", function () {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
  }, { passive: true });

  let lastChimeAt = -Infinity;

  function chime() {
    lastChimeAt = Date.now();
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

  // --- escalation -----------------------------------------------------------
  // An alert left unacknowledged for its data-escalate-seconds looks more
  // urgent, shows how long it has waited, and chimes again, on every open desk.
  // After the first escalation chime it repeats every 30 s while any escalated
  // alert is still open: often enough that someone coming back to the desk
  // hears it within half a minute, seldom enough that staff talking to a
  // patient are not drowned out and do not learn to tune it out.
  const REPEAT_MS = 30000;
  // A newly escalated alert chimes at once, unless a chime has just played
  // (an alert this desk sees for the first time already overdue): that chime
  // then counts as its first.
  const JUST_PLAYED_MS = 2000;
  // When each alert element was swapped in, and the age the server gave it then.
  // The desk PC's clock only measures the time since, so it may be set wrong;
  // Date.now(), unlike performance.now(), keeps counting while the PC sleeps.
  const shown = new WeakMap();
  const escalated = new Set();
  let nextChimeAt = null;

  function waitedText(seconds) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = seconds % 60;
    if (hours) return "Waiting " + hours + " h " + minutes + " min";
    if (minutes) return "Waiting " + minutes + " min " + rest + " s";
    return "Waiting " + rest + " s";
  }

  function tick() {
    const now = Date.now();
    const open = new Set();
    let newlyEscalated = false;
    document.querySelectorAll("[data-alert-id]").forEach(function (el) {
      if (!shown.has(el)) shown.set(el, { at: now, waited: Number(el.dataset.waitedSeconds) || 0 });
      const since = shown.get(el);
      const waited = Math.max(0, Math.floor(since.waited + (now - since.at) / 1000));
      const threshold = Number(el.dataset.escalateSeconds);
      const id = el.dataset.alertId;
      open.add(id);
      if (!(threshold >= 0) || waited < threshold) {
        // Not yet due (a fresh render brings the server's age again).
        el.classList.remove("escalated");
        escalated.delete(id);
        return;
      }
      el.classList.add("escalated");
      const label = el.querySelector(".waited");
      const text = waitedText(waited);
      if (label && label.textContent !== text) label.textContent = text;
      if (!escalated.has(id)) { escalated.add(id); newlyEscalated = true; }
    });
    for (const id of escalated) if (!open.has(id)) escalated.delete(id);

    if (!escalated.size) { nextChimeAt = null; return; }
    if (newlyEscalated) {
      const due = now - lastChimeAt < JUST_PLAYED_MS ? lastChimeAt + REPEAT_MS : now;
      nextChimeAt = nextChimeAt === null ? due : Math.min(nextChimeAt, due);
    }
    if (nextChimeAt !== null && now >= nextChimeAt) {
      chime();
      nextChimeAt = now + REPEAT_MS;
    }
  }

  // Straight after the swap, before the new fragment is painted, so an
  // escalated alert never shows for a moment as a plain one.
  document.body.addEventListener("htmx:afterSwap", function () {
    checkAlerts();
    tick();
  });
  checkAlerts();
  tick();
  setInterval(tick, 1000);
})();
