"""Write without blocking readers: one writer at a time, a working copy, an atomic swap.

DuckDB lets one process write a database file *or* many processes read it read-only, never
both at once, and ``dbt build`` holds the write lock for its whole run. So no writer -- the
refresh, and ``resilience load``/``build``/``estimate``/``unload`` through :func:`writing` --
ever writes the published warehouse in place:

1. :func:`refresh_lock` takes an exclusive, non-blocking ``flock`` on
   ``<warehouse>.refresh.lock``; a second refresh is refused at once with
   :class:`~warehouse.errors.WarehouseBusyError` naming the holder's pid and start time.
2. :func:`make_working_copy` copies the published file to ``<warehouse>.work-<run_id>.duckdb``;
   every step writes that copy. Copying is safe without any DuckDB lock because the
   published file is only ever *replaced* (step 3), never written in place.
3. :func:`publish` checkpoints the copy, fsyncs it and ``os.replace``-s it over the published
   file: atomic on POSIX. A reader that opened the old file keeps reading the old inode (the
   old run) until it reconnects; a reader that connects afterwards sees the new run. Nobody
   sees a mix, and readers never hold up the refresh.

Small edits to the published warehouse (the run registry's ``running`` and ``failed`` rows)
go through the same copy-edit-replace cycle (:func:`edit_published`), so they too work while
analysts hold read-only connections.

The published file keeps its permission bits and (where the writer may set them) owner and
group; a published file that is read-only is refused, never replaced (:func:`check_writable`).
The lock file is opened without following a symbolic link. Everything a killed writer leaves
next to the warehouse (working copies, dbt work folders) is removed by the next writer, under
the lock (:func:`discard_orphans`).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from warehouse.errors import ResilienceError, WarehouseBusyError


def lock_path(warehouse: Path) -> Path:
    """``<warehouse>.refresh.lock``."""
    return Path(f"{warehouse}.refresh.lock")


def working_copy_path(warehouse: Path, run_id: str, kind: str = "work") -> Path:
    """``<warehouse>.work-<run_id>.duckdb`` (``kind`` distinguishes registry edits)."""
    return Path(f"{warehouse}.{kind}-{run_id}.duckdb")


def wal_path(database: Path) -> Path:
    """DuckDB's write-ahead log next to a database file."""
    return Path(f"{database}.wal")


@contextlib.contextmanager
def refresh_lock(warehouse: Path, run_id: str | None = None) -> Iterator[Path]:
    """Hold the refresh lock of ``warehouse`` for the ``with`` block; refuse if taken.

    ``flock`` locks belong to the open file description, so the lock is released when the
    holder exits for any reason, even ``kill -9``: a crash never leaves a stale lock.
    """
    path = lock_path(Path(warehouse))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # never through a symbolic link: the writes below would land on its target
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ResilienceError(f"{path} is a symbolic link; refusing to use it as the warehouse's lock "
                                  "file (remove it)") from None
        raise ResilienceError(f"cannot open the lock file {path}: {exc.strerror}") from None
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "pid unknown, started unknown"
            raise WarehouseBusyError(
                f"another refresh ({holder}) holds {path}; try again when it finishes"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}"
                     + (f", run {run_id}" if run_id else ""))
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def check_writable(warehouse: Path) -> None:
    """Refuse, with one clear line, a warehouse the writers must not replace: a published file
    that is read-only, not a DuckDB database, or a symbolic link, or a folder we cannot write."""
    warehouse = Path(warehouse)
    folder = warehouse.parent
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise ResilienceError(f"the warehouse folder {folder} is not writable")
    if warehouse.is_symlink():
        raise ResilienceError(f"{warehouse} is a symbolic link; give the path of the file itself")
    if not warehouse.exists():
        return
    if not warehouse.is_file():
        raise ResilienceError(f"{warehouse} is not a file")
    mode = warehouse.stat().st_mode
    if not (mode & stat.S_IWUSR) or not os.access(warehouse, os.W_OK):
        raise ResilienceError(f"{warehouse} is read-only (mode {stat.S_IMODE(mode):04o}); refusing to replace "
                              "it (make it writable to update it)")
    with open(warehouse, "rb") as fh:
        header = fh.read(12)
    if len(header) < 12 or header[8:12] != DUCKDB_MAGIC:
        raise ResilienceError(f"{warehouse} is not a DuckDB database file")


@contextlib.contextmanager
def writing(warehouse: Path, label: str) -> Iterator[Path]:
    """Write the warehouse the safe way: hold the lock, copy it to a working file, yield that
    file's path, and publish it atomically when the block succeeds (discard it when not).

    ``label`` names the writer in the lock (e.g. ``"resilience load"``). Analysts' read-only
    queries of the published file keep working throughout.
    """
    warehouse = Path(warehouse)
    check_writable(warehouse)
    with refresh_lock(warehouse, label):
        discard_orphans(warehouse)
        working = make_working_copy(warehouse, secrets.token_hex(4), kind="work")
        try:
            yield working
            publish(working, warehouse)
        finally:
            discard(working)


def make_working_copy(warehouse: Path, run_id: str, kind: str = "work") -> Path:
    """Copy the published warehouse (if any) to a fresh working file and return its path.

    With no published warehouse yet the working copy starts empty (DuckDB creates it on
    first connect). A leftover working file of the same name is replaced.
    """
    warehouse = Path(warehouse)
    working = working_copy_path(warehouse, run_id, kind)
    discard(working)
    if warehouse.exists():
        if wal_path(warehouse).exists():
            _checkpoint_published(warehouse)
        shutil.copyfile(warehouse, working)
    return working


def publish(working: Path, warehouse: Path) -> None:
    """Atomically replace the published warehouse with ``working`` (which must be closed).

    The copy is checkpointed first so that no ``.wal`` is left behind: a stale WAL next to
    the published name would be replayed onto the new file by the next reader.
    """
    working, warehouse = Path(working), Path(warehouse)
    if not working.exists():
        raise ResilienceError(f"cannot publish {working}: the working copy does not exist")
    if wal_path(working).exists():
        with duckdb.connect(str(working)) as con:
            con.execute("CHECKPOINT")
    if wal_path(working).exists():
        raise ResilienceError(f"cannot publish {working}: its write-ahead log did not checkpoint")
    with open(working, "rb") as fh:
        os.fsync(fh.fileno())
    if warehouse.exists():
        _keep_mode_and_owner(warehouse, working)
    os.replace(working, warehouse)
    _fsync_dir(warehouse.parent)


def _keep_mode_and_owner(published: Path, working: Path) -> None:
    """Give the new file the permission bits, owner and group of the one it replaces (owner
    and group only where this process may set them: root, or the same owner)."""
    st = published.stat()
    os.chmod(working, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(PermissionError):
        os.chown(working, st.st_uid, st.st_gid)


def discard(working: Path) -> None:
    """Delete a working copy and its WAL, if present."""
    for path in (Path(working), wal_path(Path(working))):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def discard_orphans(warehouse: Path) -> list[Path]:
    """Delete working copies and dbt work folders left by writers that died (``kill -9``,
    power loss).

    Call only while holding :func:`refresh_lock`: then no live writer owns any of them.
    """
    warehouse = Path(warehouse)
    orphans = sorted(p for kind in ("work", "edit")
                     for p in warehouse.parent.glob(f"{warehouse.name}.{kind}-*.duckdb*"))
    orphans += sorted(warehouse.parent.glob(f"{warehouse.name}.dbt-*"))
    for path in orphans:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return orphans


def discard_dir(directory: Path) -> None:
    """Delete a staging folder (e.g. a failed run's report), if present."""
    shutil.rmtree(directory, ignore_errors=True)


def move_dir(staging: Path, final: Path) -> Path:
    """Rename a finished staging folder to its final name (atomic within one file system)."""
    staging, final = Path(staging), Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if staging.exists():
        os.replace(staging, final)
    else:
        final.mkdir(parents=True, exist_ok=True)
    return final


def point_latest(link: Path, target: Path) -> Path:
    """Make ``link`` a symlink to ``target`` (relative), replacing any old link atomically."""
    link, target = Path(link), Path(target)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(os.path.relpath(target, link.parent))
    os.replace(temporary, link)
    return link


def edit_published(warehouse: Path, run_id: str, edit: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """Apply ``edit`` to a copy of the published warehouse and publish it atomically.

    Used for the short run-registry writes; call only while holding :func:`refresh_lock`,
    otherwise two editors could each publish over the other.
    """
    working = make_working_copy(warehouse, run_id, kind="edit")
    try:
        with duckdb.connect(str(working)) as con:
            edit(con)
            con.execute("CHECKPOINT")
        publish(working, warehouse)
    finally:
        discard(working)


def _checkpoint_published(warehouse: Path) -> None:
    # A WAL next to the published file means someone wrote it outside a refresh; fold it in
    # so the copy is complete. This needs the write lock, i.e. no reader connected.
    try:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        raise WarehouseBusyError(
            f"{warehouse} has an unapplied write-ahead log ({wal_path(warehouse).name}; it was "
            f"written outside a refresh) and could not be checkpointed: {exc}. Close other "
            "connections to it and retry."
        ) from exc


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
