"""The voices "Read to me" speaks with: the kiosk machine's own, so that no
word a patient hears leaves the kiosk. On Debian that is Chromium started
with ``--enable-speech-dispatcher``, speech-dispatcher, and espeak-ng.

Checked on the kiosk machine by ``flask --app wsgi kiosk check-speech``, as
the kiosk's user: speech-dispatcher runs once for each user, started by the
first program that asks for it (Chromium, or spd-say here), with that user's
settings and sound.

The trouble worth checking for: speech-dispatcher that starts a sentence
and never finishes it. Its output modules hand their sound to the
server, which plays it through PulseAudio by default; with no sound server
in the session (and no sound device) the first sentence starts, its end
never comes, and every later one waits behind it, so the kiosk goes silent
after its first words. ``spd-say -w`` waits for the end the same way the
browser does, so a sentence that does not end in time is that trouble.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .checks import Finding, Level

# Long enough for a short sentence played on a real device, short enough
# that a hang is reported while someone waits at the kiosk.
SPEAK_TIMEOUT = 10.0
LIST_TIMEOUT = 15.0
SENTENCE = {"en": "The kiosk can speak.", "es": "El quiosco puede hablar."}
INSTALL = "apt-get install speech-dispatcher speech-dispatcher-espeak-ng espeak-ng"
SILENT = (
    "speech-dispatcher started a sentence in {language} and did not finish it within {seconds:g} s: "
    "it has no sound output it can use, so the kiosk would fall silent after its first words. "
    "Run this in the kiosk user's desktop session (with its PulseAudio or PipeWire) and check that "
    'a sound device or headphones are connected; or set AudioOutputMethod "alsa" in '
    "~/.config/speech-dispatcher/speechd.conf of the kiosk's user (README: Read to me and audio mode: voices). "
    "Then stop the stuck speech-dispatcher: it starts again when next asked."
)

# A server stuck on a sentence answers nothing more, not even the list of voices.
STUCK = (
    "speech-dispatcher did not list its voices within {seconds:g} s: it is probably stuck on a sentence "
    "it cannot play. Stop it (it starts again when asked) and run this again to see why."
)


@dataclass(frozen=True)
class Ran:
    """What a command did: its exit status (None when it did not finish in
    time, 127 when it is not installed) and what it printed."""

    returncode: int | None
    output: str
    seconds: float = 0.0


Runner = Callable[[Sequence[str], float], Ran]


def run(args: Sequence[str], timeout: float) -> Ran:
    """Run one command of the speech chain. The check's tests put a fake in its place."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            list(args), capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        return Ran(127, f"{args[0]}: not installed")
    except subprocess.TimeoutExpired:
        return Ran(None, "", time.monotonic() - started)
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    return Ran(done.returncode, output, time.monotonic() - started)


@dataclass(frozen=True)
class Voice:
    name: str
    language: str  # a language tag as speech-dispatcher gives it: "en-US", "es-419"


VOICE_LINE = re.compile(
    r"^\s*(?P<name>\S.*?)\s+(?P<language>[A-Za-z]{2,3}(?:[-_]\S+)?)\s+(?P<variant>\S+)\s*$"
)


def parse_voices(text: str) -> list[Voice]:
    """The voices `spd-say -L` lists (NAME, LANGUAGE, VARIANT columns)."""
    voices = []
    for line in text.splitlines():
        match = VOICE_LINE.match(line)
        if match and match["name"] != "NAME":
            voices.append(Voice(match["name"], match["language"]))
    return voices


def primary(tag: str) -> str:
    """A language tag's language: "es" for "es-419", as the kiosk page matches voices."""
    return tag.lower().replace("_", "-").split("-")[0]


SPOKEN_AS = {"zh": ("cmn-latn-pinyin", "cmn")}
"""Languages read aloud in a language their tag does not name, best first:
Chinese (zh-Hans, zh-Hant) in Mandarin, which espeak-ng tags "cmn". Its
"cmn-latn-pinyin" voice reads Chinese characters as Mandarin (the plain
"cmn" of espeak-ng 1.51 says them as pinyin and tone numbers in English).
The kiosk page chooses the same way (static/js/speech.js, SPOKEN_AS)."""


def voices_for(voices: Sequence[Voice], language: str) -> list[Voice]:
    """The voices the kiosk page would read `language` with, best first."""
    written = [voice for voice in voices if primary(voice.language) == primary(language)]
    spoken = SPOKEN_AS.get(primary(language), ())
    by_tag = [voice for tag in spoken for voice in voices if voice.language.lower() == tag]
    return written or by_tag or [voice for voice in voices if primary(voice.language) in map(primary, spoken)]


def spoken_tag(language: str) -> str:
    """The language tag a sentence in `language` is spoken with."""
    return next(iter(SPOKEN_AS.get(primary(language), ())), language)


def _installed(runner: Runner) -> list[Finding]:
    findings = []
    for program in ("speech-dispatcher", "espeak-ng"):
        ran = runner([program, "--version"], LIST_TIMEOUT)
        if ran.returncode == 127:
            findings.append(Finding(Level.PROBLEM, f"{program} is not installed: {INSTALL}"))
        else:
            findings.append(Finding(Level.OK, f"{program} is installed."))
    return findings


def _voices(runner: Runner, languages: Mapping[str, str]) -> tuple[list[Finding], dict[str, str]]:
    """Findings about the module and the voices, and the languages that have a voice."""
    ran = runner(["spd-say", "-O"], LIST_TIMEOUT)
    if ran.returncode is None or ran.returncode != 0:
        reason = "gave no answer in time" if ran.returncode is None else _last_line(ran.output)
        return [
            Finding(
                Level.PROBLEM,
                f"Could not reach speech-dispatcher ({reason}). Run this as the kiosk's user, "
                "in its session: speech-dispatcher starts for each user when first asked.",
            )
        ], {}
    modules = [line.strip() for line in ran.output.splitlines()[1:] if line.strip()]
    if "espeak-ng" not in modules:
        return [
            Finding(
                Level.PROBLEM,
                "speech-dispatcher has no espeak-ng module"
                + (f" (it has: {', '.join(modules)})" if modules else "")
                + ": apt-get install speech-dispatcher-espeak-ng",
            )
        ], {}
    listed = runner(["spd-say", "-o", "espeak-ng", "-L"], LIST_TIMEOUT)
    if listed.returncode is None:
        return [Finding(Level.PROBLEM, STUCK.format(seconds=LIST_TIMEOUT))], {}
    voices = parse_voices(listed.output) if listed.returncode == 0 else []
    findings = []
    voiced = {}
    for code, name in languages.items():
        found = voices_for(voices, code)
        if found:
            voiced[code] = name
            # espeak-ng lists each voice again with each of its variants ("+Adam").
            named = sorted({voice.name for voice in found if "+" not in voice.name}) or [found[0].name]
            shown = ", ".join(named[:4]) + (" and more" if len(named) > 4 else "")
            findings.append(Finding(Level.OK, f"{name} ({code}): {len(named)} espeak-ng voices: {shown}."))
        else:
            findings.append(
                Finding(
                    Level.PROBLEM,
                    f"No espeak-ng voice for {name} ({code}): the Read to me button stays hidden "
                    "on its screens. Install espeak-ng-data, or remove the language from the kiosk.",
                )
            )
    return findings, voiced


def _speaks(runner: Runner, languages: Mapping[str, str], timeout: float) -> list[Finding]:
    """A short sentence in each language, waited for to its end, as the browser waits."""
    findings = []
    for code, name in languages.items():
        sentence = SENTENCE.get(primary(code), SENTENCE["en"])
        ran = runner(["spd-say", "-w", "-o", "espeak-ng", "-l", spoken_tag(code), sentence], timeout)
        if ran.returncode is None:
            findings.append(Finding(Level.PROBLEM, SILENT.format(language=name, seconds=timeout)))
            break  # the rest would wait behind it
        if ran.returncode != 0:
            findings.append(
                Finding(Level.PROBLEM, f"spd-say could not speak {name}: {_last_line(ran.output)}")
            )
        else:
            findings.append(
                Finding(Level.OK, f"A sentence in {name} was spoken to its end in {ran.seconds:.1f} s.")
            )
    return findings


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def check(
    languages: Mapping[str, str], *, runner: Runner | None = None, timeout: float = SPEAK_TIMEOUT
) -> list[Finding]:
    """What this machine's speech chain can do for the kiosk's languages
    (code → name). Any PROBLEM means some patient would hear nothing."""
    runner = runner or run
    findings = _installed(runner)
    if any(finding.level is Level.PROBLEM for finding in findings):
        return findings
    voices, voiced = _voices(runner, languages)
    findings += voices + _speaks(runner, voiced, timeout)
    findings.append(
        Finding(
            Level.NOTE,
            "Chromium speaks only when started with --enable-speech-dispatcher, as the kiosk's user, "
            "in the session checked here.",
        )
    )
    return findings


def can_speak(findings: Sequence[Finding]) -> bool:
    return not any(finding.level is Level.PROBLEM for finding in findings)
