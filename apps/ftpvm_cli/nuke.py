"""``ftpvm nuke install``: put the FTPVM Nuke plug-in, its client and the client's dependencies where Nuke finds them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftpvm_core.atomic import atomic_write_bytes

from .errors import CLIError

CHECKOUT_PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "nuke"


def _install_module():
    """``ftpvm_nuke.install``, importable when installed or found in the checkout."""
    try:
        from ftpvm_nuke import install
        return install
    except ImportError:
        if (CHECKOUT_PLUGIN / "ftpvm_nuke" / "install.py").is_file():
            sys.path.insert(0, str(CHECKOUT_PLUGIN))
            from ftpvm_nuke import install
            return install
        raise CLIError("the Nuke plug-in files (plugins/nuke) are not part of this installation") from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("nuke", help="install the Nuke plug-in", description="The FTPVM plug-in for Nuke.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    p = actions.add_parser(
        "install", help="install the FTPVMMatte node for Nuke",
        description="Copy the plug-in (init.py, menu.py, ftpvm_nuke) and vendor ftpvm_client with grpcio, protobuf "
                    "and numpy built for Nuke's own Python, then tell Nuke where it is (NUKE_PATH or --register).")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--nuke-python", metavar="PATH",
                       help="Nuke's Python executable, to fetch wheels for its version and platform "
                            "(default: this Python's version and platform)")
    which.add_argument("--python-version", metavar="X.Y", help="target Python version without running it, e.g. 3.10")
    p.add_argument("--platform", metavar="TAG", help="pip platform tag for the wheels (e.g. win_amd64)")
    p.add_argument("--target", metavar="DIR", type=Path, help="plug-in folder to create (default: ~/.nuke/ftpvm)")
    p.add_argument("--offline", action="store_true",
                   help="never use the network: copy this Python's packages (its version and platform must match)")
    p.add_argument("--register", action="store_true",
                   help="add a nuke.pluginAddPath line for the folder to ~/.nuke/init.py")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.set_defaults(func=_install)


def _install(args: argparse.Namespace) -> int:
    install = _install_module()
    target = (args.target or install.default_target()).expanduser().resolve()
    try:
        python = None
        if args.nuke_python:
            python = install.probe_python(args.nuke_python)
        elif args.python_version:
            python = install.PythonTarget(args.python_version, install.PythonTarget.current().platform)
        plan = install.plan_install(target, python, offline=args.offline, platform_tag=args.platform)
        print(plan.describe())
        if args.dry_run:
            if plan.mode == "pip":
                print("  " + " ".join(plan.pip_command()))
            return 0
        install.run_install(plan)
    except install.InstallError as exc:
        raise CLIError(str(exc)) from None
    if args.register:
        init = Path.home() / ".nuke" / "init.py"
        init.parent.mkdir(parents=True, exist_ok=True)
        text = install.register_text(init.read_text() if init.exists() else "", str(target))
        atomic_write_bytes(init, text.encode())  # the user's init.py: whole or untouched
        print(f"registered in {init}")
    else:
        print(f"done. Add {target} to NUKE_PATH (or run again with --register), then restart Nuke: "
              f"the FTPVM menu creates FTPVMMatte.")
    return 0
