"""The engine's state directory: atomic writes, per-shot locks, a size-limited LRU cache, a write-behind queue.

Layout (``STATE_SCHEMA`` versions it)::

    <state_dir>/state.json                       {"schema": 1}
    <state_dir>/server.lock                      held (fcntl) by the one exclusive engine (the server)
    <state_dir>/tmp/                             temp files of decoders (emptied when an exclusive engine starts)
    <state_dir>/shots/<id>/shot.json             settings, size, colour space, keyframe list
    <state_dir>/shots/<id>/lock                  fcntl lock file (writers across processes)
    <state_dir>/shots/<id>/keyframes/<frame>-<hash>.npz  keyframe image (shot colour space) + trimap
    <state_dir>/shots/<id>/memory/<fingerprint>/<key>.pt   encoded keyframe memory
    <state_dir>/shots/<id>/index.json            frame -> chain key of the last processed state
    <state_dir>/shots/<id>/cache/{states,inputs,results}/<key>.*   LRU-evicted under the size limit

Every file is written to a temp file in the same directory, fsynced and renamed, so a killed process leaves either
the old or the new file, never a torn one; the temp files a killed process leaves are removed at start-up. Cache files
carry a checksum (``CACHE_MAGIC`` + SHA-256 of the body) verified on every read. Files the cache references may be
missing (evicted or never flushed), damaged or of an older layout; readers treat all of that as a miss.
"""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import queue
import shutil
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import platformdirs

from ftpvm_core.atomic import TEMP_PREFIX, atomic_write_bytes
from ftpvm_core.errors import StateError

STATE_SCHEMA = 1
#: First bytes of every cache file: a layout tag, then the SHA-256 of the body.
CACHE_MAGIC = b"ftpvm-cache-1\n"
_DIGEST = 32


def default_state_dir() -> Path:
    """``$FTPVM_STATE_DIR`` or the user's state directory (platformdirs) + ``/engine``."""
    env = os.environ.get("FTPVM_STATE_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_state_dir("ftpvm", appauthor=False)) / "engine"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def read_json(path: str | os.PathLike) -> Any:
    with open(path, "rb") as f:
        return json.loads(f.read())


class _FileLock:
    """A re-entrant (per thread) lock combining a threading.RLock and an fcntl lock on a file.

    ``owner`` is the file whose presence makes the folder worth keeping (a shot's ``shot.json``): when the last
    hold ends without it, the lock file and its (then empty) folder are removed, so looking up, failing to create
    or deleting a shot leaves no ``lock`` folder behind. A holder that locked a file removed meanwhile locks again.
    """

    def __init__(self, path: Path, owner: Path | None = None):
        self.path = path
        self.owner = owner
        self._rlock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def _acquire(self) -> int:
        while True:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # the folder went between mkdir and open
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # locked a file another holder removed: lock the one at the path now

    def _release(self, fd: int) -> None:
        try:
            if self.owner is not None and not self.owner.exists():
                try:
                    os.unlink(self.path)
                    self.path.parent.rmdir()
                except OSError:
                    pass  # not empty (another holder's files) or already gone
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._rlock:
            if self._depth == 0:
                self._fd = self._acquire()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fd, self._fd = self._fd, None
                    self._release(fd)


class Store:
    """Owner of the state directory. Thread-safe."""

    def __init__(self, root: str | os.PathLike | None = None, cache_limit_bytes: int = 8 << 30,
                 exclusive: bool = False):
        """``exclusive``: hold ``server.lock`` (refusing a second exclusive user) and remove temp files left by a
        killed process, which is safe only while no other process writes here."""
        self.root = Path(root) if root is not None else default_state_dir()
        self.cache_limit_bytes = int(cache_limit_bytes)
        self.temp_dir = self.root / "tmp"
        self._dir_lock: int | None = None
        try:
            (self.root / "shots").mkdir(parents=True, exist_ok=True)
            if exclusive:
                self._lock_directory()
            marker = self.root / "state.json"
            if marker.exists():
                try:
                    schema = read_json(marker).get("schema")
                except (ValueError, AttributeError):
                    raise StateError(f"{marker} is damaged (not the JSON this engine writes); restore it or write "
                                     f'{{"schema": {STATE_SCHEMA}}} into it') from None
                if schema != STATE_SCHEMA:
                    raise StateError(f"state directory {self.root} has schema {schema}, this engine uses "
                                     f"{STATE_SCHEMA}; choose another --state-dir or delete it")
            else:
                atomic_write_json(marker, {"schema": STATE_SCHEMA})
            if exclusive:
                self._remove_temp_files()
            self.temp_dir.mkdir(exist_ok=True)
        except OSError as exc:
            self._unlock_directory()
            raise StateError(f"cannot use state directory {self.root}: {exc.strerror or exc}") from None
        except StateError:
            self._unlock_directory()
            raise
        self._locks: dict[str, _FileLock] = {}
        self._locks_guard = threading.Lock()
        self._lru: "OrderedDict[str, int]" = OrderedDict()
        self._lru_total = 0
        self._lru_guard = threading.Lock()
        self._scan_cache()
        self._queue: "queue.Queue[tuple[Callable[[], None], threading.Event | None] | None]" = queue.Queue(maxsize=64)
        self._writer_error: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="ftpvm-store-writer", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------------ the directory's own lock and temp files
    def _lock_directory(self) -> None:
        """Hold ``server.lock`` for this Store's life; a second engine on the directory is refused."""
        fd = os.open(self.root / "server.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise StateError(f"state directory {self.root} is in use by {holder}; stop that server or choose "
                             f"another --state-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"ftpvm pid {os.getpid()}\n".encode())
        self._dir_lock = fd

    def _unlock_directory(self) -> None:
        if self._dir_lock is not None:
            os.close(self._dir_lock)  # closing the descriptor releases the flock
            self._dir_lock = None

    def _remove_temp_files(self) -> None:
        """Delete what killed writers left: atomic-write temps anywhere, and the decoders' temp folder."""
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    try:
                        os.unlink(os.path.join(dirpath, name))
                    except OSError:
                        pass

    # ------------------------------------------------------------------ paths and locks
    def shot_dir(self, shot_id: str) -> Path:
        return self.root / "shots" / shot_id

    def shot_ids(self) -> list[str]:
        base = self.root / "shots"
        return sorted(p.name for p in base.iterdir() if (p / "shot.json").is_file())

    def lock(self, shot_id: str) -> _FileLock:
        with self._locks_guard:
            lk = self._locks.get(shot_id)
            if lk is None:
                d = self.shot_dir(shot_id)
                lk = self._locks[shot_id] = _FileLock(d / "lock", owner=d / "shot.json")
            return lk

    def remove_shot_dir(self, shot_id: str) -> None:
        self.flush()
        d = self.shot_dir(shot_id)
        prefix = str(d / "cache") + os.sep
        with self._lru_guard:
            for p in [p for p in self._lru if p.startswith(prefix)]:
                self._lru_total -= self._lru.pop(p)
        if d.exists():
            for child in d.iterdir():
                if child.name != "lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()

    def delete_shot(self, shot_id: str) -> bool:
        """Remove a shot (``shot.json`` first: a crash leaves no half shot) and, at the lock's release, its folder.
        False when there was no such shot. Call with the shot's lock held."""
        meta = self.shot_dir(shot_id) / "shot.json"
        if not meta.is_file():
            return False
        os.unlink(meta)
        self.remove_shot_dir(shot_id)
        return True

    def clear_cache(self, shot_id: str) -> None:
        self.flush()
        d = self.shot_dir(shot_id) / "cache"
        prefix = str(d) + os.sep
        with self._lru_guard:
            for p in [p for p in self._lru if p.startswith(prefix)]:
                self._lru_total -= self._lru.pop(p)
        shutil.rmtree(d, ignore_errors=True)

    # ------------------------------------------------------------------ cache (LRU under a size limit)
    def _scan_cache(self) -> None:
        entries = []
        for shot in (self.root / "shots").iterdir():
            cache = shot / "cache"
            if not cache.is_dir():
                continue
            for dirpath, _, files in os.walk(cache):
                for name in files:
                    p = os.path.join(dirpath, name)
                    try:
                        st = os.stat(p)
                    except OSError:
                        continue
                    entries.append((st.st_mtime_ns, p, st.st_size))
        for _, p, size in sorted(entries):
            self._lru[p] = size
            self._lru_total += size

    def cache_put(self, path: Path, data: bytes) -> None:
        """Write a cache file atomically (with its checksum), account for it, evict least-recently-used files over
        the limit."""
        data = CACHE_MAGIC + hashlib.sha256(data).digest() + data
        atomic_write_bytes(path, data)
        key = str(path)
        evict: list[str] = []
        with self._lru_guard:
            if key in self._lru:
                self._lru_total -= self._lru.pop(key)
            self._lru[key] = len(data)
            self._lru_total += len(data)
            while self._lru_total > self.cache_limit_bytes and len(self._lru) > 1:
                old, size = self._lru.popitem(last=False)
                self._lru_total -= size
                evict.append(old)
        for old in evict:
            try:
                os.unlink(old)
            except OSError:
                pass

    def cache_get(self, path: Path) -> bytes | None:
        """Read a cache file (marking it recently used), or None when absent, unreadable or failing its checksum
        (a damaged file is removed, so the entry is computed again)."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        body = data[len(CACHE_MAGIC) + _DIGEST:]
        if not data.startswith(CACHE_MAGIC) or hashlib.sha256(body).digest() != data[len(CACHE_MAGIC):][:_DIGEST]:
            self.cache_drop(path)
            return None
        key = str(path)
        with self._lru_guard:
            if key in self._lru:
                self._lru.move_to_end(key)
        try:
            os.utime(path)
        except OSError:
            pass
        return body

    def cache_drop(self, path: Path) -> None:
        """Remove a cache file (damaged or unreadable) and its accounting."""
        with self._lru_guard:
            size = self._lru.pop(str(path), None)
            if size is not None:
                self._lru_total -= size
        try:
            os.unlink(path)
        except OSError:
            pass

    def cache_has(self, path: Path) -> bool:
        return path.is_file()

    @property
    def cache_bytes(self) -> int:
        with self._lru_guard:
            return self._lru_total

    # ------------------------------------------------------------------ write-behind
    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` (a write) on the background writer, in submission order."""
        self._raise_writer_error()
        self._queue.put((job, None))

    def flush(self) -> None:
        """Wait until every submitted write is done."""
        if not self._writer.is_alive():
            return
        done = threading.Event()
        self._queue.put((lambda: None, done))
        done.wait()
        self._raise_writer_error()

    def _raise_writer_error(self) -> None:
        if self._writer_error is not None:
            err, self._writer_error = self._writer_error, None
            raise StateError(f"background write to {self.root} failed: {err}")

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, done = item
            try:
                job()
            except BaseException as exc:  # reported on the next submit/flush
                self._writer_error = exc
            finally:
                if done is not None:
                    done.set()

    def close(self) -> None:
        if self._writer.is_alive():
            try:
                self.flush()
            finally:
                self._queue.put(None)
                self._writer.join()
        self._unlock_directory()


def tensor_bytes(obj: Any) -> bytes:
    """torch.save into bytes."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def tensor_load(data: bytes) -> Any:
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
