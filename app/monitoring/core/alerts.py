"""The alert rule, defined once: which label a window gets.

A metric is above its threshold when its written two-decimal value is strictly greater than the
threshold as written in the config (80.1 means 80.10, not the float 80.09999...); an empty value
is never above. The label then depends on which of the job's two metrics are above (the job's
AlertLabels in monitoring.wiring); neither above: no alert, an empty field.

Spark evaluates this rule: monitoring.jobs.alert_rule builds the job's expression from these
functions, and the unit tests run that expression.
"""
from __future__ import annotations

from decimal import Decimal

from ..wiring import AlertLabels


def threshold_value(threshold: float) -> Decimal:
    """The threshold as the decimal it was written as, compared exactly with two-decimal values."""
    return Decimal(repr(float(threshold)))


def cases(labels: AlertLabels) -> tuple[tuple[bool, bool, str], ...]:
    """(first above, second above, label) for every combination that raises an alert."""
    return ((True, True, labels.both), (True, False, labels.first_only), (False, True, labels.second_only))
