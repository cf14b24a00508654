import pytest

from pipeline.alerts import CPU_MEM_LABELS, NET_DISK_LABELS, above, alert_for


@pytest.mark.parametrize("value,expected", [("80.00", False), ("80.01", True), ("79.99", False), ("", False),
                                            (None, False)])
def test_strictly_above_on_the_written_value(value, expected):
    assert above(value, 80.0) is expected


@pytest.mark.parametrize("cpu,mem,label", [
    ("80.01", "85.01", "High CPU + Memory stress"),
    ("80.01", "85.00", "CPU spike suspected"),
    ("80.00", "85.01", "Memory saturation suspected"),
    ("80.00", "85.00", ""),
    ("", "90.00", "Memory saturation suspected"),
])
def test_cpu_mem_branches_at_their_thresholds(cpu, mem, label):
    assert alert_for(CPU_MEM_LABELS, cpu, 80.0, mem, 85.0) == label


@pytest.mark.parametrize("net,disk,label", [
    ("5000.01", "1500.01", "Network flood + Disk thrash suspected"),
    ("5000.01", "1500.00", "Possible DDoS"),
    ("5000.00", "1500.01", "Disk thrash suspected"),
    ("5000.00", "1500.00", ""),
])
def test_net_disk_branches_at_their_thresholds(net, disk, label):
    assert alert_for(NET_DISK_LABELS, net, 5000.0, disk, 1500.0) == label


def test_threshold_with_decimals_is_compared_as_written():
    assert not above("80.10", 80.1)
    assert above("80.11", 80.1)
