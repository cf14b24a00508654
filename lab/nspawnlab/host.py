"""One host: its disk (an overlayfs mount on the base image), the identity files written into it before
each boot, its systemd-nspawn container (start, orderly stop, power cut) and its ssh port."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid

from . import cgroup, network
from .image import SUITE, base_build_id
from .inventory import become_password
from .paths import HOSTS_DIR, KEY, LAB_DIR, rel
from .procs import alive, is_mounted, pidns_members, proc_stat, reap
from .shell import LabError, log, run

NSPAWN_TMPFS = "/run/systemd/nspawn"
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]


class Host:
    def __init__(self, name, spec=None):
        """`spec`: the host's entry in the topology (None for a host `down` found on disk only)."""
        self.name = name
        self.spec = spec
        self.ip = spec.address if spec else None
        self.release = spec.release if spec else SUITE
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
        return [pid for pid, args in nspawn_processes() if self.root.encode() in args]

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
    def setup_netns(self):
        if network.setup_netns(self.netns, self.veth, self.ip):
            log(f"{self.name}: network namespace {self.netns}, {self.ip}/{network.PREFIX} via {network.GATEWAY}")

    def teardown_netns(self):
        return network.teardown_netns(self.netns, self.veth)

    # -- filesystem --------------------------------------------------------------------------------------
    def mount(self, base):
        if is_mounted(self.root):
            return
        stamp = os.path.join(self.dir, "base.build")
        want = base_build_id(self.release)
        try:
            with open(stamp) as f:
                have = f.read().strip()
        except OSError:
            have = None
        if have and have != want and os.path.isdir(self.upper):
            log(f"{self.name}: its base image changed ({have} -> {want}: rebuilt, or another release); "
                "resetting this host's overlay")
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
        log(f"{self.name}: overlay mounted on {rel(self.root)}")

    def umount(self):
        if not is_mounted(self.root):
            return False
        for _ in range(20):
            if run(["umount", self.root], check=False).returncode == 0:
                return True
            time.sleep(0.25)
        log(f"WARNING: {self.name}: {self.root} is busy; detaching it lazily (it stays until its last user ends)")
        run(["umount", "-l", self.root], check=False)
        return True

    def write(self, path_in_root, content, mode=0o644):
        path = os.path.join(self.root, path_in_root)
        if os.path.islink(path):
            os.unlink(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".lab-tmp"
        with open(tmp, "w") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def configure(self, pubkey, sources, dns, topo):
        """Write this host's identity and the lab's settings into its overlay (before each boot)."""
        self.write("etc/hostname", self.name + "\n")
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters", ""]
        # the inventory's hosts, and this one (an outsider knows the others, they do not know it)
        names = {h.name: h.address for h in topo.grouped()}
        names.setdefault(self.name, self.ip)
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
        # root keeps the lab's key whatever the login: `lab.py ssh` is the lab's console
        self.write("root/.ssh/authorized_keys", pubkey, 0o600)
        self.configure_login(pubkey)
        # Debian 13's keyring names the file .pgp (with a .gpg link, kept for now)
        keyring = next((k for k in ("usr/share/keyrings/debian-archive-keyring.pgp",
                                    "usr/share/keyrings/debian-archive-keyring.gpg")
                        if os.path.exists(os.path.join(self.root, k))), "usr/share/keyrings/debian-archive-keyring.gpg")
        stanzas = []
        for uri, suite, comps in sources:
            stanzas.append(f"Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {' '.join(comps)}\n"
                           f"Signed-By: /{keyring}\n")
        self.write("etc/apt/sources.list.d/debian.sources",
                   "# written by lab/lab.py from the controller's apt sources\n" + "\n".join(stanzas))

    def configure_login(self, pubkey):
        """The topology's login: a user with the lab's key and sudo (with or without a password)."""
        sudoers = "etc/sudoers.d/lab-login"
        login = self.spec.login
        if login.user == "root":
            if os.path.exists(os.path.join(self.root, sudoers)):
                os.unlink(os.path.join(self.root, sudoers))
            return
        user = self._passwd_entry(login.user)
        if user is None:
            run(["chroot", self.root, "useradd", "--create-home", "--shell", "/bin/bash", login.user])
            user = self._passwd_entry(login.user)
        uid, gid, home = int(user[2]), int(user[3]), user[5].lstrip("/")
        ssh_dir = os.path.join(self.root, home, ".ssh")
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        os.chmod(ssh_dir, 0o700)
        self.write(os.path.join(home, ".ssh/authorized_keys"), pubkey, 0o600)
        for path in (ssh_dir, os.path.join(ssh_dir, "authorized_keys")):
            os.chown(path, uid, gid)
        nopasswd = "NOPASSWD: " if login.sudo == "nopasswd" else ""
        self.write(sudoers, "# written by lab/lab.py: the topology's login\n"
                   f"{login.user} ALL=(ALL:ALL) {nopasswd}ALL\n", 0o440)
        if login.sudo == "password":
            run(["chroot", self.root, "chpasswd"], input=f"{login.user}:{become_password(self.name)}\n")
        else:  # no password at all ('*', not the locked '!': key logins stay allowed)
            run(["chroot", self.root, "usermod", "--password", "*", login.user])

    def _passwd_entry(self, user):
        with open(os.path.join(self.root, "etc/passwd")) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] == user:
                    return fields
        return None

    # -- container ---------------------------------------------------------------------------------------
    def start(self):
        if os.path.exists(self.console):
            os.replace(self.console, self.console + ".1")  # the previous boot's console
        cmd = ["systemd-nspawn", "-q", "-b", "-D", self.root, "-M", self.name,
               "--register=no", "--keep-unit", f"--network-namespace-path=/run/netns/{self.netns}",
               "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--console=read-only",
               # Firewall rules (nftables) in the host's own network namespace, as on a real machine.
               "--capability=CAP_NET_ADMIN"]
        group = cgroup.host_group(self.name)
        with open(self.console, "w") as out:
            out.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n")
            out.flush()
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True, cwd="/",
                                 preexec_fn=(lambda: cgroup.move_self(group)) if group else None)
        st = proc_stat(p.pid)
        with open(self.startfile, "w") as f:
            f.write((st[1] if st else "") + "\n")
        with open(self.pidfile, "w") as f:
            f.write(f"{p.pid}\n")
        log(f"{self.name}: systemd-nspawn started (pid {p.pid}, console {rel(self.console)})")
        return p.pid

    def stop(self, hard=False, timeout=60):
        """End this host's nspawn process(es) and wait, by PID, until each of them and every process of
        its container has exited: SIGTERM = orderly shutdown, SIGKILL = power cut.

        Returns None if nothing ran, else the processes still there, [(pid, state, comm)]: empty when
        all have exited. An exited process whose parent has not collected it yet (a zombie) counts as
        exited: it holds no memory, mount or namespace.
        """
        pids = []
        pid = self.pid()
        if pid:
            pids.append(pid)
        pids += [p for p in self.stray_pids() if p not in pids]
        if not pids:
            self._clear_pid()
            return None
        watched, leaders = set(), []  # (pid, starttime): a pid reused by a new process is not ours
        for p in pids:
            st = proc_stat(p)
            if st:
                watched.add((p, st[1]))
            lead = self.leader(p)
            if lead:
                leaders.append((lead, (proc_stat(lead) or ("", ""))[1]))
                watched |= pidns_members(lead)
        if hard:
            # nspawn's death alone does not end the container: SIGKILL its PID 1 too, which ends every
            # process in the container's pid namespace at once
            self._kill(leaders)
        sig = signal.SIGKILL if hard else signal.SIGTERM
        for p in pids:
            log(f"{self.name}: {'SIGKILL (power cut)' if hard else 'SIGTERM (orderly shutdown)'} "
                f"to systemd-nspawn pid {p}")
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        if not self._wait_exited(watched, timeout):
            log(f"WARNING: {self.name}: not all of its processes exited within {timeout}s; SIGKILL")
            self._kill(leaders)
            self._kill(w for w in watched if alive(*w))
            self._wait_exited(watched, 10)
        self._clear_pid()
        # an exited process stays in /proc until its parent collects it; ours are collected in
        # _wait_exited, the others' parent is usually quick about it: give it a moment
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and any(_same(p, start) for p, start in watched):
            time.sleep(0.1)
        cgroup.remove_group(self.name)
        left = []
        for p, start in sorted(watched):
            st = proc_stat(p)
            if st and st[1] == start:
                left.append((p, st[0], st[2]))
        return left

    @staticmethod
    def _kill(procs):
        for p, start in procs:
            if alive(p, start):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    @staticmethod
    def _wait_exited(watched, timeout):
        """Wait until none of `watched` runs (gone, or exited and waiting to be collected); True if so."""
        deadline = time.monotonic() + timeout
        while True:
            for p, _ in watched:
                reap(p)
            if not any(alive(p, start) for p, start in watched):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def _clear_pid(self):
        for f in (self.pidfile, self.startfile):
            if os.path.exists(f):
                os.unlink(f)


def nspawn_processes():
    """[(pid, argv)] of the systemd-nspawn processes that run (not yet exited) on this machine."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(d)
        if not st or st[2] != "systemd-nspawn" or st[0] in ("Z", "X"):
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                out.append((int(d), f.read().split(b"\0")))
        except OSError:
            continue
    return out


def lab_nspawn_pids():
    """The running systemd-nspawn processes whose root is one of this lab's hosts."""
    prefix = os.path.realpath(HOSTS_DIR).encode() + b"/"
    return [pid for pid, args in nspawn_processes() if any(a.startswith(prefix) for a in args)]


def known_hosts(topo):
    """Every host this lab may have made: the topology's, and any with a disk, pid file or namespace."""
    names = []
    if os.path.isdir(HOSTS_DIR):
        names += sorted(os.listdir(HOSTS_DIR))
    if os.path.isdir(LAB_DIR):
        names += sorted(f[:-len(".pid")] for f in os.listdir(LAB_DIR) if f.endswith(".pid"))
    names += [n[len(network.NETNS_PREFIX):] for n in network.lab_netns()]
    return topo.names() + [n for n in dict.fromkeys(names) if n not in topo.names()]


def _same(pid, start):
    st = proc_stat(pid)
    return st is not None and st[1] == start


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
        log(f"ssh key {rel(KEY)} generated")
    with open(KEY + ".pub") as f:
        return f.read()
