"""Process-wide resources of the REST API: settings, database, and the caches its use cases
share (the payments' count, the active rule set and the producer of the scorer, the
pipeline's throughput reading).  Unlike :class:`desk.runtime.Runtime` it never starts a
detector: the API reads and decides, the detector service consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, session_factory
from db.migrate import prepare
from db.timeline import EventReader, event_reader_for
from desk.alert_feed import PaymentsCount
from desk.scoring import Scorer
from desk.stream_health import Throughput
from detector.common.settings import Settings, load_settings

__all__ = ["ApiRuntime"]


@dataclass
class ApiRuntime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    payments: PaymentsCount = field(default_factory=PaymentsCount)
    throughput: Throughput = field(default_factory=Throughput)
    scorer: Scorer = field(init=False)
    # Sessions in autocommit for single-statement reads (the token check, a score's lookups,
    # a page): no BEGIN, and no ROLLBACK round trip when the connection goes back to the
    # pool.  A pool of their own: switching a shared connection to autocommit and back
    # (``execution_options(isolation_level=...)``) costs no round trip but two calls into
    # psycopg2 per session that release the GIL (py-spy: 15 % of a score's samples waiting
    # to get it back, behind the event loop).
    lookups_engine: Engine | None = None
    lookups: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.lookups = session_factory(self.lookups_engine or self.engine)
        self.scorer = Scorer(self.settings, self.sessions, self.lookups)

    @classmethod
    def create(cls, settings: Settings | None = None) -> ApiRuntime:
        settings = settings or load_settings()
        engine = make_engine(settings.db_url)
        prepare(settings)  # as the owner role when one is configured
        # No pre-ping on the lookups (a round trip per checkout, a third of a score's): the
        # read every call starts with (its token, desk.tokens.authenticate) is tried once
        # more on a connection a database restart closed, and that failure renews the pool.
        lookups = make_engine(settings.db_url, pool_pre_ping=False, isolation_level="AUTOCOMMIT")
        return cls(settings, engine, session_factory(engine), lookups_engine=lookups)

    def event_reader(self) -> EventReader | None:
        """The MongoDB archive when configured (else the relational store alone)."""
        return event_reader_for(self.settings)

    def close(self) -> None:
        self.scorer.close()
        self.engine.dispose()
        if self.lookups_engine is not None:
            self.lookups_engine.dispose()
