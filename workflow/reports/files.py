"""The report file store: a file reaches it only together with the row that names it.

Under the store's root (FINSAM_DATA_DIR, else `<database>-files/` beside a SQLite
file) a report is kept once per content, at `ab/abcdef…` (its sha256; files
0600, folders 0700). Files being received live in `.staging/` as
`<random>.part`, each locked (`flock`) by the process writing it.

A submission streams the named file into `.staging/` (`stage`: one read,
hashing and sniffing the bytes as they are written, refused as soon as it
passes the size cap), the service commits its row, and only then `publish`
renames the staged file into place (or drops it when the store holds those
bytes already). So a process killed before its commit leaves a staged file no
row names, and one killed between commit and rename a staged file a row names.
Either way its lock died with it: `sweep_staging`, run at the start of every
submission and by `finsam db check --repair`, tells a dead writer's file from a
live one's without looking at a clock, publishes it when a row names its hash
and the store lacks it, and removes it otherwise.

`check` compares the store with the rows: orphans (stored files no row names),
dangling references (a row whose file is missing or whose bytes no longer hash
to the recorded sha256) and stale staged files; with `repair` it removes
orphans and stale staged files, never a file a row names.

The type comes from the content, never the name: `filetype` reads the head of
the file (PDF, and the ZIP-based DOCX, XLSX, ODT and ODS by their first
entries), a ZIP it calls plain is looked into once more (its central
directory), and what no detector knows is taken as text only when it decodes
(UTF-8, else Windows-1252) without control characters other than tabs and
line breaks.
"""

from __future__ import annotations

import codecs
import fcntl
import hashlib
import os
import re
import secrets
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import filetype
import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.exceptions import ConfigError, FinsamError, UsageError
from workflow.core.models import AuditEvent, Obligation
from workflow.core.settings import sqlite_path
from workflow.core.uow import read

STAGING = ".staging"
PART = ".part"
_CHUNK = 256 * 1024
_HEAD = 8192  # what filetype looks at
_STORED = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{64})$")

ACCEPTED = (
    "PDF, Word (DOCX), Excel (XLSX), OpenDocument text/spreadsheet (ODT/ODS), plain text, CSV"
)
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ZIP = "application/zip"
_DOCUMENTS = {PDF, DOCX, XLSX, ODT, ODS}

# bytes no text finsam takes holds: C0 controls but tab, LF and CR; DEL
_C0 = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_C1 = re.compile("[\x80-\x9f]")  # C1 controls, once decoded as UTF-8
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")  # bytes Windows-1252 leaves undefined


def root(url: str) -> Path:
    """Where report files are kept: FINSAM_DATA_DIR, else a folder next to the SQLite file."""
    given = os.environ.get("FINSAM_DATA_DIR")
    if given:
        return Path(given)
    path = sqlite_path(url)
    if path is not None:
        return path.parent / f"{path.stem}-files"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "finsam" / "files"


def stored_path(store: Path, sha: str) -> Path:
    return store / sha[:2] / sha


# ---------------------------------------------------------------- the type


class _Sniffer:
    """Learns what a file is from its bytes as they stream past, reading nothing twice."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.offset = 0
        self.control: tuple[int, int] | None = None  # where the first control byte is, and it
        self.utf8 = True  # valid UTF-8 so far
        self.c1: str | None = None  # the first C1 control character the UTF-8 decodes to
        self.cp1252 = True  # nothing Windows-1252 leaves undefined so far
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < _HEAD:
            self.head += chunk[: _HEAD - len(self.head)]
        if self.control is None:
            found = _C0.search(chunk)
            if found is not None:
                self.control = (self.offset + found.start(), chunk[found.start()])
            else:
                self._text(chunk)
        self.offset += len(chunk)

    def _text(self, chunk: bytes, final: bool = False) -> None:
        if self.cp1252 and _NOT_CP1252.search(chunk):
            self.cp1252 = False
        if not self.utf8:
            return
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            self.utf8 = False
            return
        found = _C1.search(text) if self.c1 is None else None
        if found is not None:
            self.c1 = f"U+{ord(found[0]):04X}"

    def mime(self, name: str, staged: Path) -> str:
        """The MIME type of an accepted file, or a UsageError saying what it looked like."""
        if self.offset == 0:
            raise FileRefused(
                f"{name}: is empty",
                "give the report document itself",
                f"Filen {name} är tom. Bifoga själva rapporten.",
            )
        kind = filetype.guess(bytes(self.head))
        if kind is not None:
            if kind.mime in _DOCUMENTS:
                return str(kind.mime)
            if kind.mime == ZIP:
                inside = _zipped_document(staged)
                if inside is not None:
                    return inside
            raise _refused(name, f"{_describe(kind.extension, kind.mime)} ({kind.mime})")
        if self.control is not None:
            at, byte = self.control
            raise _refused(
                name,
                f"neither a document type finsam reads nor text (byte {at + 1} is the "
                f"control character 0x{byte:02X})",
            )
        self._text(b"", final=True)
        if self.utf8 and self.c1 is not None:
            raise _refused(name, f"UTF-8 text with a control character ({self.c1})")
        if self.utf8 or self.cp1252:
            plain = "text/csv" if name.lower().endswith(".csv") else "text/plain"
            return f"{plain}; charset={'utf-8' if self.utf8 else 'windows-1252'}"
        raise _refused(name, "text in an encoding finsam does not read")


def _zipped_document(path: Path) -> str | None:
    """A ZIP's own word for what it is, when `filetype` found only a ZIP (its first entries
    are not the usual ones): an ODF `mimetype` entry, or OOXML's main part."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                said = archive.read("mimetype").decode("ascii", "replace").strip()
                return said if said in (ODT, ODS) else None
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return DOCX
                if "xl/workbook.xml" in names:
                    return XLSX
    except Exception:  # a damaged or hostile archive is simply not a document
        return None
    return None


_NAMES = {
    ZIP: "a ZIP archive",
    "application/x-executable": "a program (ELF)",
    "application/x-msdownload": "a Windows program",
    "application/msword": "an old Word document (DOC)",
    "application/vnd.ms-excel": "an old Excel workbook (XLS)",
    "application/rtf": "an RTF document",
}


def _describe(extension: str, mime: str) -> str:
    if mime in _NAMES:
        return _NAMES[mime]
    ext = extension.upper()
    for prefix, what in (("image/", "image"), ("audio/", "audio file"), ("video/", "video")):
        if mime.startswith(prefix):
            return f"a {ext} {what}"
    return f"a {ext} file"


class FileRefused(UsageError):
    """A report file finsam does not take, with the same said in Swedish (`swedish`) for
    a form in the browser, where it is shown at the file's field."""

    def __init__(self, message: str, hint: str, swedish: str) -> None:
        super().__init__(message, hint)
        self.swedish = swedish


_TAKEN_SV = "PDF, Word (.docx), Excel (.xlsx), OpenDocument (.odt, .ods) eller text (.txt, .csv)"


def _refused(name: str, looks_like: str) -> UsageError:
    return FileRefused(
        f"{name}: looks like {looks_like}; accepted: {ACCEPTED}",
        "give the report as one of those (text as UTF-8); the type is read from the content, "
        "not the name",
        f"Filen {name} är inte av en sort som finsam tar emot. Bifoga rapporten som "
        f"{_TAKEN_SV}; sorten läses ur filens innehåll, inte ur namnet.",
    )


# ---------------------------------------------------------------- staging and publishing


@dataclass
class Staged:
    """A received file in `.staging/`, locked by this process until published or discarded."""

    store: Path
    path: Path
    fd: int
    sha256: str
    size: int
    mime: str
    created: list[Path] = field(default_factory=list)  # folders made for it, store first
    done: bool = field(default=False)

    def discard(self) -> None:
        """Nothing of the submission stays: the staged file goes (its row never committed)."""
        if self.done:
            return
        self.done = True
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)
        for folder in reversed(self.created):  # the store as it was, when nobody else uses it
            try:
                folder.rmdir()
            except OSError:
                break

    def abandon(self) -> None:
        """Leave the staged file to the next sweep (whether its row committed is not known)."""
        if not self.done:
            self.done = True
            os.close(self.fd)


def stage(store: Path, fd: int, name: str, max_bytes: int) -> Staged:
    """Copy the open file `fd` into the store's staging folder: hashed as written, typed
    from its bytes, refused past `max_bytes`. Closes nothing of the caller's."""
    out, path, created = _new_part(store)
    digest = hashlib.sha256()
    sniff = _Sniffer()
    size = 0
    try:
        while chunk := _read(fd, name):
            size += len(chunk)
            if size > max_bytes:
                raise FileRefused(
                    f"{name}: is larger than {_mb(max_bytes)}, the most a report may be "
                    "(FINSAM_MAX_UPLOAD_MB)",
                    "give a smaller file, or raise FINSAM_MAX_UPLOAD_MB where finsam runs",
                    f"Filen {name} är större än {_mb(max_bytes)}, det största en rapport får "
                    "vara. Bifoga en mindre fil.",
                )
            digest.update(chunk)
            sniff.feed(chunk)
            _write_all(out, chunk, store)
        mime = sniff.mime(name, path)
        with _writing(store):
            os.fsync(out)  # on disk before the row that names it commits
    except BaseException:
        Staged(store, path, out, "", 0, "", created).discard()
        raise
    return Staged(store, path, out, digest.hexdigest(), size, mime, created)


def publish(staged: Staged) -> Path:
    """Put a staged file whose row has committed in its place; where it is kept.

    When the store holds those bytes already, no second copy is made. If the rename
    fails the staged file stays for `db check --repair` to publish, and the error
    (exit 1) says so: the submission itself is recorded.
    """
    target = stored_path(staged.store, staged.sha256)
    try:
        _place(staged.path, target, staged.size)
    except OSError as exc:
        staged.abandon()
        raise FinsamError(
            f"the report was recorded, but its file could not be put in {target.parent}: "
            f"{exc.strerror}",
            "fix the folder, then run 'finsam db check --repair' to put the file in place",
        ) from None
    staged.done = True
    os.close(staged.fd)
    return target


def _place(staged: Path, target: Path, size: int) -> None:
    """Rename `staged` to `target`, or drop it when `target` already holds those bytes."""
    try:
        held = os.lstat(target)
    except FileNotFoundError:
        held = None
    if held is not None and stat.S_ISREG(held.st_mode) and held.st_size == size:
        staged.unlink()
        return
    _private_dir(target.parent)
    os.replace(staged, target)
    _sync_dir(target.parent)


def _new_part(store: Path) -> tuple[int, Path, list[Path]]:
    """A new, empty staging file, 0600, created and locked by this process; with the
    folders it had to create (a refused submission removes them again)."""
    folder = store / STAGING
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    created: list[Path] = []
    while True:
        path = folder / f"{secrets.token_hex(8)}{PART}"
        with _writing(store):
            created += [d for d in (store, folder) if _private_dir(d)]
            try:
                fd = os.open(path, flags, 0o600)
            except FileNotFoundError:  # another refused submission removed the empty folder
                continue
        os.fchmod(fd, 0o600)  # reports hold personal data: their owner only, whatever the umask
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_nlink > 0:  # a sweep did not take it between open and lock
                return fd, path, created
        except BlockingIOError:
            pass
        os.close(fd)


def _private_dir(folder: Path) -> bool:
    """Make `folder` (0700) if it is not there; whether this call made it."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return False
    return True


def _read(fd: int, name: str) -> bytes:
    try:
        return os.read(fd, _CHUNK)
    except OSError as exc:
        raise UsageError(
            f"{name}: cannot be read: {exc.strerror}", "give the path of the report document"
        ) from None


def _write_all(fd: int, data: bytes, store: Path) -> None:
    view = memoryview(data)
    with _writing(store):
        while view:
            view = view[os.write(fd, view) :]


@contextmanager
def _writing(store: Path) -> Iterator[None]:
    """A store that cannot be written (no space, no permission) is said plainly, exit 2."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(
            f"the report store {store} cannot be written: {exc.strerror}; nothing was recorded",
            "free space there or fix its permissions (FINSAM_DATA_DIR says where it is)",
        ) from None


def _sync_dir(folder: Path) -> None:
    """The rename survives a power cut (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _mb(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:g} MB"


# ---------------------------------------------------------------- the rows and the sweep


def references(s: Session) -> dict[str, list[str]]:
    """Every sha256 a row names as a report file, with the obligations naming it: the
    obligation's current file, its draft's, and every earlier submission its audit
    trail keeps."""
    refs: dict[str, set[str]] = {}
    current = sa.select(Obligation.id, Obligation.file_sha256).where(
        Obligation.file_sha256.is_not(None), Obligation.file_sha256 != ""
    )
    for oid, sha in s.execute(current):
        refs.setdefault(sha, set()).add(f"obligation:{oid}")
    drafts = sa.select(Obligation.id, Obligation.draft_file_sha256).where(
        Obligation.draft_file_sha256.is_not(None), Obligation.draft_file_sha256 != ""
    )
    for oid, sha in s.execute(drafts):  # a draft's file, saved before it is handed in
        refs.setdefault(sha, set()).add(f"obligation:{oid} (draft)")
    earlier = sa.select(AuditEvent.subject, AuditEvent.content_sha256).where(
        AuditEvent.kind == "report",
        AuditEvent.action == "submit",
        AuditEvent.content_sha256 != "",
    )
    for subject, sha in s.execute(earlier):
        refs.setdefault(sha, set()).add(subject or "?")
    return {sha: sorted(names) for sha, names in refs.items()}


def _named(app: App, sha: str) -> bool:
    with read(app) as uow:
        s = uow.session
        named = sa.or_(Obligation.file_sha256 == sha, Obligation.draft_file_sha256 == sha)
        if s.scalars(sa.select(Obligation.id).where(named)).first():
            return True
        return (
            s.scalars(
                sa.select(AuditEvent.id).where(
                    AuditEvent.kind == "report",
                    AuditEvent.action == "submit",
                    AuditEvent.content_sha256 == sha,
                )
            ).first()
            is not None
        )


def sweep_staging(app: App) -> list[str]:
    """Finish what dead writers left in `.staging/`: publish a file a row names and the
    store lacks, remove the rest; files whose writer lives (locked) are left alone.
    What was done, in words."""
    store = root(app.url)
    done = []
    for path in _staging_files(store):
        try:
            outcome = _settle(app, store, path)
        except OSError as exc:  # left for `db check` to report; never in a submission's way
            outcome = f"could not settle {STAGING}/{path.name}: {exc.strerror}"
        if outcome:
            done.append(outcome)
    return done


def _staging_files(store: Path) -> list[Path]:
    try:
        return sorted(p for p in (store / STAGING).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _settle(app: App, store: Path, path: Path) -> str | None:
    """One staged file, if its writer is gone: published, or removed. None: left alone."""
    shown = f"{STAGING}/{path.name}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # its writer published or removed it meanwhile
    except OSError:  # a symbolic link or worse: nothing finsam made
        path.unlink(missing_ok=True)
        return f"removed {shown} (not a file finsam stages)"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a live writer's
        if not _same_file(fd, path):
            return None  # published or removed while we waited for the lock
        sha = _hash_fd(fd)[0]
        target = stored_path(store, sha)
        if _named(app, sha) and _hash_of(target) != sha:
            _place(path, target, -1)
            return f"published {shown} as {sha[:2]}/{sha} (its row had committed)"
        path.unlink()
        return f"removed {shown} (no row names it: its submission never committed)"
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        here = os.lstat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino) and mine.st_nlink > 0


def _hash_fd(fd: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, _CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _hash_of(path: Path) -> str | None:
    """The sha256 of a regular file's bytes; None when there is none (or it is a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return _hash_fd(fd)[0]
    finally:
        os.close(fd)


# ---------------------------------------------------------------- db check


class Dangling(TypedDict):
    sha256: str
    problem: str  # "missing" or "altered"
    referenced_by: list[str]


class CheckReport(TypedDict):
    """The JSON shape of `finsam db check`."""

    store: str
    stored_files: int
    referenced: int
    orphans: list[str]
    dangling: list[Dangling]
    staging: list[str]
    in_progress: list[str]
    repaired: list[str]
    clean: bool


def check(app: App, *, repair: bool = False) -> CheckReport:
    """The store against the rows; with `repair`, stale staged files settled and orphans
    removed first (a file a row names is never removed)."""
    store = root(app.url)
    repaired = sweep_staging(app) if repair else []
    # the files are listed before the rows are read: a file published meanwhile had its
    # row committed first, so it is never taken for an orphan
    files = _stored_files(store)
    with read(app) as uow:
        refs = references(uow.session)
    orphans = sorted(rel for rel, sha in files.items() if sha not in refs)
    dangling: list[Dangling] = []
    for sha, names in sorted(refs.items()):
        held = _hash_of(stored_path(store, sha))  # looked at now: published since the listing
        if held != sha:
            problem = "missing" if held is None else "altered"
            dangling.append({"sha256": sha, "problem": problem, "referenced_by": names})
    if repair:
        for rel in orphans:
            (store / rel).unlink(missing_ok=True)
            repaired.append(f"removed {rel} (no row names it)")
        orphans = []
    stale, busy = _staging_state(store)
    return {
        "store": str(store),
        "stored_files": len(files),
        "referenced": len(refs),
        "orphans": orphans,
        "dangling": dangling,
        "staging": stale,
        "in_progress": busy,
        "repaired": repaired,
        "clean": not (orphans or dangling or stale),
    }


def _stored_files(store: Path) -> dict[str, str | None]:
    """Every entry of the store outside `.staging/` (relative path), with the sha256 its
    place names when it is a regular file at a content-hash place, else None."""
    found: dict[str, str | None] = {}
    if not store.is_dir():
        return found
    for folder, dirs, names in os.walk(store):
        here = Path(folder)
        if here == store:
            dirs[:] = [d for d in dirs if d != STAGING]
        links = [d for d in dirs if (here / d).is_symlink()]  # os.walk lists them as dirs
        for name in [*names, *links]:
            rel = (here / name).relative_to(store).as_posix()
            match = _STORED.match(rel)
            regular = stat.S_ISREG(os.lstat(here / name).st_mode)
            ok = match is not None and match[2].startswith(match[1]) and regular
            found[rel] = match[2] if ok and match is not None else None
    return found


def _staging_state(store: Path) -> tuple[list[str], list[str]]:
    """Staged files whose writer is gone (stale) and those still being written."""
    stale, busy = [], []
    for path in _staging_files(store):
        shown = f"{STAGING}/{path.name}"
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError:
            stale.append(shown)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            stale.append(shown)
        except BlockingIOError:
            busy.append(shown)
        finally:
            os.close(fd)
    return stale, busy


def mime_of(path: Path, name: str) -> str:
    """The type of a stored report file, read from its bytes as when it was received
    (the row keeps its name and hash, not its type); a UsageError if it no longer passes."""
    sniff = _Sniffer()
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            sniff.feed(chunk)
    return sniff.mime(name, path)
