"""manifest.json: what a dataset contains and how it was made.  Written last, so its presence
means the dataset is complete."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from data_gen.params import GenParams
from data_gen.writers import FileInfo

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ScenarioCount:
    payments: int
    incidents: int


@dataclass(frozen=True)
class Manifest:
    """Summary of a generated dataset; ``to_json()`` is the exact manifest.json text."""

    params: GenParams
    files: tuple[FileInfo, ...]  # data files, sorted by name
    window_start: str  # ISO-8601 UTC, inclusive
    window_end: str  # ISO-8601 UTC, exclusive
    payments_by_result: Mapping[str, int]  # success / failed
    fraud: Mapping[str, ScenarioCount]  # every scenario of schema.FRAUD_SCENARIOS
    legit_behaviours: Mapping[str, int]  # customers having each behaviour; retries counted
    format_version: int = FORMAT_VERSION

    def rows(self, name: str) -> int:
        """Data rows (header excluded) of the file called ``name``."""
        for info in self.files:
            if info.name == name:
                return info.rows
        raise KeyError(name)

    @property
    def fraud_payments(self) -> int:
        return sum(c.payments for c in self.fraud.values())

    @property
    def fraud_incidents(self) -> int:
        return sum(c.incidents for c in self.fraud.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "generator": "data_gen",
            "params": self.params.to_dict(),
            "window": {"start": self.window_start, "end": self.window_end},
            "files": {
                f.name: {"rows": f.rows, "bytes": f.bytes, "sha256": f.sha256} for f in self.files
            },
            "payments": dict(self.payments_by_result),
            "fraud": {
                "payments": self.fraud_payments,
                "incidents": self.fraud_incidents,
                "by_scenario": {
                    name: {"payments": c.payments, "incidents": c.incidents}
                    for name, c in self.fraud.items()
                },
            },
            "legit_behaviours": dict(self.legit_behaviours),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"
