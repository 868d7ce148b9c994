"""Comparing trained numbers with the ones a page or a results file recorded.

Training is deterministic on one machine: the same seed, the same batches and one thread
give the same losses, bit for bit. Across processors it is not. Their matrix and attention
kernels round differently (an Intel Xeon with AMX and an AMD EPYC take different code paths
through the same PyTorch), and training amplifies a difference in the last bit the way a
change of seed would. So a chapter that trains live compares its losses with the recorded
ones within a stated tolerance, and compares exactly only what is deterministic.

The tolerances are set in the chapters, next to the measurement they rest on
(``results/cross-cpu/README.md``); this module only does the comparison and says clearly
what failed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _as_mapping(values, what: str) -> dict:
    """A scalar, a sequence or a mapping, as ``{key: float}`` (a scalar's key is ``what``)."""
    if isinstance(values, Mapping):
        return {key: float(value) for key, value in values.items()}
    if isinstance(values, Sequence) and not isinstance(values, str):
        return {index: float(value) for index, value in enumerate(values)}
    return {what: float(values)}


def largest_difference(live, reference) -> float:
    """max |live - reference| over matching keys (or positions); NaN anywhere gives NaN.

    ``live`` and ``reference`` are both scalars, both sequences of one length, or both
    mappings with the same keys; anything else raises ``ValueError``, since a comparison of
    mismatched things would say nothing.
    """
    live_values, reference_values = _as_mapping(live, "value"), _as_mapping(reference, "value")
    if live_values.keys() != reference_values.keys():
        missing = sorted(map(str, reference_values.keys() - live_values.keys()))
        extra = sorted(map(str, live_values.keys() - reference_values.keys()))
        raise ValueError(f"cannot compare: keys differ (only in the reference: {missing[:3]}, "
                         f"only in the live values: {extra[:3]})")
    if not live_values:
        raise ValueError("cannot compare: no values")
    gaps = [abs(live_values[key] - reference_values[key]) for key in live_values]
    return math.nan if any(math.isnan(gap) for gap in gaps) else max(gaps)


def check_within(what: str, live, reference, tolerance: float) -> float:
    """Assert that ``live`` matches ``reference`` within ``tolerance``; return the largest difference.

    Raises ``AssertionError`` naming ``what``, the tolerance and the worst value (its key,
    live and reference), so a failing notebook cell says what moved and by how much.
    """
    if not tolerance >= 0:
        raise ValueError(f"the tolerance must be a non-negative number, got {tolerance!r}")
    gap = largest_difference(live, reference)
    if not gap <= tolerance:  # also catches NaN
        live_values, reference_values = _as_mapping(live, what), _as_mapping(reference, what)
        worst = max(live_values, key=lambda key: (math.isnan(live_values[key] - reference_values[key]),
                                                  abs(live_values[key] - reference_values[key])))
        raise AssertionError(
            f"{what}: differs from the reference by {gap:.4g}, more than the tolerance {tolerance:g} "
            f"(worst: {worst}: live {live_values[worst]!r}, reference {reference_values[worst]!r})")
    return gap
