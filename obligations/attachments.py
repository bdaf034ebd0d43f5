"""Attachments (会议记录、照片): files copied into the attachments folder, never anywhere else.

A stored file's path is built only from identifiers that passed `calendars.text.identifier_problem` (the
organization code, the rule id, the period key with its `/` and `:` made `_`) and a generated name
(`<completion>-<n><.ext>`); the name the secretary gave is kept in the database only. An upload through the
desk is accepted by what its content is (`kind_of`), never by its name. The resolved path
must still lie inside the folder. Files are streamed in chunks (hashed on the way) with a size limit, and
whatever was written is removed when a copy fails, so a refused record leaves no file behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import filetype  # type: ignore[import-untyped]

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


# ---------------------------------------------------------------------------------------------------
# What a file is, by its content (uploads through the desk: `[web] allowed_types`)

# The types the desk accepts, by the name `[web] allowed_types` uses: their Content-Type and the suffixes a
# stored copy may keep (the first is given to a file whose name says otherwise).
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "jpg": ("image/jpeg", (".jpg", ".jpeg")),
    "png": ("image/png", (".png",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    "doc": ("application/msword", (".doc",)),
    "xls": ("application/vnd.ms-excel", (".xls",)),
}
TYPE_LABELS = {"pdf": "PDF", "jpg": "JPG 图片", "png": "PNG 图片", "docx": "Word", "xlsx": "Excel",
               "doc": "Word 97-2003", "xls": "Excel 97-2003"}  # fmt: skip
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word/Excel 97-2003 are OLE2 compound files
ZIP_MAGIC = b"PK\x03\x04"  # .docx / .xlsx are zip packages
# The stream that names an OLE2 file's application, as its directory spells it (UTF-16LE).
_OLE2_STREAMS = (("doc", "WordDocument".encode("utf-16-le")), ("xls", "Workbook".encode("utf-16-le")),
                 ("xls", "Book\x00".encode("utf-16-le")))  # fmt: skip
MAX_NAME = 80  # characters of a kept original name (a file name holds 255 bytes, 3 a character)


def kind_of(path: Path) -> str | None:
    """What `path` holds, judged by its content alone (never its name): a key of TYPES, or None for
    anything else — an HTML page or an SVG drawing named .pdf is None."""
    with path.open("rb") as reader:
        head = reader.read(8192)
    if head.startswith(OLE2_MAGIC):
        return _ole2_kind(path)
    if head.startswith(ZIP_MAGIC):
        return _package_kind(path)
    guessed = filetype.guess(head)
    extension = guessed.extension if guessed is not None else None
    return extension if extension in ("pdf", "jpg", "png") else None


def _ole2_kind(path: Path) -> str | None:
    """Word or Excel 97-2003: the compound file's directory names a WordDocument or Workbook stream."""
    tail = b""
    with path.open("rb") as reader:
        while chunk := reader.read(CHUNK):
            window = tail + chunk
            for kind, name in _OLE2_STREAMS:
                if name in window:
                    return kind
            tail = window[-32:]
    return None


def _package_kind(path: Path) -> str | None:
    """Word or Excel: an Office Open XML package holds word/… or xl/… parts."""
    try:
        with zipfile.ZipFile(path) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(name.startswith("word/") for name in names):
        return "docx"
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    return None


def clean_name(name: str) -> str:
    """The name a person gave an upload, as it may be kept and shown: its last path part (a browser may send
    C:\\fakepath\\…), without control or format characters, at most MAX_NAME characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return base[-MAX_NAME:] if len(base) > MAX_NAME else base or "附件"


def safe_name(name: str, kind: str) -> str:
    """The name an upload of `kind` is kept under (metadata only): clean, with a suffix of its real type."""
    base = clean_name(name)
    stem, dot, suffix = base.rpartition(".")
    suffixes = TYPES[kind][1]
    if not dot or f".{suffix.lower()}" not in suffixes:
        stem, suffix = base, suffixes[0][1:]
    stem = stem[: MAX_NAME - len(suffix) - 1] or "附件"
    return f"{stem}.{suffix}"
