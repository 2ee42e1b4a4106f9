// The kiosk's script: the idle timer, the reset after Done (and more time for
// it), focus after each step swaps in, text size and contrast changed in
// place, stars that pick their question, the letters left in a text box, and
// the count of taps sent with Finish, and a red flag kept until the desk has it.
// Reading aloud is speech.js; audio mode (keys and speech) is audio.js. No
// inline scripts (the CSP forbids them).
(function () {
  "use strict";

  const body = document.body;
  const idleMs = Number(body.dataset.idleSeconds || 90) * 1000;
  const warningSeconds = Number(body.dataset.warningSeconds || 30);
  const doneSeconds = Number(body.dataset.doneSeconds || 30);
  const doneMoreSeconds = Number(body.dataset.doneMoreSeconds || 60);
  const doneMaxSeconds = Number(body.dataset.doneMaxSeconds || 300);
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

  let remaining = 0;
  let doneShownFor = 0;

  function countDown(seconds, show) {
    remaining = seconds;
    show(remaining);
    tickTimer = setInterval(function () {
      remaining -= 1;
      doneShownFor += 1;
      show(Math.max(remaining, 0));
      if (remaining <= 0) wipe();
    }, 1000);
  }

  // Done: "I need more time" keeps the code up longer, never past the limit.
  function moreTime() {
    const left = doneMaxSeconds - doneShownFor;
    remaining = Math.max(remaining, Math.min(remaining + doneMoreSeconds, left));
    const shown = document.querySelector("[data-done-countdown]");
    if (shown) shown.textContent = String(remaining);
    const button = document.getElementById("more-time");
    if (button && remaining >= left) button.disabled = true;
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
      doneShownFor = 0;
      const shown = document.querySelector("[data-done-countdown]");
      // In audio mode the code stays until the patient presses a key twice
      // (audio.js), or the longest wait passes: they cannot see a countdown.
      const audio = document.documentElement.classList.contains("audio");
      countDown(audio ? doneMaxSeconds : doneSeconds, function (n) { if (shown) shown.textContent = String(n); });
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

  document.addEventListener("click", function (event) {
    if (event.target.closest("#more-time")) moreTime();
  });

  // Text size, contrast, reading aloud: the server keeps them for the visit
  // and says what they are now; the page follows without a reload.
  document.body.addEventListener("kiosk:display", function (event) {
    const settings = event.detail;
    document.documentElement.className = settings.html_class;
    document.querySelectorAll('.display-settings button[name="text_size"]').forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.value) === settings.text_size));
    });
    document.querySelectorAll(".display-settings button[data-setting]").forEach(function (button) {
      const on = settings[button.dataset.setting] === true;
      button.setAttribute("aria-pressed", String(on));
      button.value = on ? "off" : "on";
    });
    body.dataset.readAloud = settings.read_aloud ? "on" : "off";
  });

  // A new language reloads the page: take along what is tapped on the step
  // but not yet saved, for the server to show again in the new language.
  document.addEventListener("submit", function (event) {
    const languageForm = event.target.closest(".language-settings");
    if (!languageForm) return;
    // Back to this screen: the address has moved on since the page was drawn.
    languageForm.elements.next.value = window.location.pathname + window.location.search;
    const stepForm = document.querySelector("#screen form[data-step]");
    if (!stepForm) return;
    languageForm.querySelectorAll(".draft").forEach(function (old) { old.remove(); });
    const fields = Array.from(new FormData(stepForm)).concat([["draft_step", stepForm.dataset.step]]);
    fields.forEach(function ([name, value]) {
      if (name === "csrf_token" || typeof value !== "string") return;
      const input = document.createElement("input");
      input.type = "hidden";
      input.className = "draft";
      input.name = name;
      input.value = value;
      languageForm.appendChild(input);
    });
  }, true);

  // The patient's taps on the screen's controls, from Start to Finish, sent
  // with Finish for the desk's statistics: a number, never what was tapped.
  // Kept in sessionStorage, so a reload (a new language) keeps counting.
  const TAPS_KEY = "kiosk-taps";
  function tapsSoFar() {
    try { return Number(sessionStorage.getItem(TAPS_KEY)) || 0; } catch (e) { return 0; }
  }
  function storeTaps(n) {
    try { sessionStorage.setItem(TAPS_KEY, String(n)); } catch (e) { /* storage off: no count */ }
  }
  document.addEventListener("pointerdown", function (event) {
    // A label's own click on its box is a click, not a second pointerdown.
    if (event.target.closest("button, a[href], label, input, select, textarea, summary")) {
      storeTaps(tapsSoFar() + 1);
    }
  }, { passive: true, capture: true });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches("[data-starts-visit]")) storeTaps(1); // a new visit: its first tap is Start
    const taps = form.querySelector('input[name="taps"]');
    if (taps) taps.value = String(tapsSoFar());
  }, true);

  // --- a red flag that must reach the desk ------------------------------------
  // A report of signs on the safety check is kept in localStorage, with a key
  // made here, before it is sent; after every answer (a page, an error, no
  // answer at all) it is sent to /kiosk/alert, and again every few seconds,
  // until the server answers that it is stored (204). Never lost: it leaves
  // the kiosk only on that answer, and localStorage outlives a reload, the
  // idle reset and a restart of the server or the browser. Never doubled: the
  // server stores a key once (alert_report), so a report that arrived while
  // its answer was lost changes nothing when it comes again; a report made
  // while one is waiting joins it, under its key. What is kept is the key
  // and the signs' ids: nothing shown on screen, nothing the next patient sees.
  const PENDING = "kiosk-pending-alert";
  let stepInFlight = false;
  let sending = false;
  let retryTimer = null;
  let retryMs = 2000;

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function pendingAlert() {
    try { return JSON.parse(localStorage.getItem(PENDING) || "null"); } catch (e) { return null; }
  }
  function keepAlert(report) {
    try { localStorage.setItem(PENDING, JSON.stringify(report)); } catch (e) { /* storage off: the step's post stores it */ }
  }
  function csrfToken() {
    try { return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const keyField = form.querySelector("input[data-alert-key]");
    if (!keyField) return;
    const question = keyField.dataset.alertKey;
    const values = Array.from(form.querySelectorAll('input[name="' + question + '"]:checked'), function (box) { return box.value; });
    if (event.submitter && event.submitter.name === question) values.push(event.submitter.value);
    // "None" (alone, or with a sign ticked: asked again) reports nothing.
    if (!values.length || values.indexOf(keyField.dataset.noSigns) !== -1) { keyField.value = ""; return; }
    const report = pendingAlert() || { key: newKey(), signs: [] };
    values.forEach(function (sign) { if (report.signs.indexOf(sign) === -1) report.signs.push(sign); });
    // The desk is told the patient is listening, not looking (audio.js).
    if (document.documentElement.classList.contains("audio")) report.audio = true;
    keepAlert(report);
    keyField.value = report.key;
    stepInFlight = true;
  }, true);

  function sendAlert() {
    clearTimeout(retryTimer);
    const report = pendingAlert();
    if (!report || sending || stepInFlight) return;
    sending = true;
    const form = new FormData();
    form.append("key", report.key);
    report.signs.forEach(function (sign) { form.append(body.dataset.signsQuestion, sign); });
    if (report.audio) form.append("audio", "1");
    fetch(body.dataset.alertUrl || "/kiosk/alert", {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      sending = false;
      if (response.status === 204 || response.status === 422) {
        // Stored (or never storable). Signs added meanwhile go again, under the same key.
        const now = pendingAlert();
        if (now && now.key === report.key && now.signs.length === report.signs.length) {
          try { localStorage.removeItem(PENDING); } catch (e) { /* nothing to do */ }
          retryMs = 2000;
          return;
        }
      }
      retry();
    }, function () { sending = false; retry(); });
  }
  function retry() {
    retryTimer = setTimeout(sendAlert, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  }
  // No answer from this server at all (restarting, the network down, a
  // proxy's own error page): the urgent screen comes from the page itself,
  // with the signs the patient tapped. The report is kept all the same.
  function showUrgentHere() {
    const template = document.getElementById("urgent-offline");
    const screen = document.getElementById("screen");
    const keyField = document.querySelector("input[data-alert-key]");
    const report = pendingAlert();
    if (!template || !screen || !report || !keyField) return;
    const someOnly = keyField.dataset.someSigns;
    const specific = report.signs.filter(function (sign) { return sign !== someOnly; });
    const wanted = specific.length ? specific : [someOnly];
    const urgent = template.content.cloneNode(true);
    urgent.querySelectorAll("[data-sign]").forEach(function (item) {
      if (wanted.indexOf(item.dataset.sign) === -1) item.remove();
    });
    screen.replaceChildren(urgent);
    arm();
    const heading = screen.querySelector("h1");
    if (heading) heading.focus({ preventScroll: true });
    // A screen drawn here, not swapped in by htmx: audio mode says it too.
    screen.dispatchEvent(new CustomEvent("kiosk:screen", { bubbles: true }));
  }
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const elt = event.detail.elt;
    if (!stepInFlight || !elt || !elt.querySelector || !elt.querySelector("input[data-alert-key]")) return;
    const xhr = event.detail.xhr;
    if (xhr.status >= 500 && xhr.responseText.indexOf('class="urgent"') === -1) {
      event.detail.shouldSwap = false;
      showUrgentHere();
    }
  });

  // After the safety step's post, whatever its answer (htmx says so for an
  // error or a timeout too): no answer at all shows the urgent screen here;
  // then the report goes to the server to make sure.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt;
    if (!stepInFlight || !elt || !elt.querySelector || !elt.querySelector("input[data-alert-key]")) return;
    if (!event.detail.xhr || !event.detail.xhr.status) showUrgentHere();
    stepInFlight = false;
    retryMs = 2000;
    sendAlert();
  });

  // A star picks its question too; a question unpicked loses its star.
  document.addEventListener("change", function (event) {
    const input = event.target;
    const item = input.closest(".bank-item");
    if (!item) return;
    const pick = item.querySelector("label.choice input");
    const star = item.querySelector("label.star input");
    if (input === star && star.checked) pick.checked = true;
    if (input === pick && !pick.checked) star.checked = false;
  });

  // Letters typed against the limit, said as they are typed. Nothing is cut:
  // a paste that runs over stays, and the count says by how much.
  function countLetters(box) {
    const counter = document.getElementById(box.id + "-count");
    if (!counter) return;
    const limit = Number(box.dataset.limit);
    const used = Array.from(box.value.trim()).length;
    if (counter.dataset.empty === undefined) counter.dataset.empty = counter.textContent;
    counter.textContent = used === 0
      ? counter.dataset.empty
      : used > limit
      ? counter.dataset.over.replace("%(length)s", used).replace("%(limit)s", limit)
      : counter.dataset.count.replace("%(length)s", used).replace("%(limit)s", limit);
    counter.classList.toggle("over", used > limit);
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches("textarea[data-limit]")) countLetters(event.target);
  });
  function countAll() {
    document.querySelectorAll("#screen textarea[data-limit]").forEach(countLetters);
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
      countAll();
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

  // An enrollment link carries its one-time code after "#", a part of the
  // address the browser never sends, so no server or proxy log holds it.
  // Take it off the address and post it, to ask which kiosk this becomes.
  function sendEnrollmentCode() {
    const form = document.querySelector("#screen form[data-enroll-check]");
    const code = window.location.hash.slice(1);
    if (!form || !code) return;
    history.replaceState(null, "", window.location.pathname);
    form.elements.code.value = code;
    form.requestSubmit();
  }

  showFollowUps();
  countAll();
  arm();
  sendEnrollmentCode();
  sendAlert();
})();
