"""Which customers the shop knows: a payment for anyone else must not pass as a new customer.

The reference is the ``customers`` table (loaded with the dataset or synced from the shop).
Known ids are cached: a customer, once listed, stays listed.  An empty table means there is
no reference, and then nobody is called unknown.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from db.detector_store import known_customers

FLAG = "flag"  # scored as usual, counted, logged, and marked in its alert message
DEAD_LETTER = "dead_letter"  # not scored: to the dead-letter topic as unknown_customer
POLICIES = (FLAG, DEAD_LETTER)


class CustomerReference:
    def __init__(self) -> None:
        self._known: set[str] = set()

    def unknown(self, session: Session, customer_ids: Collection[str]) -> set[str]:
        """The ids the reference does not list (none when there is no reference)."""
        ask = [c for c in customer_ids if c not in self._known]
        if not ask:
            return set()
        listed = known_customers(session, ask)
        if listed is None:
            return set()
        self._known |= listed
        return set(ask) - listed
