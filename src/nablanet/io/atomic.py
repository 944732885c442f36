"""Files that appear whole or not at all: a temp file in the same folder, fsync, rename.

The rules (docs/checkpoints.md says why):

- **Symlinks are written through**, as editors do: saving to a link replaces the file
  it points to and leaves the link a link.
- **The target keeps its permission bits** (and, where allowed, its owner and group);
  a new file gets 0666 less the umask, like ``open``.
- **Temp names are unique per writer**: ``.<name>.nablanet-<host>-<pid>-<token>.tmp``,
  the name shortened so that the whole fits the folder's name limit. Two processes
  saving one path both succeed; the last rename wins.
- **Stale temps are removed**, but only ones that are provably ours and abandoned:
  our pattern, this host, a process id that no longer exists.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = [
    "atomic_open",
    "atomic_write",
    "resolve_target",
    "temp_path",
    "fit_name",
    "publish",
    "keep_as",
    "stale_temps",
    "remove_stale_temps",
]

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMP = re.compile(r"^\.(?P<stem>.*)\.nablanet-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]{8}\.tmp$", re.S)
_TEMP_OVERHEAD = len(".") + len(".nablanet-") + 8 + len("-") + 10 + len("-") + 8 + len(".tmp")


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """A file that appears at ``path`` whole or not at all.

    It is written to a temporary file in the same folder as the file ``path``
    names (through any symlink), flushed to disk, and renamed over it; any
    exception (Ctrl-C included) leaves ``path`` as it was. Saving keeps an
    existing file's mode.
    """
    target = resolve_target(path)
    tmp = temp_path(target)
    fd = _create(tmp, target)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise
    remove_stale_temps(target)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (see ``atomic_open``)."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def resolve_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or where its symlinks lead.

    Raises OSError for a symlink loop, a missing folder, a name longer than the
    folder allows, and a target that exists but is not a regular file.
    """
    path = Path(path)
    _check_name(path, path)
    target = Path(os.path.realpath(path))
    _check_name(target, path)
    if target.is_symlink():  # realpath stops at a loop
        raise OSError(errno.ELOOP, f"cannot write {path}: its symlinks form a loop", str(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, f"cannot write {path}: {target} is not a regular file", str(path))
    return target


def _check_name(target: Path, path: Path) -> None:
    """The folder exists and ``target``'s name fits in it."""
    if not target.parent.is_dir():
        where = "" if target == path else f" (its symlink leads to {target})"
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write {path}{where}: the folder {target.parent} does not exist", str(path)
        )
    size, limit = len(os.fsencode(target.name)), _name_max(target.parent)
    if size > limit:
        raise OSError(
            errno.ENAMETOOLONG,
            f"cannot write {path}: the name {target.name[:20]}… is {size} bytes, "
            f"over the folder's limit of {limit}",
            str(path),
        )


def fit_name(name: str, room: int, folder: Path) -> str:
    """``name`` shortened, at a character boundary, to leave ``room`` bytes of the folder's limit."""
    raw = os.fsencode(name)
    keep = max(_name_max(folder) - room, 0)
    if len(raw) <= keep:
        return name
    while keep and (raw[keep] & 0xC0) == 0x80:  # do not split a UTF-8 character
        keep -= 1
    return os.fsdecode(raw[:keep])


def temp_path(target: Path) -> Path:
    """A fresh temp name beside ``target``, unique to this writer, within the name limit."""
    stem = fit_name(target.name, _TEMP_OVERHEAD, target.parent)
    return target.with_name(f".{stem}.nablanet-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def publish(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` over ``target``, and make the rename durable."""
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def keep_as(source: Path, name: Path) -> None:
    """Make ``name`` a second name of the file ``source`` (a hard link), replacing ``name``.

    The link is made under a temp name and renamed over ``name``: ``source`` is
    untouched throughout, and ``name`` holds its old file or the new link. Where
    the filesystem has no hard links, ``name`` gets a copy, made the same way.
    """
    if name.exists() and os.path.samefile(source, name):
        return  # already
    link = temp_path(source)
    try:
        os.link(source, link)
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
        _copy(source, link)
    try:
        publish(link, name)
    finally:
        # Gone after the rename, unless ``name`` became a link of the same file meanwhile
        # (another writer): a rename between two links of one file does nothing.
        _unlink(link)


_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}


def _copy(source: Path, tmp: Path) -> None:
    """``source``'s bytes and mode in the new file ``tmp``, on disk."""
    fd = _create(tmp, source)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as f:
            shutil.copyfileobj(f, out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        _unlink(tmp)
        raise


def stale_temps(target: str | os.PathLike) -> list[Path]:
    """The temps that writers of ``target`` on this host left when they died.

    A temp counts only if its name is ours for this target, it was made on this
    host, and its process no longer exists; a live writer's, another host's, or
    anything else is left alone.
    """
    target = Path(target)
    stem = fit_name(target.name, _TEMP_OVERHEAD, target.parent)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    found = []
    for name in names:
        m = _TEMP.match(name)
        if m and m["stem"] == stem and m["host"] == _HOST and _gone(int(m["pid"])):
            found.append(target.parent / name)
    return found


def remove_stale_temps(target: str | os.PathLike) -> int:
    """Delete the ``stale_temps`` of ``target``; returns how many were removed."""
    return sum(_unlink(tmp) for tmp in stale_temps(target))


def _gone(pid: int) -> bool:
    """True only if no process has this id (another user's process still counts as alive)."""
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def _create(tmp: Path, target: Path) -> int:
    """Open ``tmp`` new (never an existing file or link), with ``target``'s mode and owner."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
    fd = os.open(tmp, flags, 0o600)
    try:
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, st.st_uid, st.st_gid)
            except OSError:  # only root may give a file away; keep the mode at least
                pass
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
    except BaseException:
        os.close(fd)
        _unlink(tmp)
        raise
    return fd


def _unlink(path: Path) -> int:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return 1


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
