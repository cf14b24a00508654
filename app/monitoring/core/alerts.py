"""Alert labels: decided on the rounded two-decimal values, strictly above the threshold."""
from __future__ import annotations

from decimal import Decimal

# (first metric above, second metric above) -> label; the Spark jobs build their expression
# from these tables, so the labels live in one place.
CPU_MEM_LABELS = {
    (True, True): "High CPU + Memory stress",
    (True, False): "CPU spike suspected",
    (False, True): "Memory saturation suspected",
    (False, False): "",
}
NET_DISK_LABELS = {
    (True, True): "Network flood + Disk thrash suspected",
    (True, False): "Possible DDoS",
    (False, True): "Disk thrash suspected",
    (False, False): "",
}


def above(rounded: str | None, threshold: float) -> bool:
    """Whether a written two-decimal value exceeds the threshold; an empty value never does."""
    if rounded is None or rounded == "":
        return False
    return Decimal(rounded) > Decimal(repr(float(threshold)))


def alert_for(labels: dict, first: str | None, first_threshold: float,
              second: str | None, second_threshold: float) -> str:
    return labels[(above(first, first_threshold), above(second, second_threshold))]
