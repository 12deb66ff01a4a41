"""Orchestration: customers in fixed-size chunks, fraud injected per chunk, files merged last.

Random streams are keyed by (seed, purpose, chunk number) and chunks have a fixed size, so the
output depends only on the parameters.  Memory is bounded by one chunk: rows are written as
each chunk completes and the time-ordered files are merged from sorted runs at the end.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

import numpy as np

from data_gen.catalog import Catalog, card_bins
from data_gen.clock import Clock, iso_ms
from data_gen.errors import OutputDirError
from data_gen.funnel import Chunk, Shop
from data_gen.legit import live, new_customer
from data_gen.manifest import Manifest, ScenarioCount
from data_gen.params import GenParams
from data_gen.profiles import SEGMENT
from data_gen.rand import Draw
from data_gen.scenarios import (
    LEGIT_BEHAVIOUR_NAMES,
    RETRY_AFTER_DECLINE,
    FraudBudget,
    FraudContext,
    established_victims,
)
from data_gen.schema import FRAUD_SCENARIOS, MANIFEST_FILE
from data_gen.writers import DatasetWriter
from detector.common import i18n


class Step(str):
    """A progress message: the English text (what the command line prints), with the
    catalogue ``key`` and the counts behind it, for a page to say it in its language."""

    key: str
    counts: dict[str, int]

    def __new__(cls, key: str, **counts: int) -> Step:
        step = super().__new__(
            cls, i18n.text(key, "en", **{k: f"{v:,}" for k, v in counts.items()})
        )
        step.key, step.counts = key, counts
        return step


Progress = Callable[[float, str], None]  # (fraction done, message: a Step)

# The reference KiVendTout export this generator reproduces at scale 1.
REFERENCE_CUSTOMERS = 2_500
CHUNK_CUSTOMERS = 5_000  # part of the output's definition: changing it changes the data

_STREAM_SHOP, _STREAM_LEGIT, _STREAM_FRAUD = 0, 1, 2
_GENERATION_SHARE = 0.8  # of the progress bar; the rest is the final merge


def generate(
    out_dir: str | Path, params: GenParams | None = None, progress: Progress | None = None
) -> Manifest:
    """Write a dataset into ``out_dir`` (created if needed) and return its manifest.

    ``progress(fraction, message)`` is called with fractions rising from 0.0 to 1.0.
    Raises :class:`~data_gen.errors.DataGenError` subclasses on bad parameters or output dir.
    """
    params = params if params is not None else GenParams()
    out = _prepare(Path(out_dir))
    report = progress or (lambda _f, _m: None)
    report(0.0, Step("gen.starting"))

    clock = Clock(params.start, params.days)
    shop_draw = Draw(params.seed, _STREAM_SHOP)
    shop = Shop(clock, Catalog(shop_draw, clock), card_bins(shop_draw))
    n_customers = max(1, round(REFERENCE_CUSTOMERS * params.scale))
    n_chunks = math.ceil(n_customers / CHUNK_CUSTOMERS)
    budget = FraudBudget(params.fraud_rate, params.mix)
    tally = _Tally()

    with tempfile.TemporaryDirectory(dir=out, prefix=".tmp-") as tmp:
        writer = DatasetWriter(out, Path(tmp))
        try:
            writer.write_products(shop.catalog)
            for k in range(n_chunks):
                size = min(CHUNK_CUSTOMERS, n_customers - k * CHUNK_CUSTOMERS)
                chunk, retries = _build_chunk(params, shop, budget, k, size)
                writer.write_chunk(chunk)
                tally.add(chunk, retries)
                done = min((k + 1) * CHUNK_CUSTOMERS, n_customers)
                report(
                    _GENERATION_SHARE * (k + 1) / n_chunks,
                    Step("gen.customers", done=done, total=n_customers),
                )

            files = writer.finish(_merge_progress(report))
        except BaseException:
            writer.close()
            raise

    manifest = Manifest(
        params=params,
        files=tuple(files),
        window_start=iso_ms(np.array([clock.start_ms]))[0],
        window_end=iso_ms(np.array([clock.end_ms]))[0],
        payments_by_result=MappingProxyType(
            {"success": tally.success, "failed": tally.payments - tally.success}
        ),
        fraud=MappingProxyType(
            {s: ScenarioCount(tally.fraud_payments[s], tally.incidents[s]) for s in FRAUD_SCENARIOS}
        ),
        legit_behaviours=MappingProxyType(dict(tally.behaviours)),
    )
    (out / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    report(1.0, Step("gen.done"))
    return manifest


def _merge_progress(report: Progress) -> Callable[[int, int], None]:
    last = [0.0]

    def merged(rows: int, total: int) -> None:
        share = rows / max(total, 1)
        if share - last[0] >= 0.05 or rows == total:  # coarse: the merge calls back often
            last[0] = share
            report(
                _GENERATION_SHARE + (1 - _GENERATION_SHARE) * share,
                Step("gen.ordering", done=rows, total=total),
            )

    return merged


def _prepare(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputDirError(out, "exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        # A manifest means "complete dataset"; drop a stale one before overwriting its files.
        (out / MANIFEST_FILE).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputDirError(out, exc.strerror or str(exc)) from exc
    return out


def _build_chunk(
    params: GenParams, shop: Shop, budget: FraudBudget, number: int, size: int
) -> tuple[Chunk, int]:
    chunk = Chunk(number)
    draw = Draw(params.seed, _STREAM_LEGIT, number)
    retries = 0
    for segment in SEGMENT.stratified(draw, size):
        retries += live(draw, shop, chunk, new_customer(draw, shop, chunk, segment))
    legit_payments = len(chunk.p_ts)
    fraud_draw = Draw(params.seed, _STREAM_FRAUD, number)
    victims = established_victims(fraud_draw, chunk, shop)
    budget.inject(FraudContext(fraud_draw, chunk, shop, victims), legit_payments)
    return chunk, retries


class _Tally:
    """Counts for the manifest, accumulated chunk by chunk."""

    def __init__(self) -> None:
        self.payments = 0
        self.success = 0
        self.fraud_payments = dict.fromkeys(FRAUD_SCENARIOS, 0)
        self.incidents = dict.fromkeys(FRAUD_SCENARIOS, 0)
        self.behaviours = dict.fromkeys(LEGIT_BEHAVIOUR_NAMES, 0)

    def add(self, chunk: Chunk, retries: int) -> None:
        self.payments += len(chunk.p_ts)
        self.success += sum(1 for d in chunk.p_decline if not d)
        incidents: dict[str, set[int]] = {s: set() for s in FRAUD_SCENARIOS}
        for label in chunk.p_label:
            if label.scenario:
                self.fraud_payments[label.scenario] += 1
                incidents[label.scenario].add(label.incident)
        for s in FRAUD_SCENARIOS:
            self.incidents[s] += len(incidents[s])
        for p in chunk.profiles:
            for name in p.behaviours:  # counting only: order does not matter
                self.behaviours[name] += 1
        self.behaviours[RETRY_AFTER_DECLINE] += retries
