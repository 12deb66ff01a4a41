"""Guards in front of the application: request body size and failed-token throttling."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from api.problems import PROBLEM_JSON, problem_bytes

ASGIApp = Any  # the ASGI callables are untyped in Starlette's public surface


class BodyLimit:
    """Refuse a request body over ``limit`` bytes with 413, whether it says its length up
    front (checked before a byte is read) or streams it in chunks (counted as they come)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send)
            return
        seen = 0
        started = refused = False

        async def counted() -> dict[str, Any]:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer now and tell the application the client has gone: whatever it
                    # makes of that (an error, a response) is dropped by `tracked`.
                    if not started and not refused:
                        refused = True
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return dict(message)

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, send: Any) -> None:
        body = problem_bytes(413, f"the request body is larger than {self.limit:,} bytes")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class Throttle:
    """Failed token attempts per client address: after ``limit`` failures within
    ``window_s`` seconds the address is refused (429) until the window has passed, without
    the token being looked at.  Bounded memory: the least recently failing addresses are
    forgotten first."""

    def __init__(self, limit: int = 10, window_s: float = 60.0, capacity: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.capacity = capacity
        self._fails: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, times[-self.limit] + self.window_s - now)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(client, now)
            times.append(now)
            self._fails[client] = times
            self._fails.move_to_end(client)
            while len(self._fails) > self.capacity:
                self._fails.popitem(last=False)

    def _recent(self, client: str, now: float) -> list[float]:
        times = [t for t in self._fails.get(client, ()) if now - t < self.window_s]
        if times:
            self._fails[client] = times
        else:
            self._fails.pop(client, None)
        return times
