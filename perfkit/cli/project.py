"""``perfkit init`` (write a new project) and ``perfkit lab`` (JupyterLab on its notebooks)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_init(args: argparse.Namespace) -> int:
    from perfkit.project.init import init_project

    written = init_project(args.dir, force=args.force)
    root = Path(args.dir).resolve()
    print(f"perfkit project in {root}: {len(written)} files written")
    print(f"next: cd {args.dir} && perfkit demo && perfkit run   (or perfkit import your exports)")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from perfkit.project.lab import lab

    extra = [a for a in args.jupyter_args if a != "--"]
    return lab(extra)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register init and lab."""
    p = sub.add_parser(
        "init", help="write a new perfkit project (parameters, notebooks, perfkit.yaml)",
        description="Write a perfkit project into DIR: parameters/ and notebooks/ copied from the "
        "installed defaults, data/ and output/ (git-ignored), .gitignore, README.md and "
        "perfkit.yaml, the marker every perfkit command finds its project by (the nearest folder "
        "holding it, from the current folder up). DIR must be empty or new.")
    p.add_argument("dir", type=Path, metavar="DIR", help="the project folder (created if missing)")
    p.add_argument("--force", action="store_true",
                   help="write into a folder that is not empty: add the missing project files, "
                   "keep every file already there")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "lab", help="JupyterLab on the project's notebooks, against its store",
        description="Start JupyterLab on the project's notebooks/ with $PERFKIT_DB set to its "
        "store (--allow-root added when run as root). Arguments after -- go to JupyterLab, e.g. "
        "perfkit lab -- --no-browser --port 8899.")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_lab)
