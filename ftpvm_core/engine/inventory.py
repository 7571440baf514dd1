"""What a state directory holds, shot by shot, and tidying it: list, show, remove, prune by age or size.

Reads ``shot.json`` and file sizes only (no network, no engine), so the CLI's ``ftpvm shots`` and the server's
shot RPCs share it. Removal takes the shot's lock, like every writer.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from ftpvm_core.engine.store import Store, read_json
from ftpvm_core.errors import InvalidInput, ShotDamaged, ShotNotFound


@dataclass(frozen=True)
class ShotSummary:
    """One shot on disk: its frame, keyframes (frame -> source), bytes used and last change (epoch seconds)."""

    id: str
    width: int
    height: int
    colorspace: str
    keyframes: dict[int, str]
    size_bytes: int
    modified: float
    settings: dict = field(default_factory=dict)
    #: why the shot's record cannot be read ("" when it can); such a shot has no frame size or keyframes
    damaged: str = ""


def _walk_size(folder: str) -> tuple[int, float]:
    total, newest = 0, 0.0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue  # removed while we looked
            total += st.st_size
            newest = max(newest, st.st_mtime)
    return total, newest


def summary(store: Store, shot_id: str) -> ShotSummary:
    """The shot's summary; ShotNotFound when it is not in ``store``."""
    folder = store.shot_dir(shot_id)
    meta = read_shot_record(store, shot_id)
    size, modified = _walk_size(str(folder))
    keyframes = {int(k): v.get("source", "?") for k, v in meta.get("keyframes", {}).items()}
    return ShotSummary(shot_id, int(meta["width"]), int(meta["height"]), meta["colorspace"],
                       dict(sorted(keyframes.items())), size, modified, dict(meta.get("settings", {})))


#: Fields every ``shot.json`` has; a record without them is damaged.
RECORD_FIELDS = {"id": str, "width": int, "height": int, "colorspace": str, "settings": dict, "keyframes": dict}


def read_shot_record(store: Store, shot_id: str) -> dict:
    """The shot's ``shot.json``: ShotNotFound when there is none, ShotDamaged (no server path in the message)
    when it cannot be read or lacks a field."""
    try:
        meta = read_json(store.shot_dir(shot_id) / "shot.json")
    except FileNotFoundError:
        raise ShotNotFound(f"no shot {shot_id!r} in the state directory") from None
    except (OSError, ValueError):
        meta = None
    if not isinstance(meta, dict) or any(not isinstance(meta.get(k), t) for k, t in RECORD_FIELDS.items()):
        raise ShotDamaged(f"shot {shot_id!r} is damaged: its record (shot.json in the state directory) cannot be "
                          f"read; delete the shot (DeleteShot, or ftpvm shots rm) and open it again")
    return meta


def summaries(store: Store) -> list[ShotSummary]:
    """Every shot in ``store`` (shots removed while listing are skipped), by id."""
    out = []
    for shot_id in store.shot_ids():
        try:
            out.append(summary(store, shot_id))
        except ShotNotFound:
            continue
        except ShotDamaged as exc:  # listed (it counts and can be removed), with why it cannot be used
            size, modified = _walk_size(str(store.shot_dir(shot_id)))
            out.append(ShotSummary(shot_id, 0, 0, "", {}, size, modified, damaged=str(exc)))
    return out


def remove(store: Store, shot_id: str) -> None:
    """Delete a shot and its folder; ShotNotFound when there is none."""
    with store.lock(shot_id).hold():
        if not store.delete_shot(shot_id):
            raise ShotNotFound(f"no shot {shot_id!r} in {store.root}")


def select_prune(shots: list[ShotSummary], older_than_s: float | None = None, max_total_bytes: int | None = None,
                 now: float | None = None) -> list[ShotSummary]:
    """The shots to prune: unchanged for more than ``older_than_s`` seconds, then the least recently changed
    until the rest fit in ``max_total_bytes``. At least one limit is required."""
    if older_than_s is None and max_total_bytes is None:
        raise InvalidInput("prune needs an age (older than) or a size limit (total bytes), or both")
    if (older_than_s is not None and older_than_s < 0) or (max_total_bytes is not None and max_total_bytes < 0):
        raise InvalidInput("prune limits must not be negative")
    now = time.time() if now is None else now
    by_age = sorted(shots, key=lambda s: s.modified)
    chosen = [s for s in by_age if older_than_s is not None and now - s.modified > older_than_s]
    if max_total_bytes is not None:
        left = [s for s in by_age if s not in chosen]
        total = sum(s.size_bytes for s in left)
        for s in left:
            if total <= max_total_bytes:
                break
            chosen.append(s)
            total -= s.size_bytes
    return chosen


def prune(store: Store, older_than_s: float | None = None, max_total_bytes: int | None = None,
          dry_run: bool = False, now: float | None = None) -> list[ShotSummary]:
    """Remove (or, ``dry_run``, only name) the shots :func:`select_prune` picks; returns them."""
    chosen = select_prune(summaries(store), older_than_s, max_total_bytes, now)
    if not dry_run:
        for s in chosen:
            try:
                remove(store, s.id)
            except ShotNotFound:
                pass  # removed meanwhile
    return chosen


__all__ = ["RECORD_FIELDS", "ShotSummary", "prune", "read_shot_record", "remove", "select_prune", "summaries",
           "summary"]
