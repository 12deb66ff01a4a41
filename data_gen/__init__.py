"""KiVendTout dataset generator: synthetic customers, sessions, orders, payments and events
with labelled fraud, written in the layout of :mod:`data_gen.schema`.

    from data_gen import GenParams, generate
    manifest = generate("data/ref", GenParams(seed=42))
"""

from __future__ import annotations

from data_gen.errors import DataGenError, InvalidParamsError, OutputDirError
from data_gen.generate import Progress, Step, generate
from data_gen.manifest import FORMAT_VERSION, Manifest, ScenarioCount
from data_gen.params import DEFAULT_MIX, GenParams
from data_gen.writers import FileInfo

__all__ = [
    "DEFAULT_MIX",
    "FORMAT_VERSION",
    "DataGenError",
    "FileInfo",
    "GenParams",
    "InvalidParamsError",
    "Manifest",
    "OutputDirError",
    "Progress",
    "ScenarioCount",
    "Step",
    "generate",
]
