"""The job for a Flink cluster: `flink run -d -py detector/flink/submit.py [-s SAVEPOINT]`.

The Flink client runs this script; its environment is the cluster's, so `execute` submits the
job graph (with the connector jar and the project's packages shipped to the task managers)
instead of starting a mini-cluster.  The task managers' Python is the one running here (the
same image), and they read the same KVT_ settings from their environment.  Rule-set changes
reach the job through `python -m detector flink --bridge`, run beside the cluster.
"""

from __future__ import annotations

import sys

from detector.common.settings import ROOT, load_settings
from detector.flink.job import JOB_NAME, JobOptions, build
from detector.flink.runner import connector_jar, order_jar

PACKAGES = ("data_gen", "db", "detector")


def main() -> None:
    settings = load_settings()
    opts = JobOptions(
        parallelism=settings.flink_parallelism,
        python=sys.executable,
        connector_jar=str(connector_jar()),
        order_jar=str(order_jar()),
        ship_code=tuple(str(ROOT / p) for p in PACKAGES),
    )
    build(settings, opts).execute(JOB_NAME)


if __name__ == "__main__":
    main()
