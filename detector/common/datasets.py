"""Which dataset a Kafka message belongs to: a dataset's stream (the studio's, ``data_gen
stream``) names it in a header on every message, so the detector's alerts name that dataset
rather than the live stream.  Messages without it (the shop, an outside client such as
kafka-console-producer) are the live stream."""

from __future__ import annotations

import re

# A dataset's name (the studio's directory names; ``live`` names the Kafka topics' own alerts).
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
# The header a dataset's stream puts on every message.
DATASET_HEADER = "kvt-dataset"


Headers = list[tuple[str, str | bytes | None]] | dict[str, str | bytes | None] | None


def header_dataset(headers: Headers) -> str | None:
    """The dataset a message's headers name (:data:`DATASET_HEADER`); None for the live
    stream: no such header, or one that names no dataset (not a dataset name, or ``live``)."""
    if not headers:
        return None
    for key, value in headers.items() if isinstance(headers, dict) else headers:
        if key != DATASET_HEADER or value is None:
            continue
        try:
            name = value.decode("ascii") if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            return None
        ok = DATASET_NAME.match(name) and name not in {".", ".."} and name.lower() != "live"
        return name if ok else None
    return None
