"""The integration tests share one broker per session: each test's topics need a prefix of their own
(two tests creating the same topics fail only when run together, as in make test)."""
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_each_topic_prefix_is_one_test_files_own():
    owners = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        for prefix in set(re.findall(r"""topics_of\(["']([A-Za-z0-9_-]+)["']\)""", path.read_text())):
            owners.setdefault(prefix, []).append(path.relative_to(TESTS).as_posix())
    shared = {p: files for p, files in owners.items() if len(files) > 1}
    assert not shared, f"topic prefixes used by several test files (one broker per session): {shared}"
    assert owners, "no topics_of(...) found: has the helper been renamed?"
