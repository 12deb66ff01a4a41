"""``python -m api [--host H] [--port P]``: the REST API under Uvicorn.

The database and the broker come from the settings (``KVT_DATABASE_URL``,
``KVT_KAFKA_BOOTSTRAP``, ...); exit 2 with a one-line message on a bad setting or an
unreachable database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from api.app import create_app
from api.server import NoDelayH11Protocol
from desk import ApiRuntime, startup_problem


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (compose: 0.0.0.0)")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--log-level", default="info")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Uvicorn worker processes, each with its own pool and caches (compose: 2)",
    )
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error("--workers: at least 1")
    try:
        ctx = ApiRuntime.create()
    except Exception as exc:
        problem = startup_problem(exc)
        if problem is None:
            raise
        # A bad setting or an unreachable database: one line naming it, never a traceback.
        print(f"error: {problem[1]}", file=sys.stderr)
        return 2
    if args.workers > 1:
        # The settings and the database are checked above, once; each worker then builds
        # its own runtime (create_app's lifespan) in its own process.
        ctx.close()
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            workers=args.workers,
            http=NoDelayH11Protocol,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            proxy_headers=False,
        )
        return 0
    try:
        uvicorn.run(
            create_app(ctx),
            http=NoDelayH11Protocol,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            proxy_headers=False,  # the client address throttles failed tokens: never spoofable
        )
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
