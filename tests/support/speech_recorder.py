"""Speech in a real browser without a sound card: a recorder in place of the
browser's speech synthesis, with voices of the test's choosing. What the
kiosk would say is read back from `window.__spoken`."""

from __future__ import annotations

ENGLISH = {"name": "English (America)", "lang": "en-US"}
FRENCH = {"name": "Français", "lang": "fr-FR"}
RATE = 0.9
IDLE_TITLE = "Are you still there?"

# Replaces the browser's speech synthesis with a recorder. Voices come a
# moment after the page's scripts have run, as Chromium's do; `late` makes
# that moment longer. `window.__voicesAnnounced` says they have come.
FAKE_SPEECH = """
(config) => {
  window.__spoken = [];
  if (config.absent) {
    Object.defineProperty(window, "speechSynthesis", { value: undefined, configurable: true });
    return;
  }
  const voices = config.voices.map((v) => ({
    name: v.name, lang: v.lang, voiceURI: v.name, default: false, localService: v.local !== false,
  }));
  class RecordingSynthesis extends EventTarget {
    constructor() { super(); this.ready = false; this.speaking = false; this.pending = false; this.paused = false; }
    getVoices() { return this.ready ? voices.slice() : []; }
    speak(u) {
      window.__spoken.push({ text: u.text, lang: u.lang, rate: u.rate, voice: u.voice && u.voice.name });
    }
    cancel() { window.__spoken.push({ cancel: true }); }
    pause() {}
    resume() {}
  }
  class Utterance extends EventTarget {
    constructor(text) { super(); this.text = text; this.lang = ""; this.voice = null; this.rate = 1; }
  }
  const synth = new RecordingSynthesis();
  Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
  Object.defineProperty(window, "SpeechSynthesisUtterance", { value: Utterance, configurable: true });
  document.addEventListener("DOMContentLoaded", () => setTimeout(() => {
    synth.ready = true;
    synth.dispatchEvent(new Event("voiceschanged"));
    window.__voicesAnnounced = true;
  }, config.late ? 500 : 0));
}
"""

# What is being read now: everything said since speech was last cut short.
READING_NOW = """() => {
  const all = window.__spoken;
  const cut = all.map((s) => Boolean(s.cancel)).lastIndexOf(true);
  return all.slice(cut + 1).map((s) => s.text);
}"""
