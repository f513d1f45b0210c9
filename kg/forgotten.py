"""What was forgotten, from the change log: the keys the resolver's fuzzy path must not drift from.

Forgetting "Solis Misa" removes her facts, but a lookup of "Solis Misa" would then be taken, letter
by letter, for "Solis Tisa", one typo away, and answered with another person's facts; forgetting
her place of birth would leave "birthplace" to be answered by the nearest relation she still has.
:class:`ForgottenKeys` reads the ``forget`` and ``forget_entity`` changes of the log (incrementally,
from the last change it read) so that the resolver answers such lookups with a miss: a name or key
that was forgotten and is not stored again is not a typo of something else.

Undone forgets restore their facts, which the exact path then finds first; an undo or a merge is not
a forget, and ``clear()`` empties the log, and with it what was forgotten.
"""

from __future__ import annotations

from collections import defaultdict

from .changes import Change
from .store import KnowledgeStore

FORGET_OPS = ("forget", "forget_entity")
HISTORY_BATCH = 1_000  # changes read per call while catching up with the log


class ForgottenKeys:
    """Entity keys, (entity key, relation key) pairs and each entity's relations that a forget
    removed, as of change :attr:`seen` of a store's log."""

    def __init__(self) -> None:
        self.entities: set[str] = set()
        self.keys: set[tuple[str, str]] = set()
        self.relations_of: dict[str, set[str]] = defaultdict(set)
        self.seen = 0

    def update(self, store: KnowledgeStore, last: int | None = None) -> None:
        """Read the changes made since the last update (all of them the first time), up to
        ``last``, the store's last change id when the caller has just read it."""
        last = store.last_change_id() if last is None else last
        if last == self.seen:
            return
        if last < self.seen or (self.seen and not self._still_logged(store)):
            self.__init__()  # the log was cleared: what it said was forgotten is gone with it
        while self.seen < last:
            changes = store.history(limit=HISTORY_BATCH, since=self.seen)
            if not changes:
                break
            for change in changes:
                self._read(change)
                self.seen = change.id

    def _still_logged(self, store: KnowledgeStore) -> bool:
        changes = store.history(limit=1, since=self.seen - 1)
        return bool(changes) and changes[0].id == self.seen

    def _read(self, change: Change) -> None:
        if change.op not in FORGET_OPS:
            return
        for fact in change.removed:
            self.keys.add(fact.key)
            self.entities.add(fact.entity_key)
            self.relations_of[fact.entity_key].add(fact.relation_key)
        self.entities.update(alias.alias_key for alias in change.aliases_removed)
