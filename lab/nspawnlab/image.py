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

SUITE = "bookworm"  # the release of a host that names none
# suites of these names in the controller's apt sources are Debian's (a vendor's "cloud-bookworm" is not)
DEBIAN_CODENAMES = ("bullseye", "bookworm", "trixie", "forky", "sid")
BASE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "iproute2",
    "ca-certificates", "debian-archive-keyring", "procps", "sudo",
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


def debian_sources(entries=None, env=None, release=SUITE):
    """The Debian archive entries for a release: [(uri, suite, components)], main archive first.

    From the controller's own apt sources: its entries for the release if it has them, else its Debian
    archive and security archive with the release's suites (a Debian 12 controller serves Debian 13
    hosts from the same mirror). LAB_MIRROR replaces the archive's URI (RELEASE and RELEASE-updates),
    LAB_SECURITY_MIRROR the security one.
    """
    env = os.environ if env is None else env
    if entries is None:
        entries = parse_apt_sources()
    debian = [(u.rstrip("/"), s, c or ["main"]) for (u, s, c) in entries
              if s.split("-")[0] in DEBIAN_CODENAMES and ("main" in c or not c)]
    ours = [e for e in debian if e[1] == release or e[1].startswith(release + "-")]
    if not any(s == release for (_, s, _) in ours):
        archive = next((u for (u, s, _) in debian if s in DEBIAN_CODENAMES), None)
        security = next((u for (u, s, _) in debian if s.endswith("-security")), None)
        updates = any(s.endswith("-updates") for (_, s, _) in debian)
        ours = ([(archive, release, ["main"])] + ([(archive, release + "-updates", ["main"])] if updates else [])
                if archive else []) + ([(security, release + "-security", ["main"])] if security else [])
    mirror = env.get("LAB_MIRROR", "").strip().rstrip("/")
    security = env.get("LAB_SECURITY_MIRROR", "").strip().rstrip("/")
    if mirror:
        ours = [e for e in ours if e[1] not in (release, release + "-updates")]
        ours = [(mirror, release, ["main"]), (mirror, release + "-updates", ["main"])] + ours
    if security:
        ours = [e for e in ours if e[1] != release + "-security"] + [(security, release + "-security", ["main"])]
    seen, result = set(), []
    for e in sorted(ours, key=lambda e: (e[1] != release, e[1])):
        if (e[0], e[1]) not in seen:
            seen.add((e[0], e[1]))
            result.append(e)
    if not any(s == release for (_, s, _) in result):
        raise LabError(f"no Debian mirror for '{release}' in the controller's apt sources "
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

def recipe(release=SUITE):
    return {
        "suite": release,
        "variant": "minbase",
        "include": BASE_PACKAGES,
        "ca_bundle_sha256": hashlib.sha256(controller_ca().encode()).hexdigest(),
        # any change to how the base is configured rebuilds it
        "configure": hashlib.sha256(_source_of(configure_base).encode()).hexdigest(),
    }


def _source_of(fn):
    return inspect.getsource(fn)


def recipe_hash(release=SUITE):
    return hashlib.sha256(json.dumps(recipe(release), sort_keys=True).encode()).hexdigest()[:16]


def base_dir(release=SUITE):
    # keyed by its recipe: checkouts of different versions share the cache without rebuilding each other's
    return os.path.join(CACHE, f"{release}-base-{recipe_hash(release)}")


def base_recipe_file(release=SUITE):
    return base_dir(release) + ".recipe"


def base_current_hash(release=SUITE):
    """The recipe hash of the release's base if it is built, else None."""
    try:
        with open(base_recipe_file(release)) as f:
            have = json.load(f)["hash"]
    except (OSError, ValueError, KeyError):
        return None
    return have if os.path.isdir(base_dir(release)) else None


def base_build_id(release=SUITE):
    """Identifies one build of a release's base (a host's overlay belongs to exactly one)."""
    try:
        with open(base_recipe_file(release)) as f:
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


def ensure_base(release):
    """Build a release's base image unless its recipe's is cached. Returns the base dir."""
    os.makedirs(CACHE, exist_ok=True)
    want = recipe_hash(release)
    base = base_dir(release)
    with open(os.path.join(CACHE, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        if base_current_hash(release) == want:
            log(f"base image {base} is cached")
            return base
        sources = debian_sources(release=release)
        mirror = sources[0][0]
        new = base + ".new"
        if os.path.exists(new):
            shutil.rmtree(new)
        logf = os.path.join(CACHE, f"debootstrap-{release}.log")
        log(f"building the {release} base image (debootstrap minbase from {mirror}, ~1 min; log {logf})")
        t = time.monotonic()
        with open(logf, "w") as lf:
            p = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES),
                                release, new, mirror], stdout=lf, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise LabError(f"debootstrap {release} failed (exit {p.returncode}); see {logf}", tail(logf, 25))
        log(f"debootstrap {release} done in {time.monotonic() - t:.0f}s; configuring the base")
        configure_base(new)
        os.rename(new, base)
        with open(base_recipe_file(release), "w") as f:
            json.dump({"hash": want, "recipe": recipe(release), "built": time.strftime("%Y%m%dT%H%M%S")}, f,
                      indent=1)
        log(f"{release} base image ready in {time.monotonic() - t:.0f}s ({base})")
        prune_bases(release, keep=base)
        return base


def prune_bases(release, keep, spare=1):
    """Delete older bases of a release (other recipes) that no overlay uses, but the `spare` newest."""
    with open("/proc/self/mountinfo") as f:
        used = f.read()
    others = sorted((d for d in os.listdir(CACHE) if d.startswith(f"{release}-base-") and "." not in d
                     and os.path.join(CACHE, d) != keep), key=lambda d: os.stat(os.path.join(CACHE, d)).st_mtime)
    for d in others[:-spare] if spare else others:
        path = os.path.join(CACHE, d)
        if f"lowerdir={path}" not in used:
            shutil.rmtree(path)
            if os.path.exists(path + ".recipe"):
                os.unlink(path + ".recipe")
            log(f"old base image {path} deleted (no overlay uses it)")
