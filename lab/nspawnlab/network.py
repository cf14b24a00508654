"""The lab's network: the bridge mlab0 with the gateway address, one network namespace and veth pair per
host, and NAT to the outside (iptables rules tagged with a comment, so `down` removes exactly them)."""

import json
import os
import shlex
import shutil

from .paths import LAB_DIR
from .shell import log, run

BRIDGE = "mlab0"
SUBNET = "10.213.0.0/24"
GATEWAY = "10.213.0.1"
PREFIX = 24
TAG = "monitoring-lab"  # comment on the iptables rules, so `down` removes exactly them
NETNS_PREFIX = "mlab-"  # each host's network namespace and the host end of its veth: mlab-<host>
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
IP_FORWARD_ORIG = os.path.join(LAB_DIR, "ip_forward.orig")


def bridge_exists():
    return os.path.exists(f"/sys/class/net/{BRIDGE}")


def ensure_bridge():
    if not bridge_exists():
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        log(f"bridge {BRIDGE} created")
    addrs = run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE]).stdout
    if f"{GATEWAY}/{PREFIX}" not in addrs:
        run(["ip", "addr", "add", f"{GATEWAY}/{PREFIX}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def delete_bridge():
    if not bridge_exists():
        return False
    run(["ip", "link", "del", BRIDGE], check=False)
    return True


def ensure_nat():
    with open(IP_FORWARD) as f:
        fwd = f.read().strip()
    if fwd != "1":
        if not os.path.exists(IP_FORWARD_ORIG):
            with open(IP_FORWARD_ORIG, "w") as f:
                f.write(fwd + "\n")
        with open(IP_FORWARD, "w") as f:
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


def tagged_rules():
    """[(table, rule)] of the iptables rules carrying the lab's comment."""
    out = []
    if shutil.which("iptables") is None:
        return out
    for table in ("nat", "filter"):
        p = run(["iptables", "-t", table, "-S"], check=False)
        for line in p.stdout.splitlines():
            if line.startswith("-A ") and f"--comment {TAG}" in line.replace('"', ""):
                out.append((table, line))
    return out


def remove_tagged_rules():
    n = 0
    for table, line in tagged_rules():
        args = shlex.split(line)
        args[0] = "-D"
        if run(["iptables", "-t", table] + args, check=False).returncode == 0:
            n += 1
    return n


def restore_ip_forward():
    """Put net.ipv4.ip_forward back as `up` found it; the value restored, or None."""
    if not os.path.exists(IP_FORWARD_ORIG):
        return None
    with open(IP_FORWARD_ORIG) as f:
        val = f.read().strip()
    with open(IP_FORWARD, "w") as f:
        f.write(val + "\n")
    os.unlink(IP_FORWARD_ORIG)
    return val


def netns_ok(netns, veth, ip):
    if not os.path.exists(f"/run/netns/{netns}"):
        return False
    p = run(["ip", "-n", netns, "-j", "addr", "show", "dev", "eth0"], check=False)
    if p.returncode != 0:
        return False
    try:
        info = json.loads(p.stdout)[0]
    except (ValueError, IndexError):
        return False
    addrs = [a.get("local") for a in info.get("addr_info", [])]
    if ip not in addrs or "UP" not in info.get("flags", []):
        return False
    r = run(["ip", "-n", netns, "route", "show", "default"], check=False).stdout
    h = run(["ip", "-j", "link", "show", "dev", veth], check=False)
    return f"via {GATEWAY}" in r and h.returncode == 0 and f'"master":"{BRIDGE}"' in h.stdout.replace(" ", "")


def setup_netns(netns, veth, ip):
    """A network namespace with eth0 at `ip`, its peer `veth` on the bridge; True if it had to be made."""
    if netns_ok(netns, veth, ip):
        return False
    teardown_netns(netns, veth)
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    run(["ip", "link", "set", veth, "master", BRIDGE])
    run(["ip", "link", "set", veth, "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])
    run(["ip", "-n", netns, "addr", "add", f"{ip}/{PREFIX}", "dev", "eth0"])
    run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    run(["ip", "-n", netns, "route", "add", "default", "via", GATEWAY])
    return True


def teardown_netns(netns, veth):
    did = False
    if os.path.exists(f"/run/netns/{netns}"):
        run(["ip", "netns", "del", netns], check=False)
        did = True
    if os.path.exists(f"/sys/class/net/{veth}"):
        run(["ip", "link", "del", veth], check=False)
        did = True
    return did


def lab_netns():
    """The lab's network namespaces that exist (by name), whichever hosts they belong to."""
    d = "/run/netns"
    return sorted(n for n in os.listdir(d) if n.startswith(NETNS_PREFIX)) if os.path.isdir(d) else []


def lab_veths():
    return sorted(n for n in os.listdir("/sys/class/net") if n.startswith(NETNS_PREFIX))
