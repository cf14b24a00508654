#!/usr/bin/env python3
"""The four-host lab on one Linux box: systemd-nspawn containers on one bridge.

    lab.py up [--with-outsider]      build/cache the base image, start the hosts, wait until they run
    lab.py down [--purge]            stop everything `up` made (the cached base image stays)
    lab.py status [--check]          each host, its address, container and ssh state
    lab.py ssh HOST [CMD...]         ssh into a host as root with the lab's key
    lab.py restart HOST [--hard]     orderly reboot of one host (--hard: SIGKILL, a power cut)

Each host boots real systemd (`systemd-nspawn -b`) from an overlayfs mount on one cached Debian 12 base
image, in its own network namespace whose veth is on the bridge mlab0 (10.213.0.1/24). Python 3 stdlib only.
Needs root. State lives in .lab/ of the repository; the base image in $LAB_CACHE (/var/cache/monitoring-lab).

Environment: LAB_CACHE (base image cache dir), LAB_MIRROR (Debian mirror URL, default: the controller's
own apt sources), LAB_SECURITY_MIRROR, LAB_DNS (nameserver for the hosts, default: the controller's),
LAB_BOOT_TIMEOUT (seconds, default 120).
"""

import argparse
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_DIR = os.path.join(REPO, ".lab")
HOSTS_DIR = os.path.join(LAB_DIR, "hosts")
KEY = os.path.join(LAB_DIR, "id_ed25519")
INVENTORY = os.path.join(LAB_DIR, "inventory.ini")
LAB_VARS = os.path.join(LAB_DIR, "lab-vars.yml")
CACHE = os.environ.get("LAB_CACHE") or "/var/cache/monitoring-lab"

SUITE = "bookworm"
BRIDGE = "mlab0"
SUBNET = "10.213.0.0/24"
GATEWAY = "10.213.0.1"
PREFIX = 24
TAG = "monitoring-lab"  # comment on the iptables rules, so `down` removes exactly them
HOSTS = {  # the inventory's four hosts
    "producer": "10.213.0.11",
    "broker": "10.213.0.12",
    "consumer1": "10.213.0.13",
    "consumer2": "10.213.0.14",
}
OUTSIDER = ("outsider", "10.213.0.15")  # optional, not in the inventory
ALL_HOSTS = dict(HOSTS, **{OUTSIDER[0]: OUTSIDER[1]})

BASE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-apt", "iproute2",
    "ca-certificates", "debian-archive-keyring", "procps",
]
NSPAWN_TMPFS = "/run/systemd/nspawn"
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
TOOLS = {  # command -> Debian package
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "iptables": "iptables",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}
ROOT_MSG = "lab: must run as root (it creates network namespaces and containers)"

T0 = time.monotonic()


class LabError(Exception):
    """A failure with one line for the user (and maybe some detail lines before it)."""

    def __init__(self, msg, detail=""):
        super().__init__(msg)
        self.detail = detail


def log(msg):
    print(f"lab [{time.monotonic() - T0:5.1f}s] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True, quiet=False, **kw):
    """Run a command; on failure raise LabError with its stderr."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    except FileNotFoundError:
        raise LabError(f"`{cmd[0]}` not found: install it (`make lab-deps`)")
    if check and p.returncode != 0:
        err = (p.stderr or p.stdout).strip().splitlines()
        raise LabError(f"`{shlex.join(cmd)}` failed (exit {p.returncode}): {err[-1] if err else ''}",
                       "" if quiet else "\n".join(err[-20:]))
    return p


# ---------------------------------------------------------------------------------------------------------
# checks

def require_root():
    if os.geteuid() != 0:
        print(ROOT_MSG, file=sys.stderr)
        sys.exit(2)


def require_tools(names):
    for name in names:
        if shutil.which(name) is None:
            print(f"lab: `{name}` not found: install the Debian package {TOOLS[name]} (`make lab-deps`)",
                  file=sys.stderr)
            sys.exit(2)


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


CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


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
    import inspect
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


def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------------------
# processes, mounts

def proc_stat(pid):
    """(state, starttime, comm) of a pid, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    comm = data[data.index("(") + 1:data.rindex(")")]
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], rest[19], comm


def alive(pid, start=None):
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return start is None or st[1] == start


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def mountpoints():
    out = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            out.add(line.split()[4].replace("\\040", " "))
    return out


def is_mounted(path):
    return os.path.realpath(path) in mountpoints()


# ---------------------------------------------------------------------------------------------------------
# hosts

class Host:
    def __init__(self, name):
        self.name = name
        self.ip = ALL_HOSTS[name]
        self.dir = os.path.join(HOSTS_DIR, name)
        self.upper = os.path.join(self.dir, "upper")
        self.work = os.path.join(self.dir, "work")
        self.root = os.path.join(self.dir, "root")
        self.pidfile = os.path.join(LAB_DIR, f"{name}.pid")
        self.startfile = os.path.join(self.dir, "nspawn.start")
        self.console = os.path.join(LAB_DIR, f"{name}.console.log")
        self.netns = f"mlab-{name}"
        self.veth = f"mlab-{name}"

    # -- process ------------------------------------------------------------------------------------------
    def pid(self):
        """The nspawn pid if it is running (and is the process we started), else None."""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            with open(self.startfile) as f:
                start = f.read().strip()
        except OSError:
            start = None
        st = proc_stat(pid)
        if st is None or st[0] in ("Z", "X") or st[2] != "systemd-nspawn":
            return None
        if start and st[1] != start:
            return None
        return pid

    def stray_pids(self):
        """nspawn processes on this host's root that are not in the pid file (a half-failed `up`)."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            st = proc_stat(d)
            if not st or st[2] != "systemd-nspawn" or st[0] in ("Z", "X"):
                continue
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if self.root.encode() in args:
                out.append(int(d))
        return out

    def leader(self, pid=None):
        """The container's PID 1 (as seen from the controller)."""
        pid = pid or self.pid()
        if not pid:
            return None
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/status") as f:
                    status = f.read()
            except OSError:
                continue
            m = re.search(r"^PPid:\s+(\d+)$", status, re.M)
            ns = re.search(r"^NSpid:\s+(.*)$", status, re.M)
            if m and int(m.group(1)) == pid and ns and ns.group(1).split()[-1] == "1":
                return int(d)
        return None

    def exec_in(self, cmd, timeout=20):
        """Run a command inside the running container (nsenter into its PID 1's namespaces)."""
        lead = self.leader()
        if not lead:
            return None
        try:
            return subprocess.run(["nsenter", "-t", str(lead), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--"]
                                  + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=timeout, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        except subprocess.TimeoutExpired:
            return None

    def system_state(self):
        p = self.exec_in(["systemctl", "is-system-running"], timeout=10)
        if p is None:
            return None
        return p.stdout.strip() or "unknown"

    def ssh_ok(self, timeout=1.0):
        try:
            with socket.create_connection((self.ip, 22), timeout=timeout) as s:
                s.settimeout(timeout)
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    # -- network -----------------------------------------------------------------------------------------
    def netns_ok(self):
        if not os.path.exists(f"/run/netns/{self.netns}"):
            return False
        p = run(["ip", "-n", self.netns, "-j", "addr", "show", "dev", "eth0"], check=False)
        if p.returncode != 0:
            return False
        try:
            info = json.loads(p.stdout)[0]
        except (ValueError, IndexError):
            return False
        addrs = [a.get("local") for a in info.get("addr_info", [])]
        if self.ip not in addrs or "UP" not in info.get("flags", []):
            return False
        r = run(["ip", "-n", self.netns, "route", "show", "default"], check=False).stdout
        h = run(["ip", "-j", "link", "show", "dev", self.veth], check=False)
        return f"via {GATEWAY}" in r and h.returncode == 0 and f'"master":"{BRIDGE}"' in h.stdout.replace(" ", "")

    def setup_netns(self):
        if self.netns_ok():
            return
        self.teardown_netns()
        run(["ip", "netns", "add", self.netns])
        run(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.netns])
        run(["ip", "link", "set", self.veth, "master", BRIDGE])
        run(["ip", "link", "set", self.veth, "up"])
        run(["ip", "-n", self.netns, "link", "set", "lo", "up"])
        run(["ip", "-n", self.netns, "addr", "add", f"{self.ip}/{PREFIX}", "dev", "eth0"])
        run(["ip", "-n", self.netns, "link", "set", "eth0", "up"])
        run(["ip", "-n", self.netns, "route", "add", "default", "via", GATEWAY])
        log(f"{self.name}: network namespace {self.netns}, {self.ip}/{PREFIX} via {GATEWAY}")

    def teardown_netns(self):
        did = False
        if os.path.exists(f"/run/netns/{self.netns}"):
            run(["ip", "netns", "del", self.netns], check=False)
            did = True
        if os.path.exists(f"/sys/class/net/{self.veth}"):
            run(["ip", "link", "del", self.veth], check=False)
            did = True
        return did

    # -- filesystem --------------------------------------------------------------------------------------
    def mount(self, base):
        if is_mounted(self.root):
            return
        stamp = os.path.join(self.dir, "base.build")
        want = base_build_id()
        try:
            with open(stamp) as f:
                have = f.read().strip()
        except OSError:
            have = None
        if have and have != want and os.path.isdir(self.upper):
            log(f"{self.name}: the base image was rebuilt ({have} -> {want}); resetting this host's overlay")
            shutil.rmtree(self.upper)
            if os.path.isdir(self.work):
                shutil.rmtree(self.work)
        for d in (self.upper, self.work, self.root):
            os.makedirs(d, exist_ok=True)
        for p in (base, self.upper, self.work, self.root):
            if any(c in p for c in ",:"):
                raise LabError(f"path {p} holds ',' or ':' which overlayfs options cannot take")
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={base},upperdir={self.upper},workdir={self.work}", self.root])
        with open(stamp, "w") as f:
            f.write(want + "\n")
        log(f"{self.name}: overlay mounted on {os.path.relpath(self.root, REPO)}")

    def umount(self):
        if not is_mounted(self.root):
            return False
        for _ in range(20):
            if run(["umount", self.root], check=False).returncode == 0:
                return True
            time.sleep(0.25)
        log(f"WARNING: {self.name}: {self.root} is busy; detaching it lazily")
        run(["umount", "-l", self.root], check=False)
        return True

    def write(self, rel, content, mode=0o644):
        path = os.path.join(self.root, rel)
        if os.path.islink(path):
            os.unlink(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".lab-tmp"
        with open(tmp, "w") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def configure(self, pubkey, sources, dns):
        """Write this host's identity and the lab's settings into its overlay (before each boot)."""
        self.write("etc/hostname", self.name + "\n")
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters", ""]
        names = dict(HOSTS)
        if self.name not in names:
            names[self.name] = self.ip
        lines += [f"{ip}\t{n}" for n, ip in names.items()]
        self.write("etc/hosts", "\n".join(lines) + "\n")
        self.write("etc/resolv.conf", "".join(f"nameserver {s}\n" for s in dns))
        mid = os.path.join(self.root, "etc/machine-id")
        try:
            with open(mid) as f:
                have_id = f.read().strip()
        except OSError:
            have_id = ""
        if not re.fullmatch(r"[0-9a-f]{32}", have_id):
            self.write("etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
        if not os.path.exists(os.path.join(self.root, "etc/ssh/ssh_host_ed25519_key")):
            run(["ssh-keygen", "-A", "-f", self.root])
        os.makedirs(os.path.join(self.root, "root/.ssh"), mode=0o700, exist_ok=True)
        os.chmod(os.path.join(self.root, "root/.ssh"), 0o700)
        self.write("root/.ssh/authorized_keys", pubkey, 0o600)
        stanzas = []
        for uri, suite, comps in sources:
            stanzas.append(f"Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {' '.join(comps)}\n"
                           "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
        self.write("etc/apt/sources.list.d/debian.sources",
                   "# written by lab/lab.py from the controller's apt sources\n" + "\n".join(stanzas))

    # -- container ---------------------------------------------------------------------------------------
    def start(self):
        if os.path.exists(self.console):
            os.replace(self.console, self.console + ".1")  # the previous boot's console
        cmd = ["systemd-nspawn", "-q", "-b", "-D", self.root, "-M", self.name,
               "--register=no", "--keep-unit", f"--network-namespace-path=/run/netns/{self.netns}",
               "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
               # Firewall rules (nftables) in the host's own network namespace, as on a real machine.
               "--capability=CAP_NET_ADMIN"]
        with open(self.console, "w") as out:
            out.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n")
            out.flush()
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True, cwd="/")
        st = proc_stat(p.pid)
        with open(self.startfile, "w") as f:
            f.write((st[1] if st else "") + "\n")
        with open(self.pidfile, "w") as f:
            f.write(f"{p.pid}\n")
        log(f"{self.name}: systemd-nspawn started (pid {p.pid}, console {os.path.relpath(self.console, REPO)})")
        return p.pid

    def stop(self, hard=False, timeout=60):
        """End this host's nspawn process(es): SIGTERM = orderly shutdown, SIGKILL = power cut."""
        pids = []
        pid = self.pid()
        if pid:
            pids.append(pid)
        pids += [p for p in self.stray_pids() if p not in pids]
        if not pids:
            self._clear_pid()
            return False
        members, leaders = set(), []
        for p in pids:
            lead = self.leader(p)
            if lead:
                leaders.append((lead, (proc_stat(lead) or ("", ""))[1]))
                members |= pidns_members(lead)
        sig = signal.SIGKILL if hard else signal.SIGTERM
        if hard:
            # nspawn's death alone does not end the container: SIGKILL its PID 1 too, which ends every
            # process in the container's pid namespace at once
            for lead, start in leaders:
                if alive(lead, start):
                    os.kill(lead, signal.SIGKILL)
        for p in pids:
            log(f"{self.name}: {'SIGKILL (power cut)' if hard else 'SIGTERM (orderly shutdown)'} "
                f"to systemd-nspawn pid {p}")
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in pids:
                reap(p)
            if not any(alive(p) for p in pids):
                break
            time.sleep(0.2)
        else:
            log(f"WARNING: {self.name}: no orderly shutdown within {timeout}s; SIGKILL")
            for lead, start in leaders:
                if alive(lead, start):
                    os.kill(lead, signal.SIGKILL)
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            while any(alive(p) for p in pids):
                time.sleep(0.2)
        # nspawn's container dies with it; make sure none of its processes lingers
        for _ in range(50):
            left = [m for m in members if alive(m[0], m[1])]
            if not left:
                break
            time.sleep(0.2)
        else:
            log(f"WARNING: {self.name}: container processes outlived systemd-nspawn; SIGKILL")
            for m in left:
                try:
                    os.kill(m[0], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._clear_pid()
        return True

    def _clear_pid(self):
        for f in (self.pidfile, self.startfile):
            if os.path.exists(f):
                os.unlink(f)


def pidns_members(leader):
    """[(pid, starttime)] of the processes in the pid namespace of `leader`."""
    try:
        ns = os.readlink(f"/proc/{leader}/ns/pid")
    except OSError:
        return set()
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/ns/pid") == ns:
                    st = proc_stat(d)
                    if st:
                        out.add((int(d), st[1]))
            except OSError:
                pass
    return out


# ---------------------------------------------------------------------------------------------------------
# the shared network

def ensure_bridge():
    if not os.path.exists(f"/sys/class/net/{BRIDGE}"):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        log(f"bridge {BRIDGE} created")
    addrs = run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE]).stdout
    if f"{GATEWAY}/{PREFIX}" not in addrs:
        run(["ip", "addr", "add", f"{GATEWAY}/{PREFIX}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def ensure_nat():
    fwd_file = "/proc/sys/net/ipv4/ip_forward"
    with open(fwd_file) as f:
        fwd = f.read().strip()
    if fwd != "1":
        orig = os.path.join(LAB_DIR, "ip_forward.orig")
        if not os.path.exists(orig):
            with open(orig, "w") as f:
                f.write(fwd + "\n")
        with open(fwd_file, "w") as f:
            f.write("1\n")
        log("net.ipv4.ip_forward=1 (restored by `down`)")
    rule = ["POSTROUTING", "-s", SUBNET, "!", "-d", SUBNET, "-m", "comment", "--comment", TAG, "-j", "MASQUERADE"]
    if run(["iptables", "-t", "nat", "-C"] + rule, check=False).returncode != 0:
        run(["iptables", "-t", "nat", "-A"] + rule)
        log(f"NAT: MASQUERADE for {SUBNET} (iptables comment '{TAG}')")
    # a FORWARD policy of DROP would block the hosts' traffic: let the lab's own through
    pol = run(["iptables", "-S", "FORWARD"], check=False).stdout
    if "-P FORWARD ACCEPT" not in pol:
        for r in (["FORWARD", "-s", SUBNET, "-m", "comment", "--comment", TAG, "-j", "ACCEPT"],
                  ["FORWARD", "-d", SUBNET, "-m", "comment", "--comment", TAG, "-j", "ACCEPT"]):
            if run(["iptables", "-C"] + r, check=False).returncode != 0:
                run(["iptables", "-I"] + r)


def remove_tagged_rules():
    n = 0
    if shutil.which("iptables") is None:
        return n
    for table in ("nat", "filter"):
        p = run(["iptables", "-t", table, "-S"], check=False)
        for line in p.stdout.splitlines():
            if line.startswith("-A ") and f"--comment {TAG}" in line.replace('"', ""):
                args = shlex.split(line)
                args[0] = "-D"
                if run(["iptables", "-t", table] + args, check=False).returncode == 0:
                    n += 1
    return n


def ensure_nspawn_tmpfs():
    marker = os.path.join(LAB_DIR, "nspawn-tmpfs.mounted")
    if is_mounted(NSPAWN_TMPFS):
        return
    created = not os.path.isdir(NSPAWN_TMPFS)
    os.makedirs(NSPAWN_TMPFS, exist_ok=True)
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", NSPAWN_TMPFS])
    with open(marker, "w") as f:
        f.write("created-dir\n" if created else "mounted\n")
    log(f"tmpfs mounted on {NSPAWN_TMPFS} (systemd-nspawn needs it without systemd as PID 1)")


def release_nspawn_tmpfs():
    marker = os.path.join(LAB_DIR, "nspawn-tmpfs.mounted")
    if not os.path.exists(marker):
        return
    others = [d for d in os.listdir("/proc") if d.isdigit() and (proc_stat(d) or ("", "", ""))[2] == "systemd-nspawn"
              and alive(d)]
    if others:
        log(f"leaving the tmpfs on {NSPAWN_TMPFS} mounted: other systemd-nspawn processes run ({' '.join(others)})")
        return
    with open(marker) as f:
        created = f.read().strip() == "created-dir"
    if is_mounted(NSPAWN_TMPFS):
        run(["umount", NSPAWN_TMPFS], check=False)
        log(f"tmpfs on {NSPAWN_TMPFS} unmounted")
    if created:
        try:
            os.rmdir(NSPAWN_TMPFS)
        except OSError:
            pass
    os.unlink(marker)


def ensure_key():
    if not os.path.exists(KEY):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "monitoring-lab", "-f", KEY])
        log(f"ssh key {os.path.relpath(KEY, REPO)} generated")
    with open(KEY + ".pub") as f:
        return f.read()


def write_inventory():
    # Host names differ from group names: Ansible warns on every run when a host and a group share one.
    lines = ["# written by lab/lab.py: the local four-host lab (same groups as inventory/lab.ini)"]
    for name, ip in HOSTS.items():
        lines += [f"[{name}]", f"{name}-node ansible_host={ip}", ""]
    lines += ["[consumers:children]", "consumer1", "consumer2", "", "[all:vars]", "ansible_user=root",
              f"ansible_ssh_private_key_file={KEY}",
              "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
              "ansible_python_interpreter=/usr/bin/python3", ""]
    with open(INVENTORY, "w") as f:
        f.write("\n".join(lines))
    # What the lab hands the roles instead of downloads (pass with -e @.lab/lab-vars.yml): extra vars,
    # because group_vars/all.yml would win over inventory vars.
    build = os.path.join(REPO, "build")
    with open(LAB_VARS, "w") as f:
        f.write("# written by lab/lab.py: local sources for the lab's hosts\n"
                f"kafka_archive_src: \"{build}/kafka/kafka_{{{{ kafka_scala_version }}}}-{{{{ kafka_version }}}}.tgz\"\n"
                f"app_wheelhouse_src: \"{build}/wheelhouse\"\n"
                f"spark_wheelhouse_src: \"{build}/wheelhouse\"\n")


def lab_lock():
    os.makedirs(LAB_DIR, exist_ok=True)
    f = open(os.path.join(LAB_DIR, ".lock"), "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("waiting for another lab command to finish")
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


# ---------------------------------------------------------------------------------------------------------
# commands

def boot_timeout():
    try:
        return float(os.environ.get("LAB_BOOT_TIMEOUT", "120"))
    except ValueError:
        raise LabError("LAB_BOOT_TIMEOUT must be a number of seconds")


def wait_running(hosts, timeout):
    """Wait until each host's systemd says running (or degraded) and its sshd answers."""
    pending = {h.name: h for h in hosts}
    deadline = time.monotonic() + timeout
    last = {}
    while pending:
        for name, h in list(pending.items()):
            if not h.pid():
                raise LabError(f"{name}: systemd-nspawn exited during boot; console log "
                               f"{os.path.relpath(h.console, REPO)}", tail(h.console, 30))
            state = h.system_state()
            last[name] = state
            if state in ("running", "degraded") and h.ssh_ok():
                if state == "degraded":
                    failed = h.exec_in(["systemctl", "--failed", "--no-legend", "--plain"])
                    units = " ".join(l.split()[0] for l in (failed.stdout if failed else "").splitlines() if l)
                    log(f"{name}: up, systemd says degraded (failed units: {units or '?'}), ssh answers")
                else:
                    log(f"{name}: up (systemd running, ssh answers on {h.ip}:22)")
                del pending[name]
        if not pending:
            break
        if time.monotonic() > deadline:
            name, h = next(iter(pending.items()))
            detail = "".join(f"--- {n}: console log tail ---\n{tail(x.console, 30)}" for n, x in pending.items())
            states = ", ".join(f"{n}: systemd {last.get(n) or 'not answering'}, "
                               f"ssh {'answers' if x.ssh_ok() else 'silent'}" for n, x in pending.items())
            raise LabError(f"hosts not up within {timeout:g}s ({states}); see .lab/<host>.console.log "
                           "(LAB_BOOT_TIMEOUT raises the limit)", detail)
        time.sleep(0.5)


def cmd_up(args):
    require_tools(["systemd-nspawn", "debootstrap", "iptables", "ip", "nsenter", "ssh-keygen"])
    lock = lab_lock()  # noqa: F841 (held until exit)
    names = list(HOSTS) + ([OUTSIDER[0]] if args.with_outsider else [])
    hosts = [Host(n) for n in names]
    running = [h for h in hosts if h.pid()]
    todo = [h for h in hosts if h not in running]
    for h in running:
        log(f"{h.name}: already running (pid {h.pid()}), left alone")
    os.makedirs(HOSTS_DIR, exist_ok=True)
    pubkey = ensure_key()
    write_inventory()
    if not todo:
        log(f"lab is up; inventory {os.path.relpath(INVENTORY, REPO)}")
        return 0
    any_mounted = any(is_mounted(Host(n).root) for n in ALL_HOSTS)
    sources = debian_sources()
    dns = nameservers()
    base = ensure_base(any_mounted)
    ensure_nspawn_tmpfs()
    ensure_bridge()
    ensure_nat()
    for h in todo:
        for p in h.stray_pids():  # a leftover of a half-failed run: stop it first
            log(f"{h.name}: stray systemd-nspawn pid {p} on its root; stopping it")
            h.stop()
        h.setup_netns()
        h.mount(base)
        h.configure(pubkey, sources, dns)
        h.start()
    wait_running(todo, boot_timeout())
    log(f"lab is up in {time.monotonic() - T0:.0f}s; inventory {os.path.relpath(INVENTORY, REPO)}; "
        f"try: .venv/bin/ansible -i {os.path.relpath(INVENTORY, REPO)} all -m ping")
    return 0


def cmd_down(args):
    lock = lab_lock()  # noqa: F841
    for name in ALL_HOSTS:
        h = Host(name)
        if h.stop():
            log(f"{name}: container stopped")
        if h.umount():
            log(f"{name}: overlay unmounted")
        if h.teardown_netns():
            log(f"{name}: network namespace and veth deleted")
        if args.purge and os.path.isdir(h.dir):
            shutil.rmtree(h.dir)
            for f in (h.console, h.console + ".1"):
                if os.path.exists(f):
                    os.unlink(f)
            log(f"{name}: host dir deleted")
    if os.path.exists(f"/sys/class/net/{BRIDGE}"):
        run(["ip", "link", "del", BRIDGE], check=False)
        log(f"bridge {BRIDGE} deleted")
    n = remove_tagged_rules()
    if n:
        log(f"{n} iptables rule(s) tagged '{TAG}' deleted")
    orig = os.path.join(LAB_DIR, "ip_forward.orig")
    if os.path.exists(orig):
        with open(orig) as f:
            val = f.read().strip()
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(val + "\n")
        os.unlink(orig)
        log(f"net.ipv4.ip_forward restored to {val}")
    release_nspawn_tmpfs()
    log("lab is down" + (" (host dirs purged; the base image stays cached)" if args.purge else
                         " (the hosts' disks stay in .lab/hosts; --purge deletes them)"))
    return 0


def cmd_status(args):
    names = list(HOSTS) + [OUTSIDER[0]]
    ok = True
    bridge = os.path.exists(f"/sys/class/net/{BRIDGE}")
    print(f"bridge {BRIDGE} ({GATEWAY}/{PREFIX}): {'up' if bridge else 'absent'}")
    print(f"{'host':<10} {'address':<12} {'container':<22} {'systemd':<12} ssh")
    for name in names:
        h = Host(name)
        pid = h.pid()
        if name == OUTSIDER[0] and not pid and not os.path.exists(f"/run/netns/{h.netns}"):
            continue
        state = h.system_state() if pid else None
        ssh = h.ssh_ok() if (pid or bridge) else False
        print(f"{name:<10} {h.ip:<12} {('running (pid %d)' % pid) if pid else 'stopped':<22} "
              f"{state or '-':<12} {'answers' if ssh else 'no'}")
        if name in HOSTS and not (pid and ssh):
            ok = False
    return 0 if (ok or not args.check) else 1


def cmd_ssh(args):
    require_tools(["ssh"])
    if not os.path.exists(KEY):
        raise LabError("no lab key yet: run `lab.py up` first")
    cmd = ["ssh", "-i", KEY] + SSH_OPTS + ["-o", "ConnectTimeout=5", f"root@{ALL_HOSTS[args.host]}"]
    if args.cmd:
        cmd += ["--"] + args.cmd
    os.execvp("ssh", cmd)


def cmd_restart(args):
    require_tools(["systemd-nspawn", "ip", "nsenter"])
    lock = lab_lock()  # noqa: F841
    h = Host(args.host)
    t = time.monotonic()
    if h.pid():
        h.stop(hard=args.hard)
        log(f"{h.name}: stopped in {time.monotonic() - t:.1f}s")
    else:
        log(f"{h.name}: was not running")
    base = base_dir()
    if not is_mounted(h.root) and base_current_hash() is None:
        raise LabError("no base image: run `lab.py up` first")
    ensure_nspawn_tmpfs()
    ensure_bridge()
    ensure_nat()
    h.setup_netns()
    h.mount(base)
    h.configure(ensure_key(), debian_sources(), nameservers())
    t2 = time.monotonic()
    h.start()
    wait_running([h], boot_timeout())
    log(f"{h.name}: {'hard ' if args.hard else ''}restart done in {time.monotonic() - t:.1f}s "
        f"(boot {time.monotonic() - t2:.1f}s)")
    return 0


def parser():
    p = argparse.ArgumentParser(prog="lab.py", description="The four-host lab on this machine (systemd-nspawn).")
    sub = p.add_subparsers(dest="command", required=True, metavar="{up,down,status,ssh,restart}")
    up = sub.add_parser("up", help="start the lab (idempotent)")
    up.add_argument("--with-outsider", action="store_true",
                    help=f"also start the host {OUTSIDER[0]} ({OUTSIDER[1]}), which is not in the inventory")
    down = sub.add_parser("down", help="stop the lab and remove what `up` made (idempotent)")
    down.add_argument("--purge", action="store_true", help="also delete the hosts' dirs under .lab/")
    st = sub.add_parser("status", help="show each host's state")
    st.add_argument("--check", action="store_true", help="exit 1 unless all four hosts run and answer ssh")
    ssh = sub.add_parser("ssh", help="ssh into a host as root")
    ssh.add_argument("host", choices=list(ALL_HOSTS))
    ssh.add_argument("cmd", nargs=argparse.REMAINDER, help="command to run (default: a shell)")
    rs = sub.add_parser("restart", help="reboot one host")
    rs.add_argument("host", choices=list(ALL_HOSTS))
    rs.add_argument("--hard", action="store_true", help="SIGKILL the container (a power cut), then start it")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    require_root()
    fn = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "ssh": cmd_ssh, "restart": cmd_restart}
    try:
        return fn[args.command](args)
    except LabError as e:
        if e.detail:
            print(e.detail.rstrip(), file=sys.stderr)
        print(f"lab: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted (`lab.py down` cleans up)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
