"""Is every pin of the requirements file installed in the virtualenv at its version, and (given a
wheel) is the distribution installed from this wheel, every installed file still as pip wrote it?

    python3 venv_check.py VENV REQUIREMENTS [WHEEL DISTRIBUTION]

Prints one JSON object: {"requirements": [...] (the pins'), and with a wheel "digest": its sha256,
"problems": [...] (the distribution's)}; empty lists mean nothing to do. pip records the wheel's digest in direct_url.json when it installs from a file
URL with #sha256=..., and each installed file's digest in RECORD. Standard library only, and run
with the machine's python3, so that it also works before the virtualenv exists (check mode).
"""
import base64
import csv
import glob
import hashlib
import json
import os
import re
import sys


def file_digest(path: str, algorithm: str = "sha256"):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def installed_versions(venv: str) -> dict[str, list[str]]:
    """{normalised distribution name: [versions]} of the virtualenv's site-packages."""
    found: dict[str, list[str]] = {}
    for info in glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "*.dist-info")):
        name, _, version = os.path.basename(info)[:-len(".dist-info")].rpartition("-")
        found.setdefault(normalised(name), []).append(version)
    return found


def missing_pins(requirements: str, venv: str) -> list[str]:
    """The `name==version` lines of the requirements file not installed at that version."""
    if not os.path.isfile(requirements):
        return [f"no requirements file at {requirements}"]
    installed = installed_versions(venv)
    found = []
    with open(requirements) as f:
        for line in f:
            pin = line.split("#", 1)[0].strip()
            if not pin:
                continue
            name, sep, version = pin.partition("==")
            if not sep:
                found.append(f"not a pin: {pin}")
            elif installed.get(normalised(name.strip()), []) != [version.strip()]:
                found.append(f"{name.strip()}=={version.strip()}: installed {installed.get(normalised(name.strip())) or 'none'}")
    return found


def problems(wheel: str, dist: str, venv: str) -> tuple[str, list[str]]:
    digest = file_digest(wheel).hexdigest() if os.path.isfile(wheel) else ""
    if not digest:
        return digest, [f"no wheel at {wheel}"]
    name = normalised(dist)
    infos = [d for site in glob.glob(os.path.join(venv, "lib", "python3*", "site-packages"))
             for d in glob.glob(os.path.join(site, "*.dist-info"))
             if normalised(os.path.basename(d)[:-len(".dist-info")].rsplit("-", 1)[0]) == name]
    if len(infos) != 1:
        return digest, [f"{dist} is not installed in {venv}" if not infos else f"{dist} is installed {len(infos)} times"]
    info = infos[0]
    try:
        with open(os.path.join(info, "direct_url.json")) as f:
            archive = json.load(f).get("archive_info", {})
        # "hashes" since pip 23.1; before it, only "hash": "sha256=..."
        installed = archive.get("hashes", {}).get("sha256") or archive.get("hash", "").partition("sha256=")[2]
    except (OSError, ValueError):
        installed = ""
    found = []
    if installed != digest:
        found.append(f"installed from another wheel (sha256 {installed[:12] or 'unknown'}, this one {digest[:12]})")
    site = os.path.dirname(info)
    with open(os.path.join(info, "RECORD"), newline="") as f:
        for row in csv.reader(f):
            if len(row) < 2 or not row[1]:
                continue  # RECORD itself and the compiled .pyc files carry no digest
            path = os.path.normpath(os.path.join(site, row[0]))
            algorithm, _, want = row[1].partition("=")
            if not os.path.isfile(path):
                found.append(f"missing: {path}")
            elif os.stat(path).st_mode & 0o022:
                found.append(f"writable by others than root: {path}")
            elif base64.urlsafe_b64encode(file_digest(path, algorithm).digest()).rstrip(b"=").decode() != want:
                found.append(f"changed: {path}")
    return digest, found


if __name__ == "__main__":
    venv, requirements, *wheel_and_dist = sys.argv[1:5]
    out = {"requirements": missing_pins(requirements, venv)}
    if wheel_and_dist:
        out["digest"], out["problems"] = problems(*wheel_and_dist, venv)
    print(json.dumps(out))
