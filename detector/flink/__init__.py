"""The detector as an Apache Flink job (PyFlink): the same pure engine, Flink's keyed state,
event-time watermarks and checkpoints, for a shop that outgrows one machine.

`timeline` is plain Python (unit-tested without Flink); `functions` and `job` need PyFlink,
which lives in its own virtual environment (`.venv-flink`, from `requirements.txt` here,
installed by `scripts/flink-setup`).  `python -m detector flink` runs the job on a local
mini-cluster through that environment.
"""
