"""Code is imported as a package, never found by path: nothing under app/, tests/ or bench/ edits
sys.path or loads a module from a file (the app is installed, pytest.ini puts the checkout on the
path, the bench runs as `python -m bench.run`)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Each pattern names a way to reach code by its path. (Written so that this file does not match them.)
PATH_HACKS = {
    "edits sys.path": r"\bsys\.path\s*(\.\s*(insert|append|extend|remove)\s*\(|\[[^\]]*\]\s*=|\+?=[^=])",
    "adds a site dir": r"\bsite\.addsitedir\s*\(",
    "loads a module from a file": r"\b(spec_from_file_locatio[n]|SourceFileLoade[r]|load_sourc[e])\b",
    "runs a file by path": r"\brunpy\.run_path\b|\brun_path\s*\(",
    "executes a file's text": r"\bexec\s*\(\s*(open|compile|Path|[\w.]*read_text)\b",
}


def offenders(files) -> list[str]:
    found = []
    for path in files:
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for what, pattern in PATH_HACKS.items():
                if re.search(pattern, line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {what}: {line.strip()[:100]}")
    return found


def test_the_patterns_catch_what_they_name(tmp_path):
    sample = tmp_path / "hacks.py"
    sample.write_text("\n".join(["import sys", "sys." + "path.insert(0, 'x')", "sys." + "path[:0] = ['x']",
                                 "importlib.util.spec_from_file_" + "location('m', 'm.py')",
                                 "runpy.run_" + "path('m.py')", "exec(" + "open('m.py').read())",
                                 "print(sys.path)", "if p not in sys.path: pass"]) + "\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert [line.split(":")[1] for line in offenders([sample])] == ["2", "3", "4", "5", "6"]
    finally:
        ROOT = saved


def test_nothing_reaches_code_by_its_path():
    files = [p for top in ("app", "tests", "bench") for p in sorted((ROOT / top).rglob("*.py"))]
    found = offenders(files)
    assert found == [], "import it as a package instead:\n" + "\n".join(found)
