"""The commands: `lab.py up | down | status | ssh | restart`, their arguments and the root check."""

import argparse
import fcntl
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from . import mirror, network, topology
from .host import (SSH_OPTS, Host, ensure_key, ensure_nspawn_tmpfs, known_hosts, lab_nspawn_pids,
                   release_nspawn_tmpfs)
from .image import base_current_hash, base_dir, debian_sources, ensure_base, nameservers
from .inventory import become_password_file, write_inventory
from .paths import HOSTS_DIR, INVENTORY, KEY, LAB_DIR, rel
from .procs import is_mounted, mountpoints
from .shell import T0, LabError, log, tail

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


def lab_lock():
    os.makedirs(LAB_DIR, exist_ok=True)
    f = open(os.path.join(LAB_DIR, ".lock"), "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("waiting for another lab command to finish")
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


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
                               f"{rel(h.console)}", tail(h.console, 30))
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
    topo = topology.load(args.topology, with_outsider=args.with_outsider)
    check_same_lab(topo)
    hosts = [Host(h.name, h) for h in topo.hosts]
    running = [h for h in hosts if h.pid()]
    todo = [h for h in hosts if h not in running]
    for h in running:
        log(f"{h.name}: already running (pid {h.pid()}), left alone")
    os.makedirs(HOSTS_DIR, exist_ok=True)
    pubkey = ensure_key()
    topology.record(topo)
    write_inventory(topo)
    if not todo:
        mirror.start()
        log(f"lab is up; inventory {rel(INVENTORY)}")
        return 0
    dns = nameservers()
    sources = {r: debian_sources(release=r) for r in topo.releases()}
    bases = {r: ensure_base(r) for r in sorted({h.release for h in todo})}
    ensure_nspawn_tmpfs()
    network.ensure_bridge()
    network.ensure_nat()
    mirror.start()
    for h in todo:
        for p in h.stray_pids():  # a leftover of a half-failed run: stop it first
            log(f"{h.name}: stray systemd-nspawn pid {p} on its root; stopping it")
            h.stop()
        h.setup_netns()
        h.mount(bases[h.release])
        h.configure(pubkey, sources[h.release], dns, topo)
        h.start()
    wait_running(todo, boot_timeout())
    log(f"lab is up in {time.monotonic() - T0:.0f}s ({len(topo.hosts)} hosts, {topo.source}); inventory "
        f"{rel(INVENTORY)}; try: .venv/bin/ansible -i {rel(INVENTORY)} all -m ping")
    return 0


def check_same_lab(topo):
    """`up` adds to a running lab only hosts of the same topology; anything else needs `down` first."""
    rec = topology.recorded()
    if rec is None:
        return
    for spec in rec.hosts:
        if Host(spec.name, spec).pid() and topo.get(spec.name) != spec:
            change = "is not in" if topo.get(spec.name) is None else "differs in"
            raise LabError(f"the lab runs the topology {rec.source}, and its host '{spec.name}' {change} "
                           f"{topo.source}: `lab.py down` first")


def stop_host(name, purge):
    """Stop one host and remove its mount and namespace; the processes still there (see Host.stop)."""
    h = Host(name)  # by name: `down` also removes hosts that no topology names any more
    t = time.monotonic()
    left = h.stop()
    if left is not None:
        running = [p for p in left if p[1] not in ("Z", "X")]
        if not running:
            log(f"{name}: container stopped, all its processes exited ({time.monotonic() - t:.1f}s)")
        for pid, state, comm in left:
            if state in ("Z", "X"):
                log(f"{name}: pid {pid} ({comm}) has exited; its parent has not collected it yet")
    else:
        left = []
    if h.umount():
        log(f"{name}: overlay unmounted")
    if h.teardown_netns():
        log(f"{name}: network namespace and veth deleted")
    if purge and os.path.isdir(h.dir):
        shutil.rmtree(h.dir)
        for f in (h.console, h.console + ".1", become_password_file(name)):
            if os.path.exists(f):
                os.unlink(f)
        log(f"{name}: host dir deleted")
    return [(name, pid, comm) for pid, state, comm in left if state not in ("Z", "X")]


def what_is_left():
    """One line per thing of the lab's that still exists: process, mount, namespace, veth, bridge, rule."""
    left = [f"systemd-nspawn pid {p} of a lab host runs" for p in lab_nspawn_pids()]
    if mirror.running_pid():
        left.append(f"the Kafka mirror's http.server pid {mirror.running_pid()} runs")
    lab_dir = os.path.realpath(LAB_DIR) + "/"
    left += [f"mount {rel(m)}" for m in sorted(mountpoints()) if m.startswith(lab_dir)]
    left += [f"network namespace {n}" for n in network.lab_netns()]
    left += [f"interface {n}" for n in network.lab_veths()]
    if network.bridge_exists():
        left.append(f"bridge {network.BRIDGE}")
    left += [f"iptables -t {table} rule {rule}" for table, rule in network.tagged_rules()]
    return left


def cmd_down(args):
    lock = lab_lock()  # noqa: F841
    if mirror.stop():  # first: it needs nothing of the hosts, and a failure below must not leave it
        log("Kafka mirror stopped")
    # Hosts stop in parallel: each waits for its own processes (an orderly shutdown takes a second or two).
    with ThreadPoolExecutor(max_workers=8) as pool:
        names = known_hosts(topology.recorded() or topology.Topology("none", ()))
        running = [p for found in pool.map(lambda n: stop_host(n, args.purge), names) for p in found]
    for name, pid, comm in running:
        log(f"{name}: pid {pid} ({comm}) is still running")
    if network.delete_bridge():
        log(f"bridge {network.BRIDGE} deleted")
    n = network.remove_tagged_rules()
    if n:
        log(f"{n} iptables rule(s) tagged '{network.TAG}' deleted")
    val = network.restore_ip_forward()
    if val is not None:
        log(f"net.ipv4.ip_forward restored to {val}")
    release_nspawn_tmpfs()
    left = what_is_left()
    if left:
        raise LabError(f"down is incomplete, still there: {'; '.join(left)}")
    log("lab is down, nothing of it left" + (" (host dirs purged; the base image stays cached)" if args.purge else
                                             " (the hosts' disks stay in .lab/hosts; --purge deletes them)"))
    return 0


def cmd_status(args):
    topo = topology.current()
    ok = True
    bridge = network.bridge_exists()
    print(f"bridge {network.BRIDGE} ({network.GATEWAY}/{network.PREFIX}): {'up' if bridge else 'absent'}")
    print(f"{'host':<10} {'address':<12} {'container':<22} {'systemd':<12} {'ssh':<8} {'release':<9} login")
    for spec in topo.hosts:
        h = Host(spec.name, spec)
        pid = h.pid()
        if not spec.groups and not pid and not os.path.exists(f"/run/netns/{h.netns}"):
            continue  # a host in no group (the outsider) is shown only when it is there
        state = h.system_state() if pid else None
        ssh = h.ssh_ok() if (pid or bridge) else False
        print(f"{spec.name:<10} {h.ip:<12} {('running (pid %d)' % pid) if pid else 'stopped':<22} "
              f"{state or '-':<12} {'answers' if ssh else 'no':<8} {spec.release:<9} {spec.login.label}")
        if spec.groups and not (pid and ssh):
            ok = False
    return 0 if (ok or not args.check) else 1


def lab_host(name):
    topo = topology.current()
    spec = topo.get(name)
    if spec is None:
        raise LabError(f"no host '{name}' in the lab's topology {topo.source} (hosts: {', '.join(topo.names())})")
    return topo, Host(name, spec)


def cmd_ssh(args):
    require_tools(["ssh"])
    if not os.path.exists(KEY):
        raise LabError("no lab key yet: run `lab.py up` first")
    _, h = lab_host(args.host)
    user = h.spec.login.user if args.login else "root"
    cmd = ["ssh", "-i", KEY] + SSH_OPTS + ["-o", "ConnectTimeout=5", f"{user}@{h.ip}"]
    if args.cmd:
        cmd += ["--"] + args.cmd
    os.execvp("ssh", cmd)


def cmd_restart(args):
    require_tools(["systemd-nspawn", "ip", "nsenter"])
    lock = lab_lock()  # noqa: F841
    topo, h = lab_host(args.host)
    t = time.monotonic()
    if h.pid():
        running = [f"pid {pid} ({comm})" for pid, state, comm in h.stop(hard=args.hard) if state not in ("Z", "X")]
        if running:
            raise LabError(f"{h.name}: still running after the stop: {', '.join(running)}")
        log(f"{h.name}: stopped in {time.monotonic() - t:.1f}s")
    else:
        log(f"{h.name}: was not running")
    base = base_dir(h.release)
    if not is_mounted(h.root) and base_current_hash(h.release) is None:
        raise LabError(f"no {h.release} base image: run `lab.py up` first")
    ensure_nspawn_tmpfs()
    network.ensure_bridge()
    network.ensure_nat()
    h.setup_netns()
    h.mount(base)
    h.configure(ensure_key(), debian_sources(release=h.release), nameservers(), topo)
    t2 = time.monotonic()
    h.start()
    wait_running([h], boot_timeout())
    log(f"{h.name}: {'hard ' if args.hard else ''}restart done in {time.monotonic() - t:.1f}s "
        f"(boot {time.monotonic() - t2:.1f}s)")
    return 0


def parser():
    names = topology.host_names()
    p = argparse.ArgumentParser(prog="lab.py", description="The project's hosts on this machine (systemd-nspawn).")
    sub = p.add_subparsers(dest="command", required=True, metavar="{up,down,status,ssh,restart}")
    up = sub.add_parser("up", help="start the lab (idempotent)")
    up.add_argument("--topology", metavar="FILE", default=topology.DEFAULT,
                    help=f"the hosts to start (default: {rel(topology.DEFAULT)}, the project's four hosts)")
    up.add_argument("--with-outsider", action="store_true",
                    help=f"also start the host {topology.OUTSIDER} (in no group, so not in the inventory)")
    down = sub.add_parser("down", help="stop the lab and remove what `up` made (idempotent)")
    down.add_argument("--purge", action="store_true", help="also delete the hosts' dirs under .lab/")
    st = sub.add_parser("status", help="show each host's state")
    st.add_argument("--check", action="store_true",
                    help="exit 1 unless every host of the inventory runs and answers ssh")
    ssh = sub.add_parser("ssh", help="ssh into a host (as root, or as the topology's login with --login)")
    ssh.add_argument("--login", action="store_true", help="log in as the host's login user instead of root")
    ssh.add_argument("host", choices=names)
    ssh.add_argument("cmd", nargs=argparse.REMAINDER, help="command to run (default: a shell)")
    rs = sub.add_parser("restart", help="reboot one host")
    rs.add_argument("host", choices=names)
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
