"""One consistent store per run: ``perfkit run`` reads a store under a shared lock, and whatever
writes it (``perfkit import``, ``publish``, ``demo`` over it, ``upgrade-store``) needs the lock
alone. A writer that finds a run holding the store is refused with a message naming the run (its
pid, what it does and since when) — or waits for it with ``wait`` — and a run does not start while a
writer holds the store.

The lock is ``flock(2)`` on ``<store>.lock`` beside the store (released by the kernel when its holder
dies, even by ``kill -9``); each holder describes itself in ``<store>.lock.d/<pid>.json`` so the
others can say who it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import inspect
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from perfkit.errors import StoreError

F = TypeVar("F", bound=Callable[..., Any])


def _paths(store: str | os.PathLike) -> tuple[Path, Path]:
    store = Path(store).resolve()
    return store.with_name(store.name + ".lock"), store.with_name(store.name + ".lock.d")


def holders(store: str | os.PathLike) -> list[dict]:
    """Who holds the store now (live processes only): ``pid``, ``what``, ``since``."""
    _, folder = _paths(store)
    out = []
    with contextlib.suppress(OSError):
        for f in sorted(folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(f.read_text(encoding="utf-8"))
                os.kill(int(info["pid"]), 0)
                out.append(info)
    return out


def _describe(store: str | os.PathLike) -> str:
    found = holders(store)
    if not found:
        return "another process"
    return "; ".join(f"{h['what']} (pid {h['pid']}, since {h['since']})" for h in found)


@contextlib.contextmanager
def _lock(store: str | os.PathLike, what: str, mode: int, wait: bool) -> Iterator[None]:
    lock_file, folder = _paths(store)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError:
        if mode != fcntl.LOCK_SH or not lock_file.exists():
            raise
        fd = os.open(lock_file, os.O_RDONLY)  # a store in a folder this user may only read
    me = folder / f"{os.getpid()}.json"
    try:
        try:
            fcntl.flock(fd, mode | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            verb = "read" if mode == fcntl.LOCK_SH else "write"
            raise StoreError(f"cannot {verb} it now: it is in use by {_describe(store)}; "
                             "wait for it to finish, or pass --wait", file=str(store)) from None
        with contextlib.suppress(OSError):  # who holds it: for the others' messages only
            folder.mkdir(exist_ok=True)
            me.write_text(json.dumps({"pid": os.getpid(), "what": what,
                                      "since": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")},
                                     ensure_ascii=False), encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            me.unlink()
        os.close(fd)


def reading(store: str | os.PathLike, what: str, *, wait: bool = False) -> contextlib.AbstractContextManager[None]:
    """Hold ``store`` for reading (several readers at once; no writer meanwhile)."""
    return _lock(store, what, fcntl.LOCK_SH, wait)


def writing(store: str | os.PathLike, what: str, *, wait: bool = False) -> contextlib.AbstractContextManager[None]:
    """Hold ``store`` for writing (alone)."""
    return _lock(store, what, fcntl.LOCK_EX, wait)


@contextlib.contextmanager
def locked_store(store: object, what: str, *, write: bool, wait: bool = False) -> Iterator[None]:
    """:func:`writing` or :func:`reading` for a store given as a path (default: the project's);
    an open connection is the caller's business and is not locked."""
    import duckdb

    if isinstance(store, duckdb.DuckDBPyConnection):
        yield
        return
    if store is None:
        from perfkit.data.store import default_db

        store = default_db()
    with (writing if write else reading)(store, what, wait=wait):
        yield


def writes_store(what: str, arg: str) -> Callable[[F], F]:
    """Decorate a function that writes the store given as its argument ``arg`` (a path or
    connection; default: the project's): it runs holding the store for writing, and takes one
    more keyword, ``wait``. ``what`` (formatted with the call's arguments) names the writer to
    the runs it waits for."""
    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, wait: bool = False, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs).arguments
            with locked_store(bound.get(arg), what.format(**bound), write=True, wait=wait):
                return func(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate
