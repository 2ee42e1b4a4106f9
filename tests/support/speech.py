"""The kiosk's real speech chain, on a machine with no sound: speech-dispatcher
with espeak-ng, playing into ALSA's "null" device, started by the test with
a configuration, socket and logs of its own in a temporary folder, and
stopped with everything it started.

Why not let Chromium start it, as on a kiosk: speech-dispatcher started on
demand ("--spawn", by libspeechd in Chromium or spd-say) listens where the
user's session says, $XDG_RUNTIME_DIR/speech-dispatcher/speechd.sock, or,
with no session (root in CI: no XDG_RUNTIME_DIR), ~/.cache/speech-dispatcher/,
and reads the user's or /etc's settings, whose sound output is PulseAudio.
With no PulseAudio (CI: root, no desktop session) its output modules hand
their sound to a server that cannot play it ("Audio event but server audio
not set up"): the first sentence starts, its end never comes, and every later
one waits behind it. A silent but working output ("null") lets every
sentence end, at once, as soon as espeak-ng has made its sound. Clients are
pointed at this server with SPEECHD_ADDRESS; libspeechd then refuses to
start one of its own elsewhere ("Mismatch in socket names"), and the test
checks that none was started.

Without speech-dispatcher or espeak-ng these tests skip, saying why, unless
CI=true or KIOSK_REQUIRE_SPEECH is set (.ci/run sets it), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

SPEECH_REQUIRED = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes") or os.environ.get(
    "KIOSK_REQUIRE_SPEECH", ""
).strip() not in ("", "0")
PROGRAMS = ("speech-dispatcher", "spd-say", "espeak-ng")
MODULE = Path("/usr/lib/speech-dispatcher-modules/sd_espeak-ng")
INSTALL = "apt-get install speech-dispatcher speech-dispatcher-espeak-ng espeak-ng"
START_TIMEOUT = 15

# A null sound output that still plays at once: every sentence ends.
SILENT_OUTPUT = 'AudioOutputMethod "alsa"\nAudioALSADevice "null"\n'
# speech-dispatcher's own default, as on a machine with no sound server.
DEFAULT_OUTPUT = ""


def missing() -> str | None:
    absent = [name for name in PROGRAMS if shutil.which(name) is None]
    if not MODULE.exists():
        absent.append("its espeak-ng module")
    return f"{', '.join(absent)} not installed ({INSTALL})" if absent else None


def require_speech() -> None:
    why = missing()
    if why is None:
        return
    if SPEECH_REQUIRED:
        pytest.fail(f"{why}; CI or KIOSK_REQUIRE_SPEECH is set, so this is a failure", pytrace=False)
    pytest.skip(why)


@dataclass
class SpeechDispatcher:
    """A running speech-dispatcher: where it listens, and its logs."""

    socket: Path
    log_dir: Path
    process: subprocess.Popen

    @property
    def address(self) -> str:
        """For SPEECHD_ADDRESS, which Chromium's and spd-say's libspeechd read."""
        return f"unix_socket:{self.socket}"

    def env(self) -> dict[str, str]:
        """The environment of a program that should speak through this server only."""
        return {**os.environ, "SPEECHD_ADDRESS": self.address}

    def log(self) -> str:
        """Its log and its modules', for a failing test's message."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


def configuration(folder: Path, output: str) -> str:
    return (
        # Never stop on its own while the test runs; the test stops it.
        "Timeout 0\n"
        "LogLevel 3\n"
        f'LogDir "{folder / "log"}"\n'
        f"{output}"
        'AddModule "espeak-ng" "sd_espeak-ng" "/etc/speech-dispatcher/modules/espeak-ng.conf"\n'
        'DefaultModule "espeak-ng"\n'
    )


@contextmanager
def speech_dispatcher(folder: Path, *, output: str = SILENT_OUTPUT) -> Iterator[SpeechDispatcher]:
    """speech-dispatcher with espeak-ng and `output` for sound, its settings,
    socket and logs in `folder`, for the block. Stopped afterwards with its
    modules, and checked gone."""
    (folder / "conf").mkdir(parents=True)
    (folder / "log").mkdir()
    (folder / "conf" / "speechd.conf").write_text(configuration(folder, output))
    socket = folder / "speechd.sock"
    command = [
        "speech-dispatcher",
        "--run-single",
        "--timeout", "0",
        "--config-dir", str(folder / "conf"),
        "--socket-path", str(socket),
        "--pid-file", str(folder / "speechd.pid"),
        "--log-dir", str(folder / "log"),
    ]  # fmt: skip
    # A session of its own: the group reaches its output modules too.
    # Its own runtime and home folders: no sound server or settings of whoever runs the tests.
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder), "HOME": str(folder)}
    env.pop("PULSE_SERVER", None)
    with (folder / "log" / "stdout.log").open("w") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    server = SpeechDispatcher(socket, folder / "log", process)
    spawned_before = spawned()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not socket.exists():
            assert process.poll() is None, f"speech-dispatcher exited:\n{server.log()}"
            assert time.monotonic() < deadline, f"speech-dispatcher did not start:\n{server.log()}"
            time.sleep(0.05)
        yield server
    finally:
        stop(process)
    strays = spawned() - spawned_before
    for pid in strays:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not strays, "a speech-dispatcher was started on demand beside the test's own (now stopped)"


def stop(process: subprocess.Popen) -> None:
    """Ask speech-dispatcher to stop (it stops its modules); kill its whole
    group if it does not, as a server stuck on a sentence does not."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=2)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while group_alive(process.pid):
        assert time.monotonic() < deadline, "speech-dispatcher left a process running"
        time.sleep(0.05)


def spawned() -> set[int]:
    """speech-dispatchers running that a client started on demand."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args[0].endswith(b"speech-dispatcher") and b"--spawn" in args:
            found.add(int(cmdline.parent.name))
    return found


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` still runs (zombies do not)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the name: state, ppid, pgrp
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
