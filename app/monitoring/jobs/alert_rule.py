"""The alert rule (monitoring.core.alerts) as the Spark expression the jobs evaluate.

The unit tests (tests/unit/test_alert_rule.py) run these very functions on a local Spark.
"""
from __future__ import annotations

from ..core.alerts import cases, threshold_value
from ..wiring import AlertLabels


def written_value(column):
    """An aggregate as the team CSV writes it: two decimals, as a decimal (no float noise, no exponent)."""
    from pyspark.sql import types as T

    return column.cast(T.DecimalType(24, 2))


def above(written, threshold: float):
    """Strictly above the threshold as written; an empty value never is."""
    from pyspark.sql import functions as F

    return F.coalesce(written > F.lit(threshold_value(threshold)), F.lit(False))


def alert_column(labels: AlertLabels, first, first_threshold: float, second, second_threshold: float):
    """The label of each row from its two written values; null (an empty field) without an alert."""
    from pyspark.sql import functions as F

    a, b = above(first, first_threshold), above(second, second_threshold)
    expr = None
    for first_above, second_above, label in cases(labels):
        cond = (a if first_above else ~a) & (b if second_above else ~b)
        expr = F.when(cond, label) if expr is None else expr.when(cond, label)
    return expr
