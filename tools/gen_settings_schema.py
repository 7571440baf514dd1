"""Write the engine's settings schema as the snapshot shipped in ``ftpvm_wire`` (for hosts without a server).

    python tools/gen_settings_schema.py            # write wire/ftpvm_wire/settings_schema.json
    python tools/gen_settings_schema.py --check    # exit 1 when the snapshot differs from the engine's schema

The engine's :func:`ftpvm_core.engine.settings.settings_schema` is the one source; this file is its copy for
hosts (tests/wire/test_schema.py fails when the two differ).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def current_text() -> str:
    """The snapshot's text as the engine's schema gives it now."""
    from ftpvm_core.engine.settings import settings_schema
    from ftpvm_wire.schema import Schema

    return Schema.from_json(settings_schema()).to_json()


def main(argv: list[str] | None = None) -> int:
    from ftpvm_wire.schema import SNAPSHOT

    parser = argparse.ArgumentParser(description="write or check the settings-schema snapshot in ftpvm_wire")
    parser.add_argument("--check", action="store_true", help="exit 1 when the snapshot is stale")
    args = parser.parse_args(argv)
    text = current_text()
    if args.check:
        stale = not SNAPSHOT.is_file() or SNAPSHOT.read_text(encoding="utf-8") != text
        if stale:
            print(f"{SNAPSHOT.relative_to(ROOT)} is stale: run python tools/gen_settings_schema.py", file=sys.stderr)
        return int(stale)
    SNAPSHOT.write_text(text, encoding="utf-8")
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "wire")]
    sys.exit(main())
