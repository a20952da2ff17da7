"""Reading a file someone named: only a regular file, never forever, never too much.

A path on the command line may be a directory, a FIFO (which blocks a plain
`open` until somebody writes), `/dev/zero` (which never ends) or a file of
gigabytes. Every input file goes through `read_regular`, which opens without
blocking, looks at what it opened, and reads at most the cap plus one byte.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from workflow.core.exceptions import UsageError

MB = 1024 * 1024
# the caps of the files finsam reads (documented in docs/cli.md)
MAX_FORBUND_FILE = 1 * MB
MAX_PLAN_FILE = 5 * MB
_CHUNK = 64 * 1024


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def open_regular(path: Path, what: str, *, follow_symlinks: bool = True) -> int:
    """A descriptor of `path` opened for reading, refused unless it is a regular file.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a
    writer; the check on the opened descriptor (not the name) closes the race
    of a file swapped between a check and the open.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    if "\x00" in str(path):
        raise UsageError(
            f"{str(path)!r}: a path cannot hold a NUL character", f"give the path of {what}"
        )
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", f"give the path of {what}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:
            raise UsageError(
                f"{path}: is a symbolic link; only a regular file is taken",
                f"give the path of the file itself ({what})",
            ) from None
        raise UsageError(
            f"{path}: cannot be read: {exc.strerror}", f"give the path of {what}"
        ) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UsageError(
            f"{path}: is {kind_of(mode)}; only a regular file is read",
            f"give the path of {what}",
        )
    os.set_blocking(fd, True)
    return fd


def read_regular(path: Path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`, or a UsageError saying why not."""
    fd = open_regular(path, what)
    try:
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - size))
            except OSError as exc:
                raise UsageError(
                    f"{path}: cannot be read: {exc.strerror}", f"give the path of {what}"
                ) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise UsageError(
                    f"{path}: is larger than {_size(max_bytes)}, the most finsam reads for {what}",
                    "check that this is the right file",
                )
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: Path, what: str, max_bytes: int) -> str:
    """A regular file's text, UTF-8 (a BOM is dropped), or a UsageError saying why not."""
    raw = read_regular(path, what, max_bytes)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text (byte {exc.start + 1} is not); save it as UTF-8",
            f"give the path of {what}",
        ) from None


def _size(n: int) -> str:
    return f"{n // MB} MB" if n % MB == 0 else f"{n} bytes"


def write_output(path: Path, data: bytes | str) -> int:
    """Write a document someone asked for (`-o PATH`); the bytes written, or a UsageError
    naming the path and why (a missing folder, no permission, a NUL in the name)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if "\x00" in str(path):
        raise UsageError(f"cannot write {str(path)!r}: a path cannot hold a NUL character")
    try:
        path.write_bytes(raw)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror}",
            "give a path in a folder that exists and that you may write to",
        ) from None
    return len(raw)
