// The kiosk's only script of its own: the idle timer, the reset after Done,
// and focus after each step swaps in. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  const body = document.body;
  const idleMs = Number(body.dataset.idleSeconds || 90) * 1000;
  const warningSeconds = Number(body.dataset.warningSeconds || 30);
  const doneSeconds = Number(body.dataset.doneSeconds || 30);
  const dialog = document.getElementById("idle-dialog");
  const countdown = document.getElementById("idle-countdown");
  const resetForm = document.getElementById("reset-form");

  let idleTimer = null;
  let tickTimer = null;
  let wiping = false;

  // Each screen says what the timer should do: "visit" (answers on screen:
  // warn, then wipe), "done" (clear after a while), or "off".
  function mode() {
    const marker = document.querySelector("#screen [data-idle-mode]");
    return marker ? marker.dataset.idleMode : "off";
  }

  function stopTimers() {
    clearTimeout(idleTimer);
    clearInterval(tickTimer);
  }

  function wipe() {
    if (wiping || !resetForm) return;
    wiping = true;
    stopTimers();
    resetForm.submit();
  }

  function countDown(seconds, show) {
    let remaining = seconds;
    show(remaining);
    tickTimer = setInterval(function () {
      remaining -= 1;
      show(Math.max(remaining, 0));
      if (remaining <= 0) wipe();
    }, 1000);
  }

  function warn() {
    if (!dialog) return wipe();
    dialog.showModal();
    countDown(warningSeconds, function (n) { countdown.textContent = String(n); });
  }

  function arm() {
    stopTimers();
    if (dialog && dialog.open) dialog.close();
    const current = mode();
    if (current === "visit") {
      idleTimer = setTimeout(warn, idleMs);
    } else if (current === "done") {
      const shown = document.querySelector("[data-done-countdown]");
      countDown(doneSeconds, function (n) { if (shown) shown.textContent = String(n); });
    }
  }

  function onActivity() {
    if (mode() === "visit" && !(dialog && dialog.open)) arm();
  }

  ["pointerdown", "keydown", "input"].forEach(function (type) {
    document.addEventListener(type, onActivity, { passive: true, capture: true });
  });

  if (dialog) {
    document.getElementById("idle-stay").addEventListener("click", arm);
    document.getElementById("idle-leave").addEventListener("click", wipe);
    // Escape closes a modal dialog: treat it as "I am still here".
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); arm(); });
  }

  // A follow-up field ("your other reason") shows only while its choice is ticked.
  function showFollowUps() {
    document.querySelectorAll("#screen [data-shown-with]").forEach(function (field) {
      const [name, value] = field.dataset.shownWith.split("=");
      const choice = document.querySelector(`#screen input[name="${name}"][value="${value}"]`);
      field.hidden = !(choice && choice.checked);
    });
  }
  document.addEventListener("change", showFollowUps);

  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "screen") {
      showFollowUps();
      arm();
      const heading = document.querySelector("#screen h1");
      if (heading) heading.focus({ preventScroll: true });
    }
  });

  // A page restored from the back-forward cache may show a wiped visit:
  // always ask the server again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });

  showFollowUps();
  arm();
})();
