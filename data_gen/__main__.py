"""Command line: ``python -m data_gen generate --out DIR [--seed 42] [--scale 1.0] ...``.

Subcommands keep room for more tools (``stream`` for the Kafka producer): each registers a
parser and a handler in :data:`COMMANDS`.  Bad arguments exit with status 2 and a message.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from data_gen.errors import DataGenError
from data_gen.generate import generate
from data_gen.manifest import Manifest
from data_gen.params import GenParams

Handler = Callable[[argparse.Namespace], int]
EXIT_USAGE = 2


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _mix(text: str) -> dict[str, float]:
    """``card_testing=0.4,low_signal=0.1`` -> mapping; names are checked by GenParams."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        try:
            if not sep:
                raise ValueError
            mix[name.strip()] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected scenario=weight, got {part!r}") from None
    return mix


def _add_generate(sub: argparse._SubParsersAction) -> None:
    defaults = GenParams()
    p = sub.add_parser("generate", help="write a synthetic dataset into a directory")
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--scale", type=float, default=defaults.scale, help="1.0 = 2,500 customers")
    p.add_argument(
        "--fraud-rate", type=float, default=defaults.fraud_rate, help="share of payments"
    )
    p.add_argument("--start", type=_iso_date, default=defaults.start, help="first day, YYYY-MM-DD")
    p.add_argument("--days", type=int, default=defaults.days)
    p.add_argument("--mix", type=_mix, default=None, help="scenario=weight,... (default mix)")
    p.set_defaults(handler=_run_generate)


def _run_generate(args: argparse.Namespace) -> int:
    kwargs = {} if args.mix is None else {"mix": args.mix}
    params = GenParams(
        seed=args.seed,
        scale=args.scale,
        fraud_rate=args.fraud_rate,
        start=args.start,
        days=args.days,
        **kwargs,
    )
    t0 = time.perf_counter()
    manifest = generate(args.out, params, progress=_StderrProgress())
    print(_summary(args.out, manifest, time.perf_counter() - t0))
    return 0


class _StderrProgress:
    """Coarse progress on stderr: one line per 10%."""

    def __init__(self) -> None:
        self._next = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if fraction >= self._next or fraction >= 1.0:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)
            self._next = (int(fraction * 10) + 1) / 10


def _summary(out: Path, m: Manifest, seconds: float) -> str:
    payments = m.rows("payments.csv")
    success = m.payments_by_result["success"] / max(payments, 1)
    scenarios = ", ".join(
        f"{name} {c.payments}/{c.incidents}" for name, c in m.fraud.items() if c.payments
    )
    return "\n".join(
        (
            f"wrote {out} in {seconds:.1f}s",
            f"  customers {m.rows('customers.csv'):,}  sessions {m.rows('sessions.csv'):,}  "
            f"orders {m.rows('orders.csv'):,}  events {m.rows('events.jsonl'):,}",
            f"  payments {payments:,} ({success:.1%} success)  "
            f"fraud {m.fraud_payments:,} payments in {m.fraud_incidents:,} incidents",
            f"  by scenario (payments/incidents): {scenarios or 'none'}",
        )
    )


def _add_stream(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stream", help="replay a dataset into Kafka in event-time order")
    p.add_argument("dataset", type=Path, help="dataset directory")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, help="shop seconds per real second (e.g. 3600)")
    pace.add_argument("--max", action="store_true", help="as fast as possible (default)")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (default: KVT_KAFKA_BOOTSTRAP)")
    p.add_argument(
        "--from-start",
        action="store_true",
        help="send every message again (default: resume after what an earlier run delivered)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="send it as the shop's live traffic (default: its alerts name the dataset, "
        "its directory's name)",
    )
    p.set_defaults(handler=_run_stream)


def _run_stream(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from data_gen.stream import print_progress, stream_dataset
    from detector.common.settings import SettingsError, load_settings
    from detector.errors import DetectorError

    try:
        settings = load_settings()
    except SettingsError as exc:  # a bad KVT_* value: the message names it
        raise DataGenError(str(exc)) from None
    if args.bootstrap:
        settings = replace(settings, kafka_bootstrap=args.bootstrap)
    if not settings.kafka_bootstrap:
        raise DataGenError(
            "no broker configured: pass --bootstrap HOST:PORT or set "
            "KVT_KAFKA_BOOTSTRAP (locally: scripts/services up)"
        )
    if args.speed is not None and args.speed <= 0:
        raise DataGenError(f"--speed: must be > 0, got {args.speed}")
    try:
        stats = stream_dataset(
            args.dataset,
            settings,
            args.speed,
            print_progress,
            resume=not args.from_start,
            say=lambda line: print(line, file=sys.stderr),
            live=args.live,
        )
    except (DetectorError, SettingsError) as exc:
        raise DataGenError(str(exc)) from None
    print(stats.summary())
    return 1 if stats.failed else 0


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help="check a dataset before importing it (exit 1 when it would be refused)"
    )
    p.add_argument("dataset", type=Path, help="dataset directory (own layout or prototype)")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(handler=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from data_gen.check import check_dataset

    report = check_dataset(args.dataset)
    print(report.to_json() if args.json else report.render())
    return 0 if report.ok else 1


COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    _add_generate,
    _add_stream,
    _add_check,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_gen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with usage on malformed arguments
    try:
        return args.handler(args)
    except DataGenError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
