"""Rule sets stored as JSON files (the command line's ``--rules``): the file reading that the
pure :mod:`detector.rules` must not do."""

from __future__ import annotations

import json
from pathlib import Path

from detector.errors import RuleSetError
from detector.rules import RuleSet


def read_ruleset(path: str | Path) -> RuleSet:
    """The rule set in the JSON file ``path``; its version defaults to the file's stem."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleSetError(f"{p}: file not found") from None
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"{p} line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    try:
        return RuleSet.from_dict(data, version=data.get("version", p.stem))
    except RuleSetError as exc:
        raise RuleSetError(f"{p}: {exc}") from None
