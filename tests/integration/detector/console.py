"""Kafka's own Java console producer as the outside client (scripts/services kafka ...)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def console_produce(bootstrap: str, topic: str, records: list[tuple[str, str]]) -> None:
    """Send (key, value) lines with the Java console producer; keys must not contain '\\t'."""
    lines = "".join(f"{k}\t{v}\n" for k, v in records)
    assert all("\n" not in v for _, v in records), "one record per line"
    proc = subprocess.run(
        [
            "bash",
            str(ROOT / "scripts" / "services"),
            "kafka",
            "console-producer",
            "--bootstrap-server",
            bootstrap.split(",")[0],
            "--topic",
            topic,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=\t",
            "--producer-property",
            "acks=all",
        ],
        input=lines,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"console producer failed:\n{proc.stderr[-2000:]}"
