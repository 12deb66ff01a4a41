"""The import check's report of each studio dataset, kept on disk: a second view of a dataset,
or the app's next run, shows it at once instead of checking a large dataset again.

A report lives in ``check-cache/<name>.json`` beside the datasets root (in the data directory:
not in the root, whose every folder is a dataset, nor in the dataset's folder, whose files,
size and date the studio shows) with the fingerprint of what it was computed from: each
dataset file's name, size and modification time, the rule set the firing rates were measured
with, and the source of the check itself (a deploy that changes the check invalidates every
stored report without anyone having to remember to bump a number).  Any other fingerprint
means the check runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

from data_gen import check, countries, readers
from data_gen.check import CheckReport
from detector.rules import RuleSet

log = logging.getLogger(__name__)

CACHE_DIR = "check-cache"  # a sibling of the datasets root


@cache
def _code_stamp() -> str:
    digest = hashlib.sha256()
    for module in (check, readers, countries):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(countries.__file__).with_name(countries.PRIMARY_ZONES_FILE).read_bytes())
    return digest.hexdigest()


def fingerprint(path: Path, files: frozenset[str], ruleset: RuleSet) -> str:
    """Changes whenever one of the dataset's ``files`` does, or the rules, or the check."""
    digest = hashlib.sha256(f"{_code_stamp()}|{ruleset.fingerprint()}".encode())
    for p in sorted(path.iterdir()):
        if p.name in files and p.is_file():
            st = p.stat()
            digest.update(f"|{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _entry(path: Path) -> Path:
    return path.parent.parent / CACHE_DIR / f"{path.name}.json"


def load(path: Path, stamp: str) -> CheckReport | None:
    """The stored report of the dataset at ``path`` if it was made from ``stamp``."""
    try:
        data = json.loads(_entry(path).read_text(encoding="utf-8"))
        if data.get("fingerprint") != stamp:
            return None
        return CheckReport.from_dict(data["report"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("ignoring the stored check of %s: %s", path, exc)
        return None


def store(path: Path, stamp: str, report: CheckReport) -> None:
    """Keep ``report`` for the dataset at ``path`` (written whole, then renamed into place, so
    a reader never sees half a file); a root that cannot be written only loses the cache."""
    entry = _entry(path)
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(exist_ok=True)
        body = {"fingerprint": stamp, "report": report.to_dict()}
        tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        tmp.replace(entry)
    except OSError as exc:
        log.warning("could not store the check of %s: %s", path, exc)
        tmp.unlink(missing_ok=True)


def cached(
    path: Path, files: frozenset[str], ruleset: RuleSet, compute: Callable[[], CheckReport]
) -> CheckReport:
    """The stored report while the dataset is unchanged, else ``compute()`` (then stored)."""
    stamp = fingerprint(path, files, ruleset)
    report = load(path, stamp)
    if report is None:
        report = compute()
        store(path, stamp, report)
    return report
