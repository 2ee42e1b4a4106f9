// Read to me: the screen spoken aloud with the browser's own speech synthesis.
// Only voices on this machine are used (on Debian: speech-dispatcher and
// espeak-ng, with Chromium started with --enable-speech-dispatcher), so no
// word a patient hears, or taps, leaves the kiosk. The server keeps the
// setting for the visit; kiosk.js updates the button, this file speaks.
// It also lends audio mode (audio.js) its voice and its way of saying what
// a control is, as window.kioskSpeech.
(function () {
  "use strict";

  const synth = window.speechSynthesis;
  const button = document.getElementById("read-aloud");
  const canSpeak = Boolean(synth) && typeof window.SpeechSynthesisUtterance === "function";

  const body = document.body;
  const root = document.documentElement;
  const screen = document.getElementById("screen");
  const dialog = document.getElementById("idle-dialog");
  const lang = root.lang || "en";
  const words = (document.getElementById("audio-words") || body).dataset;
  // Speed and loudness: the visit's (a little slower than usual at first:
  // many patients are older, or new to the language).
  let rate = Number(body.dataset.speechRate) || 0.9;
  let volume = Number(body.dataset.speechVolume) || 1;

  // What a screen says, found in reading order. A piece inside a piece already
  // taken (the hint in an answer's label) is read with it, not again.
  const PIECES = [
    "h1", "h2",
    "p", // the lead, notes, notices, problems with an answer, hints, the claim code
    "legend", // a question, or a topic in the question bank
    ".question > label", // a question answered by typing
    "label.choice", // an answer, with its hint
    ".safety-answers button", // the safety check's two answers are buttons
    "li", // the signs on the urgent screen, answers on the review
    "dt", "dd",
  ].join(", ");
  // Never read: text for screen readers that says again what is read anyway
  // (the star's "Most important: …"), what is hidden from them, the star
  // buttons, the step counter and the letter counter (noise before and after
  // what matters), the language buttons (each names itself in its own language).
  const SKIP = [
    ".visually-hidden", "[aria-hidden='true']",
    "label.star", ".progress-label", ".counter", "form.preferences",
  ].join(", ");

  // The controls a patient moves between, and what each is, in words.
  const CONTROLS = "input[type='checkbox'], input[type='radio'], textarea, button, a[href]";
  const GROUPS = "fieldset, .question, .nav, .safety-answers, .review-head, .actions, .masthead form, .start-form";

  function readAloud() {
    return body.dataset.readAloud === "on" && !audioMode();
  }
  function audioMode() {
    return root.classList.contains("audio");
  }

  let on = readAloud();
  let voice = null;
  let waitingForVoice = false;
  let readingDialog = false;
  let waitingTexts = null;

  // "en_US", "en-us" and "en-US" are one language tag; "en" is its primary part.
  function tagOf(code) {
    return code.toLowerCase().replace("_", "-");
  }

  function primary(code) {
    return tagOf(code).split("-")[0];
  }

  // A voice for the page's language, and only one on this machine: a remote
  // voice would send the screen's words to someone else's server.
  // A page in a language without a region ("es") is spoken in the variant
  // a US clinic's patients speak, when the machine has it: espeak-ng lists
  // Spain's Spanish as plain "es" and British English first.
  const AMERICAN = { en: ["en-us"], es: ["es-419", "es-us", "es-mx"] };

  // A page's language may be spoken by voices tagged with the language
  // spoken rather than the one written: Chinese ("zh-Hans", "zh-Hant") is
  // read aloud in Mandarin, which espeak-ng tags "cmn". Its plain "cmn" voice
  // (espeak-ng 1.51, "latin as English") reads Chinese characters as pinyin
  // syllables and tone numbers said in English; "cmn-latn-pinyin" reads them
  // as Mandarin. Best first; a voice tagged "zh-..." is taken before them.
  const SPOKEN_AS = { zh: ["cmn-latn-pinyin", "cmn"] };

  function findVoice() {
    const spokenAs = SPOKEN_AS[primary(lang)] || [];
    const languages = [primary(lang)].concat(spokenAs.map(primary));
    const local = synth.getVoices().filter(function (v) {
      return v.localService && languages.indexOf(primary(v.lang)) !== -1;
    });
    const tagged = function (tag) {
      return local.filter(function (v) { return tagOf(v.lang) === tag; });
    };
    const exact = tagged(tagOf(lang));
    const american = tagOf(lang) === primary(lang) ? (AMERICAN[primary(lang)] || []).flatMap(tagged) : [];
    const written = local.filter(function (v) { return primary(v.lang) === primary(lang); });
    const spoken = spokenAs.flatMap(tagged);
    const best = american.length ? american : exact.length ? exact : written.length ? written : spoken;
    return best.find(function (v) { return v.default; }) || best[0]
      || local.find(function (v) { return v.default; }) || local[0] || null;
  }

  // Voices may come late (Chromium asks speech-dispatcher after the page
  // loads); the button shows only once there is one to speak with.
  function voicesChanged() {
    voice = findVoice();
    if (button) button.hidden = !voice;
    if (voice && waitingTexts) {
      const texts = waitingTexts;
      waitingTexts = null;
      speak(texts);
    }
    if (voice && waitingForVoice) {
      waitingForVoice = false;
      readScreen();
    }
  }

  function skipped(element) {
    return element.matches(SKIP) || element.hidden;
  }

  // Shown and not skipped: no `hidden`, no display:none on the way up (a
  // follow-up box not asked for, the closed idle prompt).
  function readable(element) {
    return element.closest(SKIP) === null && element.getClientRects().length > 0;
  }

  function textOf(element) {
    const label = element.getAttribute("aria-label");
    if (label) return label; // the claim code: its letters one by one
    let text = "";
    element.childNodes.forEach(function (node) {
      if (node.nodeType === Node.TEXT_NODE) text += node.textContent;
      else if (node.nodeType === Node.ELEMENT_NODE && !skipped(node)) text += " " + textOf(node) + " ";
    });
    // Symbols (the review's ★) would be read by name ("black star"): left out.
    return text.replace(/\p{So}/gu, "").replace(/\s+/g, " ").replace(/\s+([.,:;!?])/g, "$1").trim();
  }

  function piecesOf(root) {
    const taken = [];
    root.querySelectorAll(PIECES).forEach(function (element) {
      if (!readable(element) || taken.some(function (t) { return t.contains(element); })) return;
      // A list of answers on the review: each answer is its own piece.
      if (element.matches("dd") && element.querySelector("li")) return;
      // A question in the bank: its label is the piece, not the star beside it.
      if (element.matches("li") && element.querySelector("label.choice")) return;
      taken.push(element);
    });
    return taken.map(textOf).filter(Boolean);
  }

  function speak(texts) {
    texts.forEach(function (text) {
      if (!text) return;
      // One utterance a piece: natural pauses, and a long screen is not one
      // long utterance that some engines cut short.
      const utterance = new window.SpeechSynthesisUtterance(text);
      utterance.lang = lang;
      utterance.voice = voice;
      utterance.rate = rate;
      utterance.volume = volume;
      synth.speak(utterance);
    });
  }

  function stop() {
    readingDialog = false;
    waitingTexts = null;
    if (canSpeak) synth.cancel();
  }

  // --- a control, in words: its role, its state, its label, where it is ---------

  function plain(text) {
    return (text || "").replace(/\p{So}/gu, "").replace(/\s+/g, " ").replace(/\s+([.,:;!?])/g, "$1").trim();
  }

  function fill(sentence, values) {
    return sentence.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  }

  function groupOf(element) {
    return element.closest(GROUPS);
  }

  // Shown, or only made invisible by a blank screen: not hidden, not display:none.
  function displayed(element) {
    return element.getClientRects().length > 0 && !element.closest("[hidden]");
  }

  function controlsIn(rootElement) {
    return Array.from(rootElement.querySelectorAll(CONTROLS)).filter(function (element) {
      return !element.disabled && element.type !== "hidden" && displayed(element);
    });
  }

  function labelOf(element) {
    if (element.matches(".star input")) {
      const item = element.closest(".bank-item, .question");
      const question = item && item.querySelector("label.choice, label[for]");
      return question ? textOf(question) : "";
    }
    if (element.matches("label input")) return textOf(element.closest("label"));
    if (element.id) {
      const label = document.querySelector(`label[for="${element.id}"]`);
      if (label) return textOf(label);
    }
    return plain(element.getAttribute("aria-label") || element.textContent);
  }

  function roleAndState(element) {
    if (element.matches(".star input")) return `${words.star}, ${element.checked ? words.starred : words.notStarred}`;
    if (element.type === "checkbox") return `${words.checkBox}, ${element.checked ? words.ticked : words.notTicked}`;
    if (element.type === "radio") return `${words.choice}, ${element.checked ? words.chosen : words.notChosen}`;
    if (element.matches("textarea")) return words.textBox;
    const pressed = element.getAttribute("aria-pressed");
    if (pressed) return `${words.button}, ${pressed === "true" ? words.on : words.off}`;
    return words.button;
  }

  // "3 of 9": among the answers of its question (stars counted with stars).
  function position(element) {
    const group = groupOf(element);
    if (!group || !group.matches("fieldset")) return "";
    const star = element.matches(".star input");
    const alike = controlsIn(group).filter(function (other) {
      return other.matches(".star input") === star;
    });
    if (alike.length < 2) return "";
    return fill(words.position || "", { number: alike.indexOf(element) + 1, total: alike.length });
  }

  // The question, said once as a patient moves into it.
  function questionOf(element) {
    const group = groupOf(element);
    const legend = group && group.matches("fieldset") ? group.querySelector("legend") : null;
    if (!legend) return "";
    const hint = group.querySelector(":scope > .hint");
    return [textOf(legend), hint ? textOf(hint) : ""].filter(Boolean).join(". ");
  }

  function describe(element, options) {
    const settings = options || {};
    let said = `${roleAndState(element)}: ${labelOf(element)}.`;
    if (element.matches("textarea")) said += ` ${element.value.trim() || words.empty}.`;
    const where = settings.position === false ? "" : position(element);
    if (where) said += ` ${where}.`;
    said = said.trim();
    if (settings.after !== undefined && groupOf(element) !== (settings.after && groupOf(settings.after))) {
      const question = questionOf(element);
      if (question) said = `${question}. ${said}`;
    }
    return said.replace(/\.\./g, ".").replace(/([?!:])\./g, "$1");
  }

  // What audio mode and Read to me share: one voice, one queue.
  window.kioskSpeech = {
    controlsIn: controlsIn,
    groupOf: groupOf,
    describe: describe,
    textOf: textOf,
    piecesOf: piecesOf,
    plain: plain,
    words: words,
    // Cut short whatever is being said, then say these (once a voice is found).
    say: function (texts) {
      stop();
      if (!canSpeak) return;
      if (voice) speak(texts);
      else waitingTexts = texts;
    },
    // Say these after what is being said.
    add: function (texts) {
      if (!canSpeak) return;
      if (voice) speak(texts);
      else waitingTexts = (waitingTexts || []).concat(texts);
    },
    stop: stop,
    levels: function (newRate, newVolume) {
      rate = newRate;
      volume = newVolume;
    },
  };

  if (!canSpeak) return;

  function readScreen() {
    if (!voice) {
      waitingForVoice = true;
      return;
    }
    stop();
    if (screen) speak(piecesOf(screen));
  }

  // The setting changed (kiosk.js has already updated the button). Text size
  // or contrast changing while reading is on must not start it over.
  body.addEventListener("kiosk:display", function (event) {
    rate = event.detail.rate || rate;
    volume = event.detail.volume || volume;
    const now = event.detail.read_aloud === true && event.detail.audio !== true;
    if (now && !on) {
      on = true;
      readScreen();
    } else if (!now && on) {
      on = false;
      waitingForVoice = false;
      // Audio mode taking over keeps talking (it has begun already).
      if (event.detail.audio !== true) stop();
    }
  });

  body.addEventListener("htmx:afterSettle", function (event) {
    if (on && event.detail.target && event.detail.target.id === "screen") readScreen();
  });

  // Moving by keys (Tab) is said too: what the control is, its state, its label.
  // A tap that puts focus on an answer is said by its change, below.
  let lastFocused = null;
  document.addEventListener("focusin", function (event) {
    const control = event.target;
    if (!on || !voice || !control.matches || !control.matches(CONTROLS) || !control.matches(":focus-visible")) return;
    stop();
    speak([describe(control, { after: lastFocused })]);
    lastFocused = control;
  });

  // A tapped answer is said back, cutting short whatever was being read. An
  // answer unticked says nothing: hearing its label would sound like picking it.
  document.addEventListener("change", function (event) {
    const input = event.target;
    const choice = input.closest && input.closest("label.choice");
    if (!on || !voice || !choice) return;
    stop();
    if (!input.checked) return;
    speak([textOf(choice)]);
    // kiosk.js has just shown a follow-up box for this answer ("your other
    // reason"): say what it asks too.
    document.querySelectorAll("#screen [data-shown-with]").forEach(function (field) {
      if (field.dataset.shownWith === `${input.name}=${input.value}` && !field.hidden) speak(piecesOf(field));
    });
  });

  // The idle prompt is read as it opens, and no longer once it closes.
  if (dialog) {
    new MutationObserver(function () {
      if (dialog.open && on && voice) {
        stop();
        readingDialog = true;
        speak(piecesOf(dialog));
      } else if (!dialog.open && readingDialog) {
        stop();
      }
    }).observe(dialog, { attributes: true, attributeFilter: ["open"] });
  }

  // Nothing of this visit is said after the page goes (a reset, a new language).
  window.addEventListener("pagehide", stop);

  synth.addEventListener("voiceschanged", voicesChanged);
  voicesChanged();
  if (on) readScreen();
})();
