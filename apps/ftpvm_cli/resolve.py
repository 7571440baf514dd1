"""``ftpvm resolve``: install the FTPVM Matte script into DaVinci Resolve (or remove it, or show paths)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _import_install():
    try:
        from ftpvm_resolve import install
    except ImportError:  # a source checkout: the package lives in plugins/resolve
        root = Path(__file__).resolve().parents[2]
        for folder in (root / "plugins" / "resolve", root / "plugins"):
            if folder.is_dir() and str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        from ftpvm_resolve import install
    return install


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("resolve", help="install the FTPVM Matte script into DaVinci Resolve",
                            description="Install, remove or locate the FTPVM Matte script for DaVinci Resolve.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for name, helptext in (("install", "copy the script into Resolve's Scripts folder"),
                           ("uninstall", "remove the script and its packages"),
                           ("paths", "print where the script and its packages go")):
        p = actions.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--category", default="Utility",
                       help="Scripts category: Utility (every page, default) or Comp (Fusion page)")
        p.add_argument("--all-users", action="store_true", help="the all-users Scripts folder (needs admin rights)")
        p.add_argument("--scripts-dir", help="the Scripts folder to use instead of Resolve's default")
        p.add_argument("--support-dir", help="where the packages go (default: the per-user ftpvm folder)")
        p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from .errors import CLIError

    install = _import_install()
    try:
        plan = install.plan_install(args.category, args.all_users, args.scripts_dir, args.support_dir)
        if args.action == "paths":
            print(f"script:   {plan.script}\npackages: {plan.support}")
            return 0
        done = install.install(plan) if args.action == "install" else install.uninstall(plan)
    except (install.InstallError, OSError) as exc:
        raise CLIError(str(exc)) from None
    verb = "installed" if args.action == "install" else "removed"
    for path in done:
        print(f"{verb} {path}")
    if args.action == "install":
        print("In Resolve: Workspace > Scripts > FTPVM Matte (restart Resolve if it is not listed). The script needs "
              "numpy, grpcio, protobuf and OpenImageIO in the Python Resolve uses; see docs/resolve.md.")
    elif not done:
        print("nothing to remove", file=sys.stderr)
    return 0
