"""Exceptions raised by the dataset generator; callers catch :class:`DataGenError`."""

from __future__ import annotations

from pathlib import Path


class DataGenError(Exception):
    """Root of every error the generator raises on purpose."""


class InvalidParamsError(DataGenError, ValueError):
    """A generation parameter is out of range; ``field`` names the offending parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid {field}: {message}")
        self.field = field


class OutputDirError(DataGenError):
    """The output directory cannot be used (it is a file, or cannot be created)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"output directory {str(path)!r}: {message}")
        self.path = path
