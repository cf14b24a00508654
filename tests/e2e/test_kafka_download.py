"""Kafka on the four hosts comes the way it comes on real machines: downloaded from a mirror in Apache's
layout (the lab's own, on its bridge) with the .sha512 checked; a tampered archive or a wrong digest is
refused in one line, and nothing of it is left."""
import pytest

from .download_checks import REFUSALS, assert_installed_from_the_mirror, assert_refused


def test_kafka_is_downloaded_from_the_mirror_and_checked(deployed):
    assert_installed_from_the_mirror(deployed.stdout, "broker")


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_broken_download_is_refused_and_nothing_is_left(deployed, case):
    assert_refused(case, "broker")
