"""The one guard for the files a command writes: never over what it reads, never two in one.

Every command calls :func:`check_outputs` once, before it reads anything, with every file it reads
and every file it will write, each as ``(option name, path)`` (None: an option not given)::

    check_outputs([("FILE", csv_path), ("--mapping", mapping_path)],
                  [("--output", results), ("--state", state), ("--report", report)])

An output that is an input or another output is a :class:`~importer.core.errors.ConfigError` (exit
2, one line naming both options). "The same file" is the same device and inode, or, for a file not
there yet, the same resolved path: symlinks, hard links, ``..`` and case-insensitive file systems
are seen through. Files that hold customers' data (state, results, rejects, request log) are
created readable by their owner only (:func:`open_private`, :func:`create_private`), whatever the
umask.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from importer.core.errors import ConfigError

__all__ = [
    "PRIVATE",
    "Named",
    "check_outputs",
    "check_recorded_results",
    "create_private",
    "open_private",
    "same_file",
]

PRIVATE = 0o600
"""The mode outputs are created with: read and write for their owner, nothing for others."""

Named = tuple[str, str | os.PathLike[str] | None]
"""An option's name as the user typed it (``--report``, ``FILE``) and its path (None: not given)."""


def _identity(path: Path) -> tuple[int, int] | Path:
    try:
        info = os.stat(path)
    except OSError:
        return path.resolve()
    return (info.st_dev, info.st_ino)


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name one file (same path, symlink or hard link)."""
    return _identity(Path(a)) == _identity(Path(b))


def check_outputs(inputs: Sequence[Named], outputs: Sequence[Named]) -> None:
    """Refuse outputs that are an input or one another (see the module's docstring)."""
    reads = [(name, Path(path), _identity(Path(path))) for name, path in inputs if path]
    writes = [(name, Path(path), _identity(Path(path))) for name, path in outputs if path]
    for index, (name, path, identity) in enumerate(writes):
        check_writable(name, path)
        for other, other_path, other_identity in reads:
            if identity == other_identity:
                raise ConfigError(
                    f"{name} {path} is the same file as {other} {other_path}, which is read: "
                    f"write {name} elsewhere"
                )
        for other, other_path, other_identity in writes[:index]:
            if identity == other_identity:
                raise ConfigError(
                    f"{name} {path} is the same file as {other} {other_path}: give each its own "
                    "path"
                )


def check_writable(name: str, path: Path) -> None:
    """Refuse, before anything is read or sent, an output that could not be written at all: a
    run that could only fail at its first line of results must not begin (exit 2)."""
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write {name} {path}: {folder} is not a folder this user may write in"
        )
    if path.is_dir():
        raise ConfigError(f"cannot write {name} {path}: it is a folder")


def check_recorded_results(recorded: Iterable[Path], output: str | os.PathLike[str] | None) -> None:
    """Refuse an ``--output`` (a plan's, an undo's) over the results of an import a state
    records (``Ledger.results_files``): they would be lost."""
    check_outputs([("the import's results (recorded in --state)", p) for p in recorded],
                  [("--output", output)])  # fmt: skip


def open_private(path: str | os.PathLike[str], mode: str = "w", **options: Any) -> IO[Any]:
    """``open(path, mode, **options)`` for writing (``w``: truncate, ``a``: append), a file it
    creates made :data:`PRIVATE` (an existing one keeps its mode: its owner chose it)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, PRIVATE), mode, **options)


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty and :data:`PRIVATE` unless it exists (a database SQLite will open:
    its journal files take the database's mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE))
