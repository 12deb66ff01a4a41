"""JSON responses serialized once, by orjson.

A route returning a Pydantic model has FastAPI validate it again against its
``response_model`` and then serialize it: on the hot routes (the checkout's score, the first
page of alerts) that costs more CPU than the database reads.  Those routes build plain
dicts of the documented shape (``response_model`` still gives the OpenAPI schema, and the
tests check the bodies against the models) and answer with :class:`OrjsonResponse`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

__all__ = ["OrjsonResponse"]

# Datetimes as Pydantic writes them (UTC as "Z"); dataclasses and non-str keys as orjson can.
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=_OPTIONS)
