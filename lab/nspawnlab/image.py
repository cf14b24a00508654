"""The base image: the controller's apt sources, nameservers and CAs, and the cached debootstrap tree.

One base per Debian release, built once with `debootstrap --variant=minbase` and cached in $LAB_CACHE with
its recipe hash; each host's disk is an overlay on it (host.py).
"""

import fcntl
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import time

from .paths import CACHE
from .shell import LabError, log, run, tail

SUITE = "bookworm"
BASE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "iproute2",
    "ca-certificates", "debian-archive-keyring", "procps",
]
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


# ---------------------------------------------------------------------------------------------------------
# the controller's own configuration: apt sources, nameservers, CA bundle

def parse_apt_sources(etc="/etc/apt"):
    """Return [(uri, suite, components)] from sources.list and sources.list.d/*.list|*.sources (deb only)."""
    entries = []
    files = []
    if os.path.isfile(os.path.join(etc, "sources.list")):
        files.append(os.path.join(etc, "sources.list"))
    d = os.path.join(etc, "sources.list.d")
    if os.path.isdir(d):
        files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith((".list", ".sources"))]
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            entries += _parse_deb822(text)
        else:
            entries += _parse_one_line(text)
    return entries


def _parse_one_line(text):
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line)  # drop [options]
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "deb":
            out.append((parts[1], parts[2], parts[3:]))
    return out


def _parse_deb822(text):
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, val = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = val.strip()
        if not fields or fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                out.append((uri, suite, fields.get("components", "").split()))
    return out


def debian_sources(entries=None, env=None):
    """The Debian archive entries for SUITE: [(uri, suite, components)], main archive first.

    LAB_MIRROR replaces the archive's URI (SUITE and SUITE-updates), LAB_SECURITY_MIRROR the security one.
    """
    env = os.environ if env is None else env
    if entries is None:
        entries = parse_apt_sources()
    ours = [(u.rstrip("/"), s, c) for (u, s, c) in entries if s == SUITE or s.startswith(SUITE + "-")]
    ours = [(u, s, c or ["main"]) for (u, s, c) in ours if "main" in c or not c]
    mirror = env.get("LAB_MIRROR", "").strip().rstrip("/")
    security = env.get("LAB_SECURITY_MIRROR", "").strip().rstrip("/")
    if mirror:
        ours = [e for e in ours if e[1] not in (SUITE, SUITE + "-updates")]
        ours = [(mirror, SUITE, ["main"]), (mirror, SUITE + "-updates", ["main"])] + ours
    if security:
        ours = [e for e in ours if e[1] != SUITE + "-security"] + [(security, SUITE + "-security", ["main"])]
    seen, result = set(), []
    for e in sorted(ours, key=lambda e: (e[1] != SUITE, e[1])):
        if (e[0], e[1]) not in seen:
            seen.add((e[0], e[1]))
            result.append(e)
    if not any(s == SUITE for (_, s, _) in result):
        raise LabError(f"no Debian '{SUITE}' mirror in the controller's apt sources "
                       "(/etc/apt/sources.list, /etc/apt/sources.list.d/); set LAB_MIRROR=URL")
    return result


def nameservers():
    if os.environ.get("LAB_DNS"):
        return os.environ["LAB_DNS"].split()
    servers = []
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    servers.append(parts[1])
    except OSError:
        pass
    usable = [s for s in servers if not s.startswith("127.") and s != "::1"]
    if not usable:
        raise LabError("no usable nameserver in /etc/resolv.conf (a loopback resolver cannot serve the hosts); "
                       "set LAB_DNS=IP")
    return usable


def pem_blocks(text):
    return ["".join(b.split()) for b in
            re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)]


def controller_ca():
    try:
        with open(CA_BUNDLE) as f:
            return f.read()
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------------------
# the base image

def recipe():
    return {
        "suite": SUITE,
        "variant": "minbase",
        "include": BASE_PACKAGES,
        "ca_bundle_sha256": hashlib.sha256(controller_ca().encode()).hexdigest(),
        # any change to how the base is configured rebuilds it
        "configure": hashlib.sha256(_source_of(configure_base).encode()).hexdigest(),
    }


def _source_of(fn):
    return inspect.getsource(fn)


def recipe_hash():
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:16]


def base_dir():
    return os.path.join(CACHE, f"{SUITE}-base")


def base_recipe_file():
    return base_dir() + ".recipe"


def base_current_hash():
    try:
        with open(base_recipe_file()) as f:
            return json.load(f)["hash"]
    except (OSError, ValueError, KeyError):
        return None


def base_build_id():
    """Identifies one build of the base (a host's overlay belongs to exactly one)."""
    try:
        with open(base_recipe_file()) as f:
            info = json.load(f)
        return f"{info['hash']}-{info['built']}"
    except (OSError, ValueError, KeyError):
        return None


def configure_base(root):
    """Turn a fresh debootstrap tree into the hosts' common base (runs once per build)."""
    # per-host identity is written into each host's overlay at start: machine-id, ssh host keys, hostname
    with open(os.path.join(root, "etc/machine-id"), "w"):
        pass
    for f in os.listdir(os.path.join(root, "etc/ssh")):
        if f.startswith("ssh_host_"):
            os.unlink(os.path.join(root, "etc/ssh", f))
    # the controller's extra CAs (e.g. the one its registry access goes through) into the trust store
    with open(os.path.join(root, "etc/ssl/certs/ca-certificates.crt")) as f:
        have = set(pem_blocks(f.read()))
    extra = [b for b in pem_blocks(controller_ca()) if b not in have]
    local = os.path.join(root, "usr/local/share/ca-certificates")
    os.makedirs(local, exist_ok=True)
    for i, b in enumerate(extra):
        body = "\n".join(b[j:j + 64] for j in range(0, len(b), 64))
        with open(os.path.join(local, f"lab-controller-{i}.crt"), "w") as f:
            f.write(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
    run(["chroot", root, "update-ca-certificates"])
    # pip from PyPI (not Debian's) ships its own CA list: point it at the system's
    with open(os.path.join(root, "etc/pip.conf"), "w") as f:
        f.write("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    # the mirror is written per host at each start (from the controller's apt sources)
    for f in ("etc/apt/sources.list",):
        open(os.path.join(root, f), "w").close()
    os.makedirs(os.path.join(root, "root/.ssh"), mode=0o700, exist_ok=True)
    # keep the hosts' journals small
    os.makedirs(os.path.join(root, "etc/systemd/journald.conf.d"), exist_ok=True)
    with open(os.path.join(root, "etc/systemd/journald.conf.d/lab.conf"), "w") as f:
        f.write("[Journal]\nSystemMaxUse=64M\n")
    # apt's package lists and archives are not part of the image
    run(["chroot", root, "apt-get", "clean"])
    for d in ("var/lib/apt/lists",):
        p = os.path.join(root, d)
        for f in os.listdir(p):
            fp = os.path.join(p, f)
            if os.path.isfile(fp) and f != "lock":
                os.unlink(fp)


def ensure_base(any_host_mounted):
    """Build the base image if it is missing or its recipe changed. Returns the base dir."""
    os.makedirs(CACHE, exist_ok=True)
    want = recipe_hash()
    with open(os.path.join(CACHE, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        have = base_current_hash()
        if have == want and os.path.isdir(base_dir()):
            log(f"base image {base_dir()} is cached (recipe {want})")
            return base_dir()
        if have and os.path.isdir(base_dir()) and any_host_mounted:
            log(f"WARNING: the base image recipe changed ({have} -> {want}) but hosts are mounted on it; "
                "keeping the old one until `lab down`")
            return base_dir()
        sources = debian_sources()
        mirror = sources[0][0]
        new = base_dir() + ".new"
        if os.path.exists(new):
            shutil.rmtree(new)
        logf = os.path.join(CACHE, "debootstrap.log")
        log(f"building the base image (debootstrap {SUITE} minbase from {mirror}, ~1-2 min; log {logf})")
        t = time.monotonic()
        with open(logf, "w") as lf:
            p = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
                                SUITE, new, mirror], stdout=lf, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise LabError(f"debootstrap failed (exit {p.returncode}); see {logf}", tail(logf, 25))
        log(f"debootstrap done in {time.monotonic() - t:.0f}s; configuring the base")
        configure_base(new)
        old = base_dir() + ".old"
        if os.path.exists(base_dir()):
            if os.path.exists(old):
                shutil.rmtree(old)
            os.rename(base_dir(), old)
        os.rename(new, base_dir())
        with open(base_recipe_file(), "w") as f:
            json.dump({"hash": want, "recipe": recipe(), "built": time.strftime("%Y%m%dT%H%M%S")}, f,
                      indent=1)
        if os.path.exists(old):
            shutil.rmtree(old)
        log(f"base image ready in {time.monotonic() - t:.0f}s (recipe {want})")
        return base_dir()
