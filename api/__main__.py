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
from desk import ApiRuntime, startup_problem


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (compose: 0.0.0.0)")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--log-level", default="info")
    args = ap.parse_args(argv)
    try:
        ctx = ApiRuntime.create()
    except Exception as exc:
        problem = startup_problem(exc)
        if problem is None:
            raise
        # A bad setting or an unreachable database: one line naming it, never a traceback.
        print(f"error: {problem[1]}", file=sys.stderr)
        return 2
    try:
        uvicorn.run(
            create_app(ctx),
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
