"""Command line: `python -m detector backtest DIR ...`, `run` (the detector service), `archive`
(the archiver of behavioural events into MongoDB, see :mod:`detector.archiver`), `topics` and
`flink`."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from data_gen.check import ImportRefused, check_dataset
from data_gen.errors import DataGenError
from data_gen.kafka_admin import ensure_topics
from data_gen.readers import read_dataset
from detector.backtest import build_hit_matrix, evaluate_ruleset
from detector.common.settings import SettingsError, load_settings
from detector.errors import DetectorError
from detector.evaluation import unlabelled_summary
from detector.report import render_text, render_unlabelled_text
from detector.rule_files import read_ruleset
from detector.rules import RULE_IDS, default_ruleset
from detector.runner import build_archiver, build_service, replay_messages
from detector.suggest import Objective
from detector.telemetry import Telemetry
from detector.tuning import VALIDATIONS, SuggestReport, suggest_for_dataset
from detector.validation import OwnValidation

EXIT_FAILED = 1  # the archiver stopped on an error (it waits out outages: a bug, or a signal)
EXIT_INPUT = 2  # what the command needs is missing or wrong (as every command's errors)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m detector", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    bt = sub.add_parser("backtest", help="score a dataset with a rule set and report metrics")
    bt.add_argument("dataset", help="dataset directory (own layout or prototype export)")
    bt.add_argument("--rules", help="rule set JSON (default: the built-in rules)")
    bt.add_argument("--json", action="store_true", help="print the full report as JSON")
    bt.add_argument(
        "--capacity",
        type=int,
        default=50,
        help="alerts an analyst team reviews per day, for precision@k (default 50)",
    )
    bt.add_argument("--lang", choices=["en", "fr"], default="en")
    bt.add_argument(
        "--suggest",
        action="store_true",
        help="fit points and a threshold, then compare on a hold-out dataset",
    )
    bt.add_argument(
        "--objective",
        default="recall_at_budget",
        choices=["recall_at_budget", "f1", "precision_at_recall"],
    )
    bt.add_argument(
        "--budget",
        type=float,
        default=0.05,
        help="max alert rate for recall_at_budget (default 0.05)",
    )
    bt.add_argument(
        "--min-recall",
        type=float,
        default=0.8,
        help="min recall for precision_at_recall (default 0.8)",
    )
    bt.add_argument("--holdout", help="hold-out dataset (default: see --validate)")
    bt.add_argument(
        "--validate",
        choices=VALIDATIONS,
        default="auto",
        help="how --suggest is judged: split (first 70%% of days fit, last 30%% judge), cv "
        "(5 folds grouped by customer), split+cv, holdout (a generated dataset, seed +1000); "
        "auto (default): holdout for a generated dataset, split+cv for any other",
    )
    bt.add_argument("--save-suggested", metavar="FILE", help="write the suggested rule set")
    run = sub.add_parser("run", help="run the detector service (Kafka, or --replay a dataset)")
    run.add_argument("--replay", metavar="DIR", help="embedded mode: replay this dataset")
    run.add_argument("--speed", type=float, help="replay pace: shop seconds per real second")
    run.add_argument("--until-idle", action="store_true", help="stop when a replay is done")
    run.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    arch = sub.add_parser(
        "archive",
        help="archive user-events from Kafka (KVT_MONGO_URL), as a consumer group of its own",
    )
    arch.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    arch.add_argument(
        "--nice",
        type=int,
        default=10,
        help="lower the process priority by this much (default 10): scoring comes first, the "
        "archive catches up when the CPU is free",
    )
    sub.add_parser("topics", help="create the Kafka topics if missing (idempotent)")
    sub.add_parser(
        "flink",
        add_help=False,
        help="run the Flink job on a local mini-cluster (python -m detector flink --help)",
    )
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["flink"]:  # its own options, and its own environment (.venv-flink)
        from detector.flink.__main__ import main as flink_main

        return flink_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "archive":
            return _archive(args)
        if args.command == "topics":
            return _topics()
        return _backtest(args)
    except (DataGenError, DetectorError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT


def _topics() -> int:
    settings = load_settings()
    created = ensure_topics(settings)
    print(f"created: {', '.join(created)}" if created else "all topics exist")
    return 0


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    if args.replay is None and settings.embedded:
        raise DetectorError("no broker configured: set KVT_KAFKA_BOOTSTRAP, or use --replay DIR")
    if args.replay is None:
        ensure_topics(settings)
    telemetry = Telemetry()
    port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
    if port:
        telemetry.serve(port)
    messages = None if args.replay is None else replay_messages(args.replay)
    service = build_service(
        settings,
        replay_dir=args.replay,
        speed=args.speed,
        telemetry=telemetry,
        messages=messages,
        own_process=True,
    )
    archiver = None
    if args.replay is not None:  # no broker: no archiver process can read the replay
        archiver = build_archiver(
            settings,
            service.sessions,
            args.replay,
            args.speed,
            telemetry=telemetry,
            messages=messages,
        )
    elif settings.mongo_url:
        logging.getLogger("kvt.detector").info(
            "behavioural events are archived by `python -m detector archive`, not here"
        )
    workers = [w for w in (service, archiver) if w is not None]
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: [w.stop(timeout_s=0) for w in workers])
    if archiver is not None:
        archiver.start_thread(until_idle=args.until_idle)
    # Everything built so far lives as long as the process: keep it out of the collector's
    # full passes, whose pauses would otherwise land on the latency of live alerts.
    gc.freeze()
    service.run(until_idle=args.until_idle)
    if archiver is not None:
        if not args.until_idle:
            archiver.stop()
        archiver.join()
    snap = service.status.snapshot()
    print(
        f"scored {snap.payments_total:,} payments ({snap.events_total:,} events), "
        f"{snap.alerts_total:,} alerts, {snap.dead_letters_total:,} dead letters, "
        f"{snap.repeated_total:,} repeats ignored, {snap.late_total:,} late"
    )
    return 0


def _archive(args: argparse.Namespace) -> int:
    from db.archive import ArchiveError  # pymongo only for the archive's command

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
        if settings.embedded:
            return _fail("no broker configured: set KVT_KAFKA_BOOTSTRAP", EXIT_INPUT)
        if not settings.mongo_url:
            return _fail("no archive configured: set KVT_MONGO_URL", EXIT_INPUT)
        telemetry = Telemetry()
        port = args.metrics_port if args.metrics_port is not None else settings.metrics_port
        if port:
            telemetry.serve(port)
        archiver = build_archiver(settings, telemetry=telemetry)
    except (SettingsError, ArchiveError) as exc:
        return _fail(str(exc), EXIT_INPUT)
    assert archiver is not None
    if args.nice > 0:
        os.nice(args.nice)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: archiver.stop(timeout_s=0))
    archiver.run()
    snap = archiver.status.snapshot()
    print(f"archived {snap.events_total:,} events")
    return 0 if snap.state != "failed" else EXIT_FAILED


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _backtest(args: argparse.Namespace) -> int:
    if args.capacity < 1:
        raise DetectorError(f"--capacity: must be at least 1, got {args.capacity}")
    ruleset = read_ruleset(args.rules) if args.rules else default_ruleset()
    t0 = time.perf_counter()
    ds = read_dataset(args.dataset)
    t_read = time.perf_counter()
    check = check_dataset(args.dataset, ruleset, dataset=ds)
    if not args.json or not check.ok:
        print(check.render(), file=sys.stderr)
    if not check.ok:
        raise ImportRefused(check)
    t1 = time.perf_counter()
    hm = build_hit_matrix(ds, ruleset)
    t2 = time.perf_counter()
    timing = {
        "read_s": round(t_read - t0, 3),
        "check_s": round(t1 - t_read, 3),
        "hit_matrix_s": round(t2 - t1, 3),
        "payments_per_s": round(hm.n / max(t2 - t1, 1e-9)),
    }

    if hm.labels is None:
        summary = unlabelled_summary(
            hm.scores(ruleset.weights), hm.hits, RULE_IDS, ruleset.alert_threshold
        )
        if args.suggest:
            raise DetectorError("--suggest needs a labelled dataset (is_fraud)")
        if args.json:
            print(
                json.dumps(
                    {
                        "ruleset": ruleset.version,
                        "labelled": False,
                        "summary": summary.to_dict(),
                        "timing": timing,
                        "check": check.to_dict(),
                    },
                    indent=2,
                )
            )
        else:
            print(render_unlabelled_text(summary, lang=args.lang))
        return 0

    metrics = evaluate_ruleset(hm, ruleset, args.capacity)
    report = None
    if args.suggest:
        objective = Objective(args.objective, budget=args.budget, min_recall=args.min_recall)
        report = suggest_for_dataset(
            ds, ruleset, objective, args.capacity, args.holdout, validate=args.validate
        )
        if args.save_suggested:
            with open(args.save_suggested, "w", encoding="utf-8") as fh:
                fh.write(report.suggested.to_json())
    if args.json:
        out = {
            "ruleset": ruleset.version,
            "labelled": True,
            "metrics": metrics.to_dict(),
            "timing": timing,
            "check": check.to_dict(),
        }
        if report is not None:
            out["suggestion"] = report.to_dict()
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(
        f"Dataset {ds.path} ({ds.layout}), rule set {ruleset.version}: "
        f"{hm.n:,} payments scored in {timing['hit_matrix_s']:.2f} s"
    )
    print(render_text(metrics, lang=args.lang))
    if report is not None:
        print(render_suggestion(report))
    return 0


def render_suggestion(r: SuggestReport) -> str:
    o = r.objective
    goal = {
        "recall_at_budget": f"most recall with alert rate <= {o.budget:.1%}",
        "f1": "best F1",
        "precision_at_recall": f"best precision with recall >= {o.min_recall:.0%}",
    }[o.kind]
    lines = [f"\nSuggested weights ({goal})", f"{'rule':<16}{'before':>8}{'after':>8}"]
    for rid, b, a in zip(RULE_IDS, r.current.weights, r.suggested.weights, strict=True):
        lines.append(f"{rid:<16}{b:>8}{a:>8}")
    lines.append(f"{'threshold':<16}{r.current.alert_threshold:>8}{r.suggested.alert_threshold:>8}")
    s = r.suggestion
    lines.append(
        f"\nObjective on training data: {s.objective_value_before:.3f} -> "
        f"{s.objective_value_after:.3f}"
    )
    lines.append(f"On the hold-out dataset ({r.holdout_path}):")
    lines.append(f"{'':<18}{'alert rate':>11}{'precision':>11}{'recall':>9}{'AUC-PR':>9}")
    for name, m in (("current", r.holdout_before), ("suggested", r.holdout_after)):
        lines.append(
            f"{name:<18}{m.alert_rate:>11.1%}{m.precision:>11.1%}{m.recall:>9.1%}"
            f"{m.average_precision:>9.3f}"
        )
    lines.append(f"objective {r.holdout_objective_before:.3f} -> {r.holdout_objective_after:.3f}")
    if r.validation is not None:
        lines.append(render_validation(r.validation))
    return "\n".join(lines)


def render_validation(v: OwnValidation) -> str:
    lines = []
    if v.folds:
        lines.append(
            f"\nCross-validation, {len(v.folds)} folds grouped by customer "
            "(out of sample; mean ± std [min..max] across folds):"
        )
        for name, spread in (("current", v.spread_before), ("suggested", v.spread_after)):
            cells = "  ".join(
                f"{m.replace('_', ' ')} {s.mean:.1%} ± {s.std:.1%} [{s.low:.1%}..{s.high:.1%}]"
                for m, s in spread.items()
            )
            lines.append(f"  {name:<10}{cells}")
    lines += [f"warning: {w}" for w in v.warnings]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
