"""Which customers the shop knows: a payment for anyone else must not pass as a new customer.

The reference is the ``customers`` table (loaded with the dataset or synced from the shop).
Known ids are cached: a customer, once listed, stays listed.  An empty table means there is
no reference, and then nobody is called unknown; that answer is kept for `EMPTY_RECHECK_S`
(like the rule set, checked twice a second), not asked again in every batch, where it cost
a round trip to the database on every alert's way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from sqlalchemy.orm import Session

from db.detector_store import known_customers

FLAG = "flag"  # scored as usual, counted, logged, and marked in its alert message
DEAD_LETTER = "dead_letter"  # not scored: to the dead-letter topic as unknown_customer
POLICIES = (FLAG, DEAD_LETTER)
EMPTY_RECHECK_S = 0.5  # a reference loaded while the detector runs is used this soon


class CustomerReference:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._known: set[str] = set()
        self._clock = clock
        self._empty_until = float("-inf")  # the reference was empty: nobody unknown until then

    def unknown(self, session: Session, customer_ids: Collection[str]) -> set[str]:
        """The ids the reference does not list (none when there is no reference)."""
        ask = self.to_ask(customer_ids)
        return self.learn(ask, known_customers(session, ask)) if ask else set()

    def to_ask(self, customer_ids: Collection[str]) -> list[str]:
        """The ids to ask the reference about: those not known to be listed yet, none while
        the reference was lately found empty."""
        if self._clock() < self._empty_until:
            return []
        known = self._known
        return [c for c in customer_ids if c not in known]

    def learn(self, asked: Collection[str], listed: set[str] | None) -> set[str]:
        """What the reference answered about `asked` (`known_customers`): the unknown ids."""
        if listed is None:
            self._empty_until = self._clock() + EMPTY_RECHECK_S
            return set()
        self._known |= listed
        return set(asked) - listed
