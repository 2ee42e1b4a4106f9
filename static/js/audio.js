// Audio mode: the kiosk used by ear and by keys alone, for a patient who
// cannot see the screen (a tactile keypad that types ordinary keys, and
// headphones). Any key of the clinic's key map starts it on any screen, with
// nothing seen or touched first; the server keeps it for the visit, and the
// reset ends it. Every move is said (role, state, label, where it is), every
// new screen says its title and what to do once, and a key cuts short what
// is being said. The words and the voice come from speech.js; the keys from
// clinic.toml (data-audio-keys); what the screen does from kiosk.js.
(function () {
  "use strict";

  const body = document.body;
  const root = document.documentElement;
  const speech = window.kioskSpeech;
  if (!speech) return;
  const words = speech.words;
  const dialog = document.getElementById("idle-dialog");
  const cover = document.getElementById("audio-cover");
  const masthead = document.querySelector(".masthead");
  const screen = document.getElementById("screen");
  const RATES = [0.6, 0.75, 0.9, 1.1, 1.3, 1.6]; // as kiosk/patient/display.py
  const VOLUMES = [0.25, 0.5, 0.75, 1.0];

  const actions = {};
  try {
    Object.entries(JSON.parse(body.dataset.audioKeys || "{}")).forEach(function ([action, names]) {
      names.forEach(function (name) { actions[name] = action; });
    });
  } catch (e) { /* no key map: audio mode cannot start */ }

  let on = body.dataset.audio === "on";
  let cursor = null;
  let donePresses = 0;
  let rateStep = Math.max(0, RATES.indexOf(Number(body.dataset.speechRate)));
  let volumeStep = Math.max(0, VOLUMES.indexOf(Number(body.dataset.speechVolume)));

  function blank() {
    return root.classList.contains("audio-blank");
  }

  function keyName(event) {
    return event.key === " " ? "Space" : event.key;
  }

  function onDone() {
    return Boolean(screen && screen.querySelector("[data-spelled]"));
  }

  // --- where the patient is -------------------------------------------------------

  // The controls in the order they are visited: the screen's, then the
  // masthead's (language, text size, ...). On a screen's bar, Next comes
  // before Back: it is the one wanted most. Inside the idle prompt, its own.
  function items() {
    if (dialog && dialog.open) return speech.controlsIn(dialog);
    const own = screen ? speech.controlsIn(screen) : [];
    own.forEach(function (element, index) {
      const next = own[index + 1];
      if (element.matches(".back") && next && next.matches(".next") && speech.groupOf(next) === speech.groupOf(element)) {
        own[index] = next;
        own[index + 1] = element;
      }
    });
    return own.concat(masthead ? speech.controlsIn(masthead) : []);
  }

  function say(texts) {
    speech.say(texts.filter(Boolean));
  }

  function moveTo(element, before) {
    const previous = before === undefined ? cursor : before;
    cursor = element;
    if (!element) return "";
    if (blank()) {
      if (cover && document.activeElement !== cover) cover.focus({ preventScroll: true });
    } else {
      element.focus();
    }
    return speech.describe(element, { after: previous });
  }

  function current(list) {
    if (cursor && list.indexOf(cursor) !== -1) return list.indexOf(cursor);
    return -1;
  }

  function step(by) {
    const list = items();
    if (!list.length) return;
    const at = current(list);
    const index = at === -1 ? (by > 0 ? 0 : list.length - 1) : (at + by + list.length) % list.length;
    say([moveTo(list[index])]);
  }

  // Left and right: to the first answer of the next (or previous) question.
  function skip(by) {
    const list = items();
    if (!list.length) return;
    const at = current(list);
    if (at === -1) return step(by);
    const here = speech.groupOf(list[at]);
    let index = at;
    for (let n = 0; n < list.length; n += 1) {
      index = (index + by + list.length) % list.length;
      if (speech.groupOf(list[index]) !== here || !here) break;
    }
    const there = speech.groupOf(list[index]);
    if (by < 0 && there) {
      while (speech.groupOf(list[(index - 1 + list.length) % list.length]) === there && index > 0) index -= 1;
    }
    say([moveTo(list[index])]);
  }

  function choose() {
    if (!cursor || items().indexOf(cursor) === -1) return step(1);
    const element = cursor;
    if (element.matches("input[type='checkbox'], input[type='radio']")) {
      element.click();
      say([speech.describe(element, { position: false })]);
    } else if (element.matches("textarea")) {
      say([speech.describe(element, { position: false })]);
    } else {
      element.click();
    }
  }

  function back() {
    const link = screen && Array.from(screen.querySelectorAll("a.back")).find(function (a) {
      return a.getClientRects().length > 0;
    });
    if (link) link.click();
    else say([words.noBack]);
  }

  // The screen's title and what to do, and its messages (problems to fix).
  function arrivalTexts() {
    if (!screen) return [];
    const pieces = [];
    screen.querySelectorAll("h1, p.lead, p.notice, .field-error, .urgent p, .urgent li").forEach(function (element) {
      if (element.closest("[hidden]") || element.getClientRects().length === 0) return;
      const text = speech.textOf(element);
      if (text && pieces.indexOf(text) === -1) pieces.push(text);
    });
    return pieces;
  }

  function doneTexts() {
    const code = screen.querySelector("[data-spelled]");
    return [speech.plain(screen.querySelector("h1").textContent), code.dataset.spelled, words.goToDesk, words.pressTwice];
  }

  // A new screen: its title and what to do, once; then the first answer
  // (the first with a problem, if any).
  function arrive(first) {
    cursor = null;
    donePresses = 0;
    const before = first ? [first] : [];
    if (onDone()) {
      if (blank() && cover) cover.focus({ preventScroll: true });
      say(before.concat(doneTexts()));
      return;
    }
    const list = items();
    const problem = screen && screen.querySelector(".has-error");
    const start = (problem && list.find(function (element) { return problem.contains(element); }))
      || list.find(function (element) { return screen && screen.contains(element); }) || list[0];
    say(before.concat(arrivalTexts(), [start ? moveTo(start, null) : ""]));
  }

  function help() {
    if (onDone()) return say(doneTexts());
    const list = items();
    const where = cursor && list.indexOf(cursor) !== -1 ? speech.describe(cursor, { after: null }) : "";
    const title = screen && screen.querySelector("h1");
    say([title ? speech.plain(title.textContent) : "", where, words.intro]);
  }

  // Speed and loudness in steps, kept for the visit by the server.
  function levels(action) {
    if (action === "slower") rateStep = Math.max(0, rateStep - 1);
    if (action === "faster") rateStep = Math.min(RATES.length - 1, rateStep + 1);
    if (action === "softer") volumeStep = Math.max(0, volumeStep - 1);
    if (action === "louder") volumeStep = Math.min(VOLUMES.length - 1, volumeStep + 1);
    speech.levels(RATES[rateStep], VOLUMES[volumeStep]);
    send({ speech_rate: String(rateStep), speech_volume: String(volumeStep) });
    say([words[action]]);
  }

  // Settings go to the server as a tap on the masthead's buttons would send
  // them; its answer (the settings now) goes to kiosk.js and speech.js.
  function send(fields) {
    const form = masthead && masthead.querySelector("form.display-settings");
    if (!form) return;
    const data = new FormData();
    const token = form.querySelector("input[name='csrf_token']");
    if (token) data.append("csrf_token", token.value);
    Object.entries(fields).forEach(function ([name, value]) { data.append(name, value); });
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin", headers: { "HX-Request": "true" },
    }).then(function (response) {
      const trigger = response.headers.get("HX-Trigger");
      if (!trigger) return;
      const settings = JSON.parse(trigger)["kiosk:display"];
      if (settings) body.dispatchEvent(new CustomEvent("kiosk:display", { detail: settings }));
    }).catch(function () { /* the server is away: audio mode goes on here */ });
  }

  let starting = false;

  function start() {
    on = true;
    starting = true;
    root.classList.add("audio");
    body.dataset.audio = "on";
    send({ audio: "on" });
    arrive(words.intro);
  }

  // A letter typed into a text box that cannot be seen (the screen is blank).
  function typeBlind(event) {
    if (!blank() || !cursor || !cursor.matches("textarea")) return false;
    const key = event.key;
    if (key.length === 1) cursor.value += key;
    else if (key === "Backspace") cursor.value = Array.from(cursor.value).slice(0, -1).join("");
    else return false;
    cursor.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  function typing(event) {
    const target = event.target;
    if (!target.matches || !target.matches("textarea")) return false;
    // Keys that write stay the text box's; arrows and Enter stay audio mode's,
    // so a keypad is never stuck in a box it cannot type in.
    return event.key.length === 1 || ["Backspace", "Delete", "Home", "End"].indexOf(event.key) !== -1;
  }

  // The side arrows point the way they go: on a page read right to left
  // (Arabic) the left arrow goes on to the next question, the right one back.
  const MIRRORED = { previous_question: "next_question", next_question: "previous_question" };

  function actionOf(event) {
    const action = actions[keyName(event)];
    const side = event.key === "ArrowLeft" || event.key === "ArrowRight";
    return side && root.dir === "rtl" && MIRRORED[action] ? MIRRORED[action] : action;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const action = actionOf(event);
    if (!on) {
      if (!action || typing(event)) return;
      // Someone who moved here with Tab and sees the screen: Enter is theirs.
      const focused = document.activeElement;
      if (action === "choose" && focused && focused.matches("button, a[href], input, textarea") && focused.matches(":focus-visible")) return;
      event.preventDefault();
      start();
      return;
    }
    speech.stop(); // any key cuts short what is being said
    if (dialog && dialog.open) {
      event.preventDefault();
      document.getElementById("idle-stay").click();
      say([words.stillHere]);
      return;
    }
    if (typing(event) || typeBlind(event)) {
      if (blank()) event.preventDefault();
      return;
    }
    if (onDone()) {
      event.preventDefault();
      if (action === "help") return help();
      donePresses += 1;
      if (donePresses >= 2) {
        const reset = document.getElementById("reset-form");
        if (reset) reset.submit();
      } else {
        say([words.pressAgain]);
      }
      return;
    }
    if (!action) return;
    event.preventDefault();
    if (action === "previous") step(-1);
    else if (action === "next") step(1);
    else if (action === "previous_question") skip(-1);
    else if (action === "next_question") skip(1);
    else if (action === "choose") choose();
    else if (action === "help") help();
    else if (action === "back") back();
    else levels(action);
  }, true);

  // A tap (someone helping) moves the cursor too.
  document.addEventListener("focusin", function (event) {
    if (on && event.target.matches && items().indexOf(event.target) !== -1) cursor = event.target;
  });

  body.addEventListener("htmx:afterSettle", function (event) {
    if (on && event.detail.target && event.detail.target.id === "screen") arrive();
  });
  // The urgent screen kiosk.js draws itself when the server does not answer.
  body.addEventListener("kiosk:screen", function () {
    if (on) arrive();
  });

  // The masthead's settings changed (by keys, or a tap): the blank screen
  // comes and goes, and what changed is said.
  let wasBlank = blank();
  body.addEventListener("kiosk:display", function (event) {
    const settings = event.detail;
    if (!on) return;
    root.classList.add("audio"); // kiosk.js set the classes anew; audio mode lasts
    const justStarted = starting;
    starting = false;
    if (settings.blank_screen !== wasBlank) {
      wasBlank = settings.blank_screen;
      if (wasBlank) {
        if (cover) cover.focus({ preventScroll: true });
        // Blank from the start (the clinic's setting): said after the welcome to audio mode.
        if (justStarted) speech.add([words.screenHidden]);
        else say([words.screenHidden]);
      } else {
        say([words.screenShown, cursor ? moveTo(cursor, cursor) : ""]);
      }
    }
  });

  // The idle prompt, said as it opens: any key answers it.
  if (dialog) {
    new MutationObserver(function () {
      if (on && dialog.open) say(speech.piecesOf(dialog));
    }).observe(dialog, { attributes: true, attributeFilter: ["open"] });
  }

  if (on) arrive(new URLSearchParams(window.location.search).get("audio") === "1" ? words.intro : "");
})();
