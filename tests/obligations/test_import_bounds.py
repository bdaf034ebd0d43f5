"""The work an import does is bounded before it starts: a registry file over 64 MB, and a workbook whose parts
unpack to more than 256 MB (a zip bomb: megabytes that inflate to gigabytes), are refused with one problem
naming the file, and nothing is read or written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from obligations import workbook
from obligations.registry import MAX_REGISTRY_BYTES
from tests.obligations.test_import_xlsx import HEADERS, reading_problems
from tests.obligations.test_import_xlsx import workbook as write_workbook


@pytest.mark.parametrize("suffix", [".csv", ".toml", ".xlsx"])
def test_a_registry_file_over_the_limit_is_refused_unread(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"members{suffix}"
    with path.open("wb") as file:
        file.truncate(MAX_REGISTRY_BYTES + 1)  # sparse: the size is real, the disk is not used
    assert reading_problems(path) == [f"{path}：文件超过 64 MB，请分批导入"]


def test_a_workbook_whose_parts_unpack_beyond_the_limit_is_refused_unopened(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "bomb.xlsx", {"名册": [HEADERS, ("m1", "张三", "jg.b1", "正式党员", "2010-07-01")]}
    )
    chunk = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("xl/media/padding.bin", "w", force_zip64=True) as padding,
    ):
        for _ in range(workbook.MAX_UNPACKED_BYTES // len(chunk) + 1):
            padding.write(chunk)
    assert path.stat().st_size < MAX_REGISTRY_BYTES // 16  # small on disk
    assert reading_problems(path) == [f"{path}：工作簿解压后超过 256 MB，请分批导入"]
