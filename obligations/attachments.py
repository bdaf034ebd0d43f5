"""Attachments (会议记录、照片): files copied into the attachments folder, never anywhere else.

A stored file's path is built only from identifiers that passed `calendars.text.identifier_problem` (the
organization code, the rule id, the period key with its `/` and `:` made `_`) and a generated name
(`<completion>-<n><.ext>`); the name the secretary gave is kept in the database only. The resolved path
must still lie inside the folder. Files are streamed in chunks (hashed on the way) with a size limit, and
whatever was written is removed when a copy fails, so a refused record leaves no file behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from calendars.text import identifier_problem
from obligations.errors import LedgerError, UserError

# Minutes and photos of one meeting; a scanned record of a long meeting is a few tens of MB. A larger file
# is a video or a wrong file, and the folder is backed up with the database.
MAX_BYTES = 100 * 1024 * 1024
CHUNK = 1024 * 1024
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


@dataclass(frozen=True)
class Stored:
    path: str  # relative to the attachments folder, with `/`
    original_name: str
    sha256: str
    size: int


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be attached, checked before anything is written; None when it can be."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"会议记录文件 {path} 不存在。"
    except OSError as error:
        return f"会议记录文件 {path} 无法读取：{error.strerror or error}。"
    if not stat.S_ISREG(info.st_mode):
        return f"会议记录文件 {path} 不是普通文件（不能是目录、管道或设备）。"
    if info.st_size > MAX_BYTES:
        return f"会议记录文件 {path} 有 {_megabytes(info.st_size)}，超过单个附件 {_megabytes(MAX_BYTES)} 的上限。"
    return None


def folder_of(org: str, rule: str, period: str) -> Path:
    """The folder of a task's attachments, relative to the attachments folder: `<org>/<rule>-<period>`."""
    task_folder = f"{rule}-{period.replace('/', '_').replace(':', '_')}"
    for what, value in (("组织编码", org), ("附件目录名", task_folder)):
        problem = identifier_problem(value)
        if problem:
            raise LedgerError([f"{what} {value!r} 不能用作附件目录：{problem}。"])
    return Path(org) / task_folder


def store(folder: Path, relative: Path, completion_id: int, files: Sequence[Path]) -> list[Stored]:
    """Copy `files` into `folder / relative`; on any failure remove every file this call wrote."""
    if not files:
        return []
    root = folder.resolve()
    target_dir = (root / relative).resolve()
    if not target_dir.is_relative_to(root):
        raise LedgerError([f"附件目录 {relative} 不在附件目录 {root} 之内。"])
    target_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    stored: list[Stored] = []
    try:
        for index, source in enumerate(files, start=1):
            suffix = source.suffix if _SUFFIX.fullmatch(source.suffix) else ""
            target = target_dir / f"{completion_id}-{index}{suffix}"
            written.append(target)
            digest, size = _copy(source, target)
            stored.append(Stored(target.relative_to(root).as_posix(), source.name, digest, size))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return stored


def _copy(source: Path, target: Path) -> tuple[str, int]:
    """Stream `source` to a new `target`, hashing on the way; refuse what stops being a regular file or
    grows past the limit while it is read."""
    try:
        # O_NONBLOCK: a FIFO put in place since the check must not hang the command.
        descriptor = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise LedgerError([f"会议记录文件 {source} 无法读取：{error.strerror or error}。"]) from None
    with os.fdopen(descriptor, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise LedgerError([f"会议记录文件 {source} 不是普通文件（不能是目录、管道或设备）。"])
        digest = hashlib.sha256()
        size = 0
        try:
            with target.open("wb") as writer:  # a file left by a record whose commit failed is garbage
                while chunk := reader.read(CHUNK):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise LedgerError(
                            [
                                f"会议记录文件 {source} 超过单个附件 {_megabytes(MAX_BYTES)} 的上限（复制时仍在增长）。"
                            ]
                        )
                    digest.update(chunk)
                    writer.write(chunk)
        except OSError as error:
            raise UserError(f"无法保存会议记录文件 {source}：{error.strerror or error}。") from None
    return digest.hexdigest(), size


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
