"""`kiosk check-speech`: what it concludes from what the speech chain's
commands answer. The commands are faked here, with output captured from
Debian's speech-dispatcher 0.11 and espeak-ng 1.51; the real chain is checked
in tests/test_real_voices.py."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kiosk import voices
from kiosk.checks import Level
from kiosk.voices import Ran, can_speak, check, parse_voices

LANGUAGES = {"en": "English", "es": "Español"}

MODULES = "OUTPUT MODULES\nespeak-ng\n"
VOICE_LIST = """\
                     NAME                 LANGUAGE                  VARIANT
                Afrikaans                       af                     none
      English (Caribbean)                   en-029                     none
 English (Caribbean)+Adam                   en-029                     Adam
  English (Great Britain)                    en-GB                     none
        English (America)                    en-US                     none
English (America)+Half-LifeAnnouncementSystem                    en-US    Half-LifeAnnouncementSystem
          Spanish (Spain)                       es                     none
  Spanish (Latin America)                   es-419                     none
   Spanish (Spain)+Andrea                       es                   Andrea
"""
NO_SERVER = (
    "Failed to connect to Speech Dispatcher:\n"
    "Error: Can't connect to unix socket /run/user/1000/speech-dispatcher/speechd.sock: "
    "No such file or directory. Autospawn: Autospawn failed."
)


class FakeChain:
    """Answers as the speech chain would; `answers` overrides by the command's first words."""

    def __init__(self, **answers: Ran) -> None:
        self.answers = {
            "speech-dispatcher --version": Ran(0, "speech-dispatcher 0.11.4"),
            "espeak-ng --version": Ran(0, "eSpeak NG text-to-speech: 1.51"),
            "spd-say -O": Ran(0, MODULES),
            "spd-say -o espeak-ng -L": Ran(0, VOICE_LIST),
            "spd-say -w": Ran(0, "", 0.4),
        }
        self.answers.update({key.replace("_", " "): ran for key, ran in answers.items()})
        self.ran: list[list[str]] = []

    def __call__(self, args: Sequence[str], timeout: float) -> Ran:
        self.ran.append(list(args))
        line = " ".join(args)
        for start in sorted(self.answers, key=len, reverse=True):
            if line.startswith(start):
                return self.answers[start]
        raise AssertionError(f"unexpected command: {line}")

    def spoken(self) -> list[str]:
        return [args[args.index("-l") + 1] for args in self.ran if args[:2] == ["spd-say", "-w"]]


def problems(findings) -> list[str]:
    return [f.text for f in findings if f.level is Level.PROBLEM]


def test_a_working_chain_lists_voices_for_each_language_and_speaks_each():
    chain = FakeChain()
    findings = check(LANGUAGES, runner=chain)
    assert can_speak(findings)
    texts = [f.text for f in findings]
    assert (
        "English (en): 3 espeak-ng voices: English (America), English (Caribbean), English (Great Britain)."
        in texts
    )
    assert "Español (es): 2 espeak-ng voices: Spanish (Latin America), Spanish (Spain)." in texts
    assert "A sentence in English was spoken to its end in 0.4 s." in texts
    assert chain.spoken() == ["en", "es"]


@pytest.mark.parametrize("program", ["speech-dispatcher", "espeak-ng"])
def test_a_missing_program_says_what_to_install_and_tries_nothing_more(program):
    chain = FakeChain(**{f"{program}_--version": Ran(127, f"{program}: not installed")})
    findings = check(LANGUAGES, runner=chain)
    assert not can_speak(findings)
    assert problems(findings) == [f"{program} is not installed: {voices.INSTALL}"]
    assert not any(args[0] == "spd-say" for args in chain.ran)


def test_without_the_espeak_ng_module_it_says_which_package():
    chain = FakeChain(**{"spd-say_-O": Ran(0, "OUTPUT MODULES\ndummy\n")})
    findings = check(LANGUAGES, runner=chain)
    assert problems(findings) == [
        "speech-dispatcher has no espeak-ng module (it has: dummy): apt-get install speech-dispatcher-espeak-ng"
    ]
    assert chain.spoken() == []


def test_a_language_with_no_voice_is_a_problem_the_others_are_still_spoken():
    english_only = "\n".join(line for line in VOICE_LIST.splitlines() if "Spanish" not in line)
    chain = FakeChain(**{"spd-say_-o_espeak-ng_-L": Ran(0, english_only)})
    findings = check(LANGUAGES, runner=chain)
    assert not can_speak(findings)
    [problem] = problems(findings)
    assert problem.startswith("No espeak-ng voice for Español (es): the Read to me button stays hidden")
    assert chain.spoken() == ["en"]


def test_a_sentence_that_never_ends_is_the_missing_sound_output():
    chain = FakeChain(**{"spd-say_-w": Ran(None, "", 10.0)})
    findings = check(LANGUAGES, runner=chain, timeout=10)
    [problem] = problems(findings)
    assert "did not finish it within 10 s" in problem
    assert "AudioOutputMethod" in problem
    # The next sentence would only wait behind the first.
    assert chain.spoken() == ["en"]


def test_no_speech_dispatcher_to_reach_says_to_run_it_as_the_kiosk_user():
    chain = FakeChain(**{"spd-say_-O": Ran(1, NO_SERVER)})
    [problem] = problems(check(LANGUAGES, runner=chain))
    assert problem.startswith("Could not reach speech-dispatcher (Error: Can't connect to unix socket")
    assert "as the kiosk's user" in problem
    assert chain.spoken() == []


def test_a_server_stuck_on_an_earlier_sentence_answers_nothing():
    chain = FakeChain(**{"spd-say_-o_espeak-ng_-L": Ran(None, "", 15.0)})
    [problem] = problems(check(LANGUAGES, runner=chain))
    assert "probably stuck on a sentence" in problem
    assert chain.spoken() == []


def test_voices_are_read_from_spd_says_columns():
    found = parse_voices(VOICE_LIST)
    assert found[0] == voices.Voice("Afrikaans", "af")
    assert voices.Voice("English (America)+Half-LifeAnnouncementSystem", "en-US") in found
    assert voices.Voice("Spanish (Latin America)", "es-419") in found
    assert len(found) == 9  # not the heading


def test_the_command_prints_findings_and_fails_when_the_kiosk_cannot_speak(runner, monkeypatch):
    monkeypatch.setattr(voices, "run", FakeChain(**{"spd-say_-w": Ran(None, "", 3.0)}))
    result = runner.invoke(args=["kiosk", "check-speech", "--wait", "3"])
    assert result.exit_code == 1
    assert "OK: English (en): 3 espeak-ng voices" in result.output
    assert (
        "PROBLEM: speech-dispatcher started a sentence in English and did not finish it within 3 s"
        in result.output
    )

    monkeypatch.setattr(voices, "run", FakeChain())
    result = runner.invoke(args=["kiosk", "check-speech"])
    assert result.exit_code == 0, result.output
    assert "PROBLEM" not in result.output


CHINESE_VOICES = """\
Chinese (Mandarin, latin as English)                      cmn                     none
Chinese (Mandarin, latin as English)+Adam                      cmn                     Adam
Chinese (Mandarin, latin as Pinyin)          cmn-LATN-PINYIN                     none
Chinese (Cantonese)                      yue                     none
"""


def test_chinese_is_found_in_mandarin_and_tagalog_has_no_voice():
    """espeak-ng names Mandarin "cmn", never "zh": the page reads Chinese with
    its Pinyin voice, and the check says so; it has no Tagalog."""
    chain = FakeChain(**{"spd-say_-o_espeak-ng_-L": Ran(0, VOICE_LIST + CHINESE_VOICES)})
    findings = check({"zh-Hans": "中文（简体）", "zh-Hant": "中文（繁體）", "tl": "Tagalog"}, runner=chain)
    found = [f.text for f in findings if f.level is Level.OK and "espeak-ng voice" in f.text]
    assert found == [
        f"{name} ({tag}): 2 espeak-ng voices: Chinese (Mandarin, latin as English), "
        "Chinese (Mandarin, latin as Pinyin)."
        for tag, name in (("zh-Hans", "中文（简体）"), ("zh-Hant", "中文（繁體）"))
    ]
    [problem] = problems(findings)
    assert problem.startswith("No espeak-ng voice for Tagalog (tl)")
    assert chain.spoken() == ["cmn-latn-pinyin", "cmn-latn-pinyin"]
