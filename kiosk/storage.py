"""Room on disk: telling a full disk from other failures, and writing files
so that a failed write leaves nothing behind.

A clinic's server keeps everything in ``instance/``: the SQLite database and
its write-ahead log, the secret key, the directory printer's PDFs. When that
disk fills up, SQLite still reads but cannot write; the WAL, which grows by a
few pages with every commit until it is checkpointed, takes back any room
freed in a few minutes if something keeps committing. So:

- ``low_on_space`` says whether the folders the app writes to have less than
  ``DISK_RESERVE_MB`` free. The worker then writes nothing (no beats, no
  claims, no retries) until there is room again, and ``/healthz`` says the
  disk is full without writing its probe. What is left of the reserve stays
  for the patients at the kiosks and the desk.
- ``refusal`` reads an error (SQLite's "database or disk is full", ENOSPC,
  a read-only file system or database, a disk that fails to write,
  PostgreSQL's disk-full) as what it means for a person: "disk full",
  "read-only" or "disk error", or None for anything else; ``cannot_write``
  is the yes or no of it, for the code that answers calmly when a save fails.
- ``write_atomically`` writes a file beside its target and puts it in place
  only once whole; if the write fails the partial file is removed.
- ``keep_private`` makes everything the app writes from then on readable by
  the service user alone, ``instance/`` first.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

DISK_FULL = "disk full"
READ_ONLY = "read-only"
DISK_ERROR = "disk error"

# errno values that mean "no room" or "cannot write here at all".
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY_ERRNOS = {errno.EROFS}
# SQLite's result codes (the primary code is the low byte of the extended one).
_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10  # the disk failed a read or write (SQLite says FULL when it knows it is full)
# PostgreSQL's SQLSTATEs: class 53 is "insufficient resources" (53100 disk
# full); 25006 a read-only transaction (a standby, or default_transaction_read_only).
_PG_FULL = {"53100"}
_PG_READ_ONLY = {"25006"}


def refusal(error: BaseException | None) -> str | None:
    """What a failed write means when the storage refused it: DISK_FULL,
    READ_ONLY, or None when the error is something else. Looks through
    SQLAlchemy's wrapper (``.orig``) and the chain of causes."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = _refusal_of(error)
        if found:
            return found
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return None


def cannot_write(error: BaseException | None) -> bool:
    """Whether a failed save means nothing can be saved just now (a full
    disk, a read-only file or database, a failing disk): not a bug, so the
    caller answers calmly and staff call IT."""
    return refusal(error) is not None


def _refusal_of(error: BaseException) -> str | None:
    if isinstance(error, OSError) and error.errno is not None:
        if error.errno in _FULL_ERRNOS:
            return DISK_FULL
        if error.errno in _READ_ONLY_ERRNOS:
            return READ_ONLY
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            if code & 0xFF == _SQLITE_FULL:
                return DISK_FULL
            if code & 0xFF == _SQLITE_READONLY:
                return READ_ONLY
            if code & 0xFF == _SQLITE_IOERR:
                return DISK_ERROR
        message = str(error).lower()
        if "disk is full" in message:
            return DISK_FULL
        if "readonly" in message or "read-only" in message:
            return READ_ONLY
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if sqlstate in _PG_FULL:
        return DISK_FULL
    if sqlstate in _PG_READ_ONLY:
        return READ_ONLY
    return None


# --- free space -------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """The tightest of the folders the app writes to."""

    folder: Path
    free_bytes: int
    reserve_bytes: int

    @property
    def low(self) -> bool:
        return self.free_bytes < self.reserve_bytes

    def describe(self) -> str:
        """For IT: where, how much is free, and what to do."""
        return (
            f"The disk holding {self.folder} has {_megabytes(self.free_bytes)} free, "
            f"less than the {_megabytes(self.reserve_bytes)} the kiosk keeps in reserve: "
            "nothing more is written there until space is freed. Free some space on that disk; "
            "the kiosk carries on by itself."
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def written_folders() -> list[Path]:
    """The folders the app writes files to: instance/, the SQLite database's
    folder and the directory printer's."""
    config = current_app.config
    folders = [Path(current_app.instance_path), Path(config["PRINT_DIRECTORY"])]
    database = _sqlite_file(config.get("SQLALCHEMY_DATABASE_URI", ""))
    if database is not None:
        folders.append(database.parent)
    return folders


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0].removeprefix("file:")
    return Path(path) if path and path != ":memory:" else None


def space(folders: Iterable[Path] | None = None) -> Space:
    """Free space where the app writes: the folder with the least of it."""
    reserve = int(current_app.config["DISK_RESERVE_MB"]) * 1_000_000
    tightest: Space | None = None
    for folder in folders if folders is not None else written_folders():
        existing = _nearest_existing(folder)
        try:
            free = shutil.disk_usage(existing).free
        except OSError:
            continue
        if tightest is None or free < tightest.free_bytes:
            tightest = Space(folder, free, reserve)
    return tightest or Space(Path(current_app.instance_path), reserve, reserve)


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def low_on_space() -> Space | None:
    """The tightest folder when it has less than the reserve free, else None.
    Reads the file system's counters only: writes nothing."""
    found = space()
    return found if found.low else None


# --- writing files ----------------------------------------------------------------


def keep_private(instance: Path) -> None:
    """Everything the app writes (the database, handouts, the secret key) is
    for the service user's eyes only: files from now on, and the instance
    folder, made if missing."""
    os.umask(0o077)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a folder set up by IT as they chose
        if instance.stat().st_mode & 0o077:
            instance.chmod(0o700)


def write_atomically(target: Path, data: bytes, *, mode: int = 0o600, replace: bool = True) -> Path:
    """Write `data` to `target` whole or not at all: into a hidden ``.part``
    file beside it, flushed to disk, then moved into place. If anything fails
    (a full disk, most often) the partial file is removed and the error
    raised. With ``replace=False`` an existing `target` is kept and
    FileExistsError raised (for a file written once, like the secret key)."""
    target = Path(target)
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if replace:
            os.replace(part, target)
        else:
            _link_new(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise
    return target


def _link_new(part: str, target: Path) -> None:
    """Put `part` in place as `target` only if there is no `target` yet."""
    try:
        os.link(part, target)  # refuses to overwrite, unlike a rename
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(part, target)
        return
    os.unlink(part)
