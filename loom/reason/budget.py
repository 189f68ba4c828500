"""Budgets of reasoning queries: a conflict count and a time limit per query.

A `Meter` runs every SAT call of one query and stops the query, by raising
`BudgetExhausted`, once the budget is spent. It does not check that the solver it is
given supports budgets; `loom.reason.knowledge.SOLVERS` lists the ones that do.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loom.exceptions import InvalidParameterError

__all__ = ["Budget", "BudgetExhausted", "Meter"]

logger = logging.getLogger(__name__)

# A time limit is checked between rounds of solving, each limited to a number of
# conflicts that doubles from the first to the last size, so a query overruns its
# time limit by at most one round.
FIRST_ROUND_CONFLICTS = 1_000
LAST_ROUND_CONFLICTS = 16_000


@dataclass(frozen=True)
class Budget:
    """Limits on the work of one query; None means no limit.

    Parameters
    ----------
    conflicts : int, optional
        Maximum number of conflicts over all the query's SAT calls together. A
        solver checks the limit between conflicts, so each call may run a few
        conflicts past it.
    seconds : float, optional
        Maximum wall-clock seconds of SAT solving per query. It is checked between
        rounds of at most 16,000 conflicts, so a query may run past it by one round.

    Examples
    --------
    >>> Budget(conflicts=10_000)
    Budget(conflicts=10000, seconds=None)
    """

    conflicts: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        conflicts = self.conflicts
        if conflicts is not None and (
            isinstance(conflicts, bool)
            or not isinstance(conflicts, int)
            or conflicts < 1
        ):
            msg = f"Budget.conflicts must be an int >= 1 or None, got {conflicts!r}."
            raise InvalidParameterError(msg)
        seconds = self.seconds
        if seconds is not None and (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            msg = (
                f"Budget.seconds must be a finite number > 0 or None, got {seconds!r}."
            )
            raise InvalidParameterError(msg)

    @property
    def unlimited(self) -> bool:
        """Whether neither limit is set."""
        return self.conflicts is None and self.seconds is None

    def describe(self) -> str:
        """Return the limits as text, e.g. ``"1000 conflicts"``."""
        parts = []
        if self.conflicts is not None:
            parts.append(f"{self.conflicts} conflicts")
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s")
        return " and ".join(parts) or "no limit"


class BudgetExhausted(Exception):
    """Raised inside a query when its budget is spent; queries turn it into UNKNOWN."""


class Meter:
    """The budget of one query, spent by every SAT call the query makes.

    Parameters
    ----------
    budget : Budget or None
        None means no limit.
    """

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget if budget is not None else Budget()
        self.conflicts_used = 0
        self.started = time.monotonic()
        self.deadline = (
            None if self.budget.seconds is None else self.started + self.budget.seconds
        )

    @property
    def reason(self) -> str:
        """Why the budget ran out, as a sentence."""
        return (
            f"the query ran out of its budget ({self.budget.describe()}) after "
            f"{self.conflicts_used} conflicts and {self.elapsed():.3f} s"
        )

    def elapsed(self) -> float:
        """Return the seconds since the query started."""
        return time.monotonic() - self.started

    def solve(self, solver: Any, assumptions: Sequence[int]) -> bool:
        """Solve under `assumptions` within the budget.

        Returns
        -------
        bool
            Whether the formula is satisfiable under the assumptions.

        Raises
        ------
        BudgetExhausted
            If the budget ran out before the solver decided.
        """
        assumptions = list(assumptions)
        if self.budget.unlimited:
            return bool(solver.solve(assumptions=assumptions))
        round_size = FIRST_ROUND_CONFLICTS
        while True:
            step = self._next_step(round_size)
            before = _conflicts(solver)
            solver.conf_budget(step)
            result = solver.solve_limited(assumptions=assumptions)
            self.conflicts_used += max(_conflicts(solver) - before, 0)
            if result is not None:
                return bool(result)
            # Without a time limit the round was given every conflict left.
            if self.deadline is None or self._spent():
                logger.debug("budget spent: %s", self.reason)
                raise BudgetExhausted(self.reason)
            round_size = min(2 * round_size, LAST_ROUND_CONFLICTS)

    def _next_step(self, round_size: int) -> int:
        remaining = None
        if self.budget.conflicts is not None:
            remaining = max(self.budget.conflicts - self.conflicts_used, 1)
        if self.deadline is None:
            assert remaining is not None
            return remaining
        return round_size if remaining is None else min(round_size, remaining)

    def _spent(self) -> bool:
        if self.budget.conflicts is not None and (
            self.conflicts_used >= self.budget.conflicts
        ):
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline


def _conflicts(solver: Any) -> int:
    stats = solver.accum_stats() or {}
    return int(stats.get("conflicts", 0))
