"""Reading and writing files the one way perfkit does it.

- :func:`atomic_path` — every output goes to a temporary name in the same folder and is renamed;
- :func:`read_yaml` — every parameters file is read by it: libyaml's safe loader, and one
  :class:`~perfkit.errors.SpecError` naming the file for a missing, unreadable or malformed one.
  The file is read on every call (an edit shows on the next one); a text parsed before is not
  parsed again (the process keeps the parsed form of the last texts it read).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from perfkit.errors import SpecError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10× faster

#: parsed YAML by file text (pickled: every call gets its own copy); a report kernel forked from
#: the batch's fork server finds the parameters files it reads here, parsed once by the server
_PARSED: dict[str, bytes] = {}
_PARSED_MAX = 64


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Readers never see a half-written file, and an interrupted write leaves the old file in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def yaml_problem(exc: Exception) -> str:
    """A YAML parser's error in one line: ``line 178, column 4: did not find expected '-'
    indicator (while parsing a block collection)``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        context = f" ({exc.context})" if exc.context else ""
        return f"{where}{exc.problem or 'syntax error'}{context}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start}: {exc.reason})"
    return " ".join(str(exc).split())


def yaml_detail(exc: Exception, path: Path, text: str | None) -> str:
    """The parser's full message (for ``--debug``), naming ``path``, with the lines it points at
    and a caret under each column."""
    out = [str(exc).replace("<unicode string>", str(path))]
    lines = text.splitlines() if text else []
    for mark in (getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None)):
        if mark is not None and 0 <= mark.line < len(lines):
            out.append(f"{path}:{mark.line + 1}:{mark.column + 1}\n    {lines[mark.line]}\n"
                       f"    {' ' * mark.column}^")
    return "\n".join(out)


def read_yaml(path: str | os.PathLike, *, required: bool = True,
              expect: str | None = "a mapping at the top level") -> Any:
    """The parsed content of the YAML file ``path`` (an empty file gives ``{}``).

    A missing file is a SpecError ("parameters file not found") when ``required``, else None.
    Invalid YAML or text that is not UTF-8 is a SpecError ("not valid YAML: …"). ``expect`` names
    what the top level must be — a mapping (the message says ``expected <expect>``); None accepts
    anything, for a loader that reports the shape itself. Every error names the file.
    """
    path = Path(path)
    if not path.exists():
        if required:
            raise SpecError("parameters file not found", file=str(path))
        return None
    text = None
    try:
        text = path.read_text(encoding="utf-8")
        parsed = _PARSED.get(text)
        if parsed is not None:
            data = pickle.loads(parsed)  # noqa: S301 - pickled by this process, from YAML
        else:
            data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - safe loader
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[text] = pickle.dumps(data)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        err = SpecError(f"not valid YAML: {yaml_problem(exc)}", file=str(path))
        err.detail = yaml_detail(exc, path, text)  # the parser's own text, for --debug
        raise err from None
    if data is None:
        data = {}
    if expect is not None and not isinstance(data, dict):
        raise SpecError(f"expected {expect}", file=str(path))
    return data


def read_month_record(path: str | os.PathLike, month: str, fmt: int) -> dict[str, Any]:
    """The JSON record of a month folder (``manifest.json``, ``delivery.json``) as a mapping, after
    checking it is of ``month`` and format ``fmt``; ValueError (or KeyError/TypeError) otherwise —
    the caller decides whether an unreadable record is ignored or an error."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != fmt or data.get("month") != month:
        raise ValueError(f"format {data.get('format') if isinstance(data, dict) else '?'}, "
                         f"month {data.get('month') if isinstance(data, dict) else '?'}")
    return data


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it, before any work is done;
    :class:`~perfkit.errors.OutputError` naming the folder otherwise."""
    from perfkit.errors import OutputError

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".perfkit-write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write here: {exc.strerror or exc}", file=str(folder)) from None
    return folder
