"""Dataset files and zips for the studio's import tests (services, pages, hostile input)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path


def zip_of(files: Mapping[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def dataset_files(path: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
