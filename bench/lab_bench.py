"""Part 4: deployment on the lab: site.yml on fresh hosts, then the second (no-change) run(s), on the
four hosts (lab/topologies/default.yml) and on the seven (seven-hosts.yml: three brokers), where a
rolling broker restart is timed too.

Runs only if the lab is down when the part starts (`lab.py status --check` fails, every host says
'stopped', the bridge and the lab's network namespaces are absent, and no other lab command holds
.lab/.lock): the lab may be someone else's, from this checkout or another (one lab per machine).
Nothing can lock the lab for a whole machine, so a lab started elsewhere in the same second can still
collide with it. Then, for each topology in turn:
  1. `lab.py down --purge`: the hosts' own disks (.lab/hosts) are deleted, so the hosts are fresh
     (the cached Debian base image stays);
  2. `lab.py up --topology FILE` (timed, reported, not a target);
  3. `ansible-playbook -i .lab/inventory.ini -e @.lab/lab-vars.yml site.yml` on the fresh hosts: once
     (a fresh install cannot be repeated without purging and booting again);
  4. the same command again, RUNS times: the no-change run; the recap must say changed=0;
  5. with more than one broker: `site.yml --tags kafka` once unchanged (the playbook's own cost), then
     RUNS times with a broker setting changed (`kafka_server_properties`, alternating between two values
     of log.cleaner.backoff.ms, which changes nothing the pipeline sees): each run restarts every broker in
     turn, the next once the last is back in every ISR (roles/kafka/tasks/restart.yml); the run counts
     the restarts in its output, so a roll that skipped a broker is not timed as one;
  6. `lab.py down` whatever happened (the hosts' disks stay, as after any `down`).
The four hosts' figures stay at the part's top level (as before the seven hosts were added); the seven
hosts' are under `seven_hosts`.
Needs root and `make lab-deps kafka-dist wheelhouse` (make bench does them when BENCH_LAB=1).
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time

import yaml

from bench.common import ROOT, log, summary

LAB = [shutil.which("python3") or "python3", str(ROOT / "lab" / "lab.py")]
VENV_BIN = os.path.dirname(sys.executable)
INVENTORY = ROOT / ".lab" / "inventory.ini"
LAB_VARS = ROOT / ".lab" / "lab-vars.yml"
TOPOLOGIES = ROOT / "lab" / "topologies"
# A broker setting the roll changes back and forth (Kafka's default is 15000 ms).
ROLL_SETTING = "log.cleaner.backoff.ms"
ROLL_VALUES = (15001, 15002)


def lab(*args: str, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.monotonic()
    res = subprocess.run(LAB + list(args), capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                         stdin=subprocess.DEVNULL)
    return time.monotonic() - t0, res


def lab_is_down() -> tuple[bool, str]:
    """(down, why not): the lab is ours to use only if nothing of it runs and nobody holds its lock."""
    if os.geteuid() != 0:
        return False, "not root (the lab makes containers and network namespaces)"
    _, check = lab("status", "--check", timeout=120)
    if check.returncode == 0:
        return False, "the lab is up (lab.py status --check passes): someone may be using it"
    text = check.stdout
    running = [line.split()[0] for line in text.splitlines()[2:] if "running" in line]
    if running or "bridge mlab0 (10.213.0.1/24): up" in text:
        return False, f"the lab is partly up ({', '.join(running) or 'bridge up'}): someone may be using it"
    netns = sorted(n for n in os.listdir("/run/netns") if n.startswith("mlab-")) if os.path.isdir("/run/netns") else []
    if netns:  # a lab started from another checkout: its pid files are not in our .lab/
        return False, f"lab network namespaces exist ({', '.join(netns)}): another checkout's lab may be up"
    lock_path = ROOT / ".lab" / ".lock"
    if lock_path.exists():
        with open(lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(lock, fcntl.LOCK_UN)
            except BlockingIOError:
                return False, "another lab command holds .lab/.lock"
    return True, ""


def recap(output: str) -> dict[str, dict[str, int]]:
    found = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return found


def playbook(name: str, log_path, *extra: str) -> dict:
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    t0 = time.monotonic()
    res = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(INVENTORY), "-e", f"@{LAB_VARS}",
                          name, *extra], capture_output=True, text=True, cwd=ROOT, env=env, timeout=3600,
                         stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    log_path.write_text(res.stdout + "\n--- stderr\n" + res.stderr)
    counts = recap(res.stdout)
    changed = sum(c.get("changed", 0) for c in counts.values())
    failed = sum(c.get("failed", 0) + c.get("unreachable", 0) for c in counts.values())
    return {"seconds": round(seconds, 2), "rc": res.returncode, "changed": changed, "failed": failed,
            "recap": counts, "log": str(log_path.relative_to(ROOT)),
            "broker_restarts": len(re.findall(r"^TASK \[kafka : Restart kafka on ", res.stdout, re.M)),
            "tail": "" if res.returncode == 0 else (res.stdout[-1500:] + res.stderr[-500:])}


def run(nochange_runs: int) -> dict:
    ok, why = lab_is_down()
    if not ok:
        log(f"lab: skipped: {why}")
        return {"skipped": why}
    wheelhouse = ROOT / "build" / "wheelhouse"
    if not all((wheelhouse / done).exists() for done in (".built", ".app-built")) \
            or not any((ROOT / "build" / "kafka").glob("kafka_*.tgz")):
        why = "run `make lab-deps kafka-dist wheelhouse` first"
        log(f"lab: skipped: {why}")
        return {"skipped": why}
    out = deploy("default", nochange_runs)
    out["seven_hosts"] = deploy("seven-hosts", nochange_runs)
    return out


def deploy(topology: str, nochange_runs: int) -> dict:
    from bench.common import WORK

    logs = WORK / "lab" / topology
    logs.mkdir(parents=True, exist_ok=True)
    out: dict = {"topology": topology, "nochange_runs": nochange_runs}
    log(f"lab ({topology}): down --purge (fresh hosts), then up")
    _, res = lab("down", "--purge", timeout=300)
    if res.returncode != 0:
        return {**out, "skipped": f"lab.py down --purge failed: {res.stderr[-500:]}"}
    try:
        secs, res = lab("up", "--topology", str(TOPOLOGIES / f"{topology}.yml"), timeout=1200)
        out["lab_up_s"] = round(secs, 2)
        if res.returncode != 0:
            out["error"] = f"lab.py up failed: {res.stdout[-1000:]}{res.stderr[-1000:]}"
            return out
        log(f"lab ({topology}): up in {secs:.0f} s; site.yml on fresh hosts")
        fresh = playbook("site.yml", logs / "site-fresh.log")
        out["hosts"] = len(yaml.safe_load((TOPOLOGIES / f"{topology}.yml").read_text())["hosts"])
        out["inventory_hosts"] = len(set(re.findall(r"^(\S+) ansible_host=", INVENTORY.read_text(), re.M)))
        out["fresh"] = fresh
        log(f"lab ({topology}): fresh site.yml: {fresh['seconds']:.0f} s, rc {fresh['rc']}, changed={fresh['changed']}")
        if fresh["rc"] != 0:
            out["error"] = "site.yml failed on the fresh hosts (see fresh.tail); no-change runs not attempted"
            return out
        again = []
        for i in range(nochange_runs):
            again.append(playbook("site.yml", logs / f"site-nochange-{i + 1}.log"))
            log(f"lab ({topology}): no-change site.yml {i + 1}: {again[-1]['seconds']:.1f} s, rc {again[-1]['rc']}, "
                f"changed={again[-1]['changed']}")
        out["nochange"] = {"runs": again, "seconds": summary([r["seconds"] for r in again], 2),
                           "changed": [r["changed"] for r in again], "target_s": 60.0,
                           "met": all(r["rc"] == 0 and r["changed"] == 0 for r in again)
                           and summary([r["seconds"] for r in again])["median"] <= 60.0}
        brokers = inventory_brokers()
        if len(brokers) > 1:
            out["roll"] = roll(logs, brokers, nochange_runs)
        return out
    finally:
        secs, res = lab("down", timeout=600)
        out["lab_down_s"] = round(secs, 2)
        log(f"lab ({topology}): down in {secs:.0f} s" + ("" if res.returncode == 0 else f" (rc {res.returncode})"))


def inventory_brokers() -> list[str]:
    """The broker group's hosts in the inventory the lab wrote."""
    text = INVENTORY.read_text()
    section = re.search(r"^\[broker\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    return [line.split()[0] for line in (section.group(1) if section else "").splitlines() if line.strip()]


def roll(logs, brokers: list[str], runs: int) -> dict:
    """`site.yml --tags kafka` unchanged, then `runs` times with a broker setting changed."""
    base = playbook("site.yml", logs / "kafka-unchanged.log", "--tags", "kafka")
    log(f"lab: site.yml --tags kafka, nothing changed: {base['seconds']:.1f} s, rc {base['rc']}")
    rolls = []
    for i in range(runs):
        setting = json.dumps({"kafka_server_properties": {ROLL_SETTING: ROLL_VALUES[i % 2]}})
        rolls.append(playbook("site.yml", logs / f"kafka-roll-{i + 1}.log", "--tags", "kafka", "-e", setting))
        log(f"lab: rolling restart {i + 1}: {rolls[-1]['seconds']:.1f} s, rc {rolls[-1]['rc']}, "
            f"{rolls[-1]['broker_restarts']} of {len(brokers)} brokers restarted")
    good = [r["seconds"] for r in rolls if r["rc"] == 0 and r["broker_restarts"] == len(brokers)]
    out = {"brokers": len(brokers), "unchanged": base, "runs": rolls,
           "complete": len(good) == len(rolls) and base["rc"] == 0}
    if good:
        out["seconds"] = summary(good, 2)
        out["per_broker_s"] = round((out["seconds"]["median"] - base["seconds"]) / len(brokers), 1)
    return out
