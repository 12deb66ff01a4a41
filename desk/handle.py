"""The one kind of handle every public desk function is given: what a front end holds.

The app's :class:`~desk.runtime.Runtime`, the REST API's :class:`~desk.api_runtime.ApiRuntime`
and the web routes' :class:`~desk.runtime.WebBackend` each are one, and so is
:class:`DbHandle` (a session factory alone: commands and tests).  A front end passes the
handle it holds and never reaches into it for a session factory; use cases that drive the
process's state (the detector, a stream) ask for the app's ``Runtime`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

__all__ = ["DbHandle", "Handle"]


class Handle(Protocol):
    @property
    def sessions(self) -> Callable[[], Session]:
        """Sessions for transactions (every write, and reads that must agree)."""
        ...

    @property
    def lookups(self) -> Callable[[], Session]:
        """Sessions for single-statement reads: the API's run without a transaction (no
        BEGIN, nothing to roll back); elsewhere the same as :attr:`sessions`."""
        ...


@dataclass(frozen=True)
class DbHandle:
    """A handle on a database alone."""

    sessions: Callable[[], Session]

    @property
    def lookups(self) -> Callable[[], Session]:
        return self.sessions
