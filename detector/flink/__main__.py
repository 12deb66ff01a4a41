"""`python -m detector.flink` (or `python -m detector flink`): the job on a local mini-cluster.

Runs in `.venv-flink` (PyFlink pins its own dependencies); started from another interpreter,
it re-executes itself there.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

from detector.common.settings import ROOT, load_settings
from detector.errors import DetectorError

FLINK_PYTHON = ROOT / ".venv-flink" / "bin" / "python"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m detector flink", description=__doc__)
    ap.add_argument("--parallelism", type=int, help="default KVT_FLINK_PARALLELISM (2)")
    ap.add_argument(
        "--until-caught-up",
        action="store_true",
        help="read the input topics up to their end at start, then finish",
    )
    ap.add_argument("--fresh", action="store_true", help="ignore retained checkpoints")
    ap.add_argument(
        "--bridge",
        action="store_true",
        help="only announce rule-set changes, for a job on a cluster (flink run)",
    )
    ap.add_argument(
        "--drain",
        action="store_true",
        help="on SIGTERM, score every waiting event before the savepoint (end of a stream)",
    )
    ap.add_argument("--restore-from", metavar="URI", help="a checkpoint or savepoint to resume")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if importlib.util.find_spec("pyflink") is None:
        if not FLINK_PYTHON.exists():
            print("error: PyFlink is not installed: run scripts/flink-setup", file=sys.stderr)
            return 2
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv[:1] == ["flink"]:
            argv = argv[1:]
        os.execv(str(FLINK_PYTHON), [str(FLINK_PYTHON), "-m", "detector.flink", *argv])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from detector.flink.runner import bridge_forever, run

    if args.bridge:
        bridge_forever(load_settings())
        return 0
    try:
        if args.parallelism is not None and args.parallelism < 1:
            raise DetectorError(f"--parallelism: must be at least 1, got {args.parallelism}")
        summary = run(
            load_settings(),
            parallelism=args.parallelism,
            bounded=args.until_caught_up,
            fresh=args.fresh,
            restore_from=args.restore_from,
            drain=args.drain,
        )
    except DetectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
