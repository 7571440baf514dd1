"""``ftpvm checkpoint``: inspect and verify FTP-VM checkpoint files."""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from .errors import CLIError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("checkpoint", help="inspect or verify a checkpoint file",
                            description="Inspect FTP-VM checkpoint files.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    info = actions.add_parser("info", help="check a checkpoint loads strictly and print its facts",
                              description="Check that PATH is a complete FTP-VM checkpoint (strict load) and "
                                          "print its tensor count, parameter count, dtypes and fingerprint.")
    info.add_argument("path", type=Path, help="checkpoint file, e.g. saves/ftpvm.pth")
    info.add_argument("--json", action="store_true", help="print the facts as JSON")
    info.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> int:
    from ftpvm_core.model.checkpoint import CheckpointError, check_state_dict, fingerprint, load_state_dict_file
    from ftpvm_core.model.ftpvm import FastTrimapPropagationVideoMatting

    try:
        state = load_state_dict_file(args.path)
        check_state_dict(FastTrimapPropagationVideoMatting(backbone_pretrained=False), state, str(args.path))
    except CheckpointError as exc:
        raise CLIError(str(exc)) from None
    facts = {
        "path": str(args.path),
        "size_bytes": args.path.stat().st_size,
        "tensors": len(state),
        "parameters": sum(v.numel() for k, v in state.items() if v.is_floating_point()),
        "dtypes": dict(Counter(str(v.dtype).replace("torch.", "") for v in state.values())),
        "fingerprint": fingerprint(state),
        "strict_load": "ok",
    }
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        width = max(len(k) for k in facts)
        for key, value in facts.items():
            print(f"{key:<{width}}  {value}")
    return 0
