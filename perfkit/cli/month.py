"""``perfkit snapshot`` (compute a month once, for every report) and ``perfkit publish`` (freeze a
month's results in the store, list the versions)."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfkit.cli.common import MONTH_HELP, add_db, add_params, add_wait, month
from perfkit.errors import SpecError


def cmd_snapshot(args: argparse.Namespace) -> int:
    from perfkit.data.lock import locked_store
    from perfkit.month.build import build

    # one state of the store for every frame: the same rule as perfkit run
    with locked_store(args.db, f"perfkit snapshot {args.month}", write=False):
        print(build(args.db, args.month, args.params, root=args.root, force=args.force))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from perfkit.month.publish import publish
    from perfkit.month.published import versions

    if args.list:
        rows = versions(args.db, args.month)
        if not rows:
            print(f"no published versions{f' of {args.month}' if args.month else ''}")
            return 0
        for p in rows:
            print(f"{p.month}  v{p.version}  {p.published_at:%Y-%m-%d %H:%M}  {p.published_by}  "
                  f"fingerprint {p.fingerprint[:12]}  frames {p.frames}  changes {p.changes}"
                  + (f"  reason: {p.reason}" if p.reason else ""))
        return 0
    if args.month is None:
        raise SpecError("perfkit publish: --month is required (or --list to show the versions)")
    if args.reason and not args.revise:
        raise SpecError("perfkit publish: --reason goes with --revise (the first publication "
                        "needs no reason)")
    pub = publish(args.db, args.month, args.params, by=args.by, revise=args.revise,
                  reason=args.reason, notebooks=args.notebooks, wait=args.wait)
    print(f"published {pub.month} v{pub.version} ({pub.published_at:%Y-%m-%d %H:%M} by "
          f"{pub.published_by}): {pub.frames} frames, {pub.changes} changed figures")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register snapshot and publish."""
    p = sub.add_parser(
        "snapshot", help="compute a month's report data once (the batch's month snapshot)",
        description="Compute everything the role reports of a month need, for every entity, and "
        "keep it as Parquet files in a folder keyed by the input fingerprint (store content, "
        "parameters files, perfkit version). An up-to-date snapshot is reused; prints its folder. "
        "perfkit run builds it itself; this command builds it ahead or alone.")
    add_db(p)
    p.add_argument("--month", type=month, required=True, help=MONTH_HELP)
    add_params(p)
    p.add_argument("--root", type=Path, default=None, metavar="DIR",
                   help="folder of snapshots (default: $PERFKIT_CACHE/snapshots, else "
                   ".perfkit-cache/snapshots beside the store)")
    p.add_argument("--force", action="store_true", help="rebuild even when up to date")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser(
        "publish", help="freeze a month's results in the store (published version; --revise)",
        description="Compute every figure the reports of a month show and freeze it in the store "
        "as a published version with who, when and the input fingerprint, and the parameters "
        "files and role notebooks it is rendered with. Later reports of the month show the latest "
        "version, text and figures, whatever the data, parameters or notebooks say now. A "
        "published month is only published again with --revise --reason; every version is kept.")
    add_db(p)
    p.add_argument("--month", type=month, help=MONTH_HELP)
    add_params(p)
    p.add_argument("--by", default=None, help="who publishes (default: the OS user)")
    p.add_argument("--revise", action="store_true",
                   help="publish a new version of an already published month (needs --reason)")
    p.add_argument("--reason", default=None, help="why the revision changes the figures")
    p.add_argument("--notebooks", type=Path, default=None, metavar="DIR",
                   help="folder of the role notebooks the version keeps and is rendered with "
                   "(default: the project's notebooks/)")
    p.add_argument("--list", action="store_true",
                   help="list the published versions (of --month, or of every month)")
    add_wait(p)
    p.set_defaults(func=cmd_publish)
