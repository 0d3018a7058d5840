"""Checking query answers: exact where both sides are exact, close for floats.

Every system's answer to a query is brought to one canonical form (nested
tuples of ints, ``Decimal``, floats and strings) and compared with a
reference answer. Two exact numbers (int or ``Decimal``) must be equal. When
either side is a float, the two must agree to a relative 1e-10: sqlite3 keeps
TPC-H's decimals as binary floats, and a sum of 600,000 of them is off from
the exact decimal sum by a few parts in 10**13.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

__all__ = ["KNOWN_ANSWERS", "REL_TOL", "compare", "known_answer_problems"]

#: Relative tolerance when one side of a comparison is a float.
REL_TOL = 1e-10

#: Exact answers on tpchgen-cli 4.0.0's data at scale factor 0.1, recorded
#: once so that a run also catches a wrong reference: Q6's revenue and Q1's
#: row count per (l_returnflag, l_linestatus) group.
KNOWN_ANSWERS: dict[float, dict[str, Any]] = {
    0.1: {
        "q6": Decimal("11803420.2534"),
        "q1_counts": {("A", "F"): 147790, ("N", "F"): 3765, ("N", "O"): 292000, ("R", "F"): 148301},
    }
}


def compare(expected: Any, found: Any, path: str = "answer") -> list[str]:
    """Return one line per difference between ``expected`` and ``found`` (empty when they agree).

    Example:
        >>> compare((1, Decimal("2.50")), (1, 2.5))
        []
        >>> compare([("A", 3)], [("A", 4)])
        ['answer[0][1]: expected 3, found 4']
    """
    if isinstance(expected, (list, tuple)) or isinstance(found, (list, tuple)):
        if not isinstance(expected, (list, tuple)) or not isinstance(found, (list, tuple)):
            return [f"{path}: expected {_show(expected)}, found {_show(found)}"]
        if len(expected) != len(found):
            return [
                f"{path}: expected {len(expected)} items, found {len(found)}: expected {_show(expected)}, found {_show(found)}"
            ]
        problems: list[str] = []
        for index, (left, right) in enumerate(zip(expected, found)):
            problems.extend(compare(left, right, f"{path}[{index}]"))
        return problems
    if _is_number(expected) and _is_number(found):
        if isinstance(expected, float) or isinstance(found, float):
            left, right = float(expected), float(found)
            if math.isnan(left) and math.isnan(right):
                return []
            if math.isclose(left, right, rel_tol=REL_TOL, abs_tol=1e-12):
                return []
        elif expected == found:
            return []
        return [f"{path}: expected {_show(expected)}, found {_show(found)}"]
    if expected == found and type(expected) is type(found):
        return []
    return [f"{path}: expected {_show(expected)}, found {_show(found)}"]


def known_answer_problems(scale: float, query: str, answer: Any) -> list[str]:
    """Check a canonical Q1 or Q6 answer against the recorded answers at ``scale``, if any."""
    known = KNOWN_ANSWERS.get(scale)
    if known is None:
        return []
    if query == "q6":
        return compare(known["q6"], answer, "q6 revenue")
    if query == "q1":
        counts = {(row[0], row[1]): row[-1] for row in answer}
        return compare(sorted(known["q1_counts"].items()), sorted(counts.items()), "q1 group counts")
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
