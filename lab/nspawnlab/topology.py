"""The lab's hosts, read from a topology file (YAML): each host's name, inventory groups, Debian release,
login and address. lab/topologies/default.yml is today's four hosts; lab/README.md describes the format.

The groups a host may be in are the project inventory's (inventory/lab.ini), so the lab's inventory has
exactly the groups the plays use. `up` records the topology it started in .lab/topology.json: the other
commands work on that one.
"""

import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, field

from .paths import LAB_DIR, REPO
from .shell import LabError

TOPOLOGIES = os.path.join(REPO, "lab", "topologies")
DEFAULT = os.path.join(TOPOLOGIES, "default.yml")
PROJECT_INVENTORY = os.path.join(REPO, "inventory", "lab.ini")
RECORDED = os.path.join(LAB_DIR, "topology.json")

RELEASES = ("bookworm", "trixie")
SUDO_MODES = ("nopasswd", "password")
SUBNET = ipaddress.ip_network("10.213.0.0/24")
# .1 is the controller (the bridge); .2-.10 stay free for what the controller serves on the bridge
FIRST_HOST, LAST_HOST = ipaddress.ip_address("10.213.0.11"), ipaddress.ip_address("10.213.0.254")
# the host end of its veth is mlab-<name>, and an interface name has at most 15 characters
NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
NAME_MAX = 10
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
HOST_KEYS = ("name", "groups", "release", "login", "address")
DEFAULT_KEYS = ("release", "login")
OUTSIDER = "outsider"  # the host `up --with-outsider` adds: in no group, so not in the inventory


@dataclass(frozen=True)
class Login:
    user: str = "root"
    sudo: str = ""  # "" for root, else one of SUDO_MODES

    @property
    def label(self):
        return "root" if self.user == "root" else f"{self.user} (sudo {self.sudo})"


@dataclass(frozen=True)
class HostSpec:
    name: str
    address: str
    groups: tuple = ()
    release: str = "bookworm"
    login: Login = field(default_factory=Login)

    @property
    def inventory_name(self):
        # differs from the group names: Ansible warns on every run when a host and a group share one
        return f"{self.name}-node"


@dataclass(frozen=True)
class Topology:
    source: str
    hosts: tuple  # of HostSpec, in the file's order

    def names(self):
        return [h.name for h in self.hosts]

    def get(self, name):
        return next((h for h in self.hosts if h.name == name), None)

    def grouped(self):
        """The hosts in at least one group: the inventory's."""
        return [h for h in self.hosts if h.groups]

    def releases(self):
        return sorted({h.release for h in self.hosts})

    def with_outsider(self):
        if self.get(OUTSIDER):
            return self
        taken = {h.address for h in self.hosts}
        return Topology(self.source, self.hosts + (HostSpec(OUTSIDER, _free_address(taken, self.source, OUTSIDER)),))

    def to_json(self):
        return json.dumps({"source": self.source, "hosts": [asdict(h) for h in self.hosts]}, indent=1)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        hosts = tuple(HostSpec(h["name"], h["address"], tuple(h["groups"]), h["release"], Login(**h["login"]))
                      for h in data["hosts"])
        return cls(data["source"], hosts)


def project_groups(path=PROJECT_INVENTORY):
    """(groups, children) of the project's inventory: the host groups, and {parent: [child groups]}."""
    groups, children, section = [], {}, None
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split(";", 1)[0].strip()
            m = re.fullmatch(r"\[([^\]:]+)(?::(\w+))?\]", line)
            if m:
                section = (m.group(1), m.group(2))
                if m.group(2) is None and m.group(1) not in groups:
                    groups.append(m.group(1))
                elif m.group(2) == "children":
                    children.setdefault(m.group(1), [])
            elif line and section and section[1] == "children":
                children[section[0]].append(line.split()[0])
    return groups, children


def _free_address(taken, source, name):
    ip = FIRST_HOST
    while ip <= LAST_HOST:
        if str(ip) not in taken:
            return str(ip)
        ip += 1
    raise LabError(f"topology {source}: host '{name}': address: none left ({FIRST_HOST}-{LAST_HOST} are all taken)")


def _login(value, where):
    if value == "root" or value == {"user": "root"}:
        return Login()
    if not isinstance(value, dict):
        raise LabError(f"{where}: login: must be root or {{user: NAME, sudo: nopasswd|password}}, not {value!r}")
    unknown = sorted(set(value) - {"user", "sudo"})
    if unknown:
        raise LabError(f"{where}: login: unknown key '{unknown[0]}' (known: user, sudo)")
    user, sudo = value.get("user"), value.get("sudo")
    if not isinstance(user, str) or not USER_RE.fullmatch(user):
        raise LabError(f"{where}: login: user must be a login name (lower case, digits, _ or -), not {user!r}")
    if user == "root":
        raise LabError(f"{where}: login: user root needs no sudo: write login: root")
    if sudo not in SUDO_MODES:
        raise LabError(f"{where}: login: sudo must be one of {', '.join(SUDO_MODES)}, not {sudo!r}")
    return Login(user, sudo)


def parse(data, source, known_groups):
    """A Topology from the file's parsed YAML; LabError with one line naming the host and key."""
    if not isinstance(data, dict):
        raise LabError(f"topology {source}: must be a mapping with a list `hosts`")
    unknown = sorted(set(data) - {"defaults", "hosts"})
    if unknown:
        raise LabError(f"topology {source}: unknown key '{unknown[0]}' (known: defaults, hosts)")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise LabError(f"topology {source}: defaults: must be a mapping (release, login)")
    unknown = sorted(set(defaults) - set(DEFAULT_KEYS))
    if unknown:
        raise LabError(f"topology {source}: defaults: unknown key '{unknown[0]}' (known: {', '.join(DEFAULT_KEYS)})")
    entries = data.get("hosts")
    if not isinstance(entries, list) or not entries:
        raise LabError(f"topology {source}: hosts: must be a non-empty list")
    seen, specs = set(), []
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "name" not in entry:
            raise LabError(f"topology {source}: host #{i}: must be a mapping with a name")
        name = entry["name"]
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or len(name) > NAME_MAX:
            raise LabError(f"topology {source}: host #{i}: name: {name!r} is not a host name of at most "
                           f"{NAME_MAX} characters (lower case letters, digits, inner '-')")
        where = f"topology {source}: host '{name}'"
        if name in seen:
            raise LabError(f"{where}: name: given twice")
        seen.add(name)
        unknown = sorted(set(entry) - set(HOST_KEYS))
        if unknown:
            raise LabError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(HOST_KEYS)})")
        groups = entry.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise LabError(f"{where}: groups: must be a list of group names")
        for g in groups:
            if g not in known_groups:
                raise LabError(f"{where}: groups: unknown group '{g}' (known: {', '.join(known_groups)})")
        release = entry.get("release", defaults.get("release", "bookworm"))
        if release not in RELEASES:
            raise LabError(f"{where}: release: unknown release {release!r} (known: {', '.join(RELEASES)})")
        login = _login(entry.get("login", defaults.get("login", "root")), where)
        address = entry.get("address")
        if address is not None:
            try:
                ip = ipaddress.ip_address(str(address))
            except ValueError:
                raise LabError(f"{where}: address: {address!r} is not an IPv4 address")
            if not FIRST_HOST <= ip <= LAST_HOST:
                raise LabError(f"{where}: address: {address} is outside the hosts' range {FIRST_HOST}-{LAST_HOST}")
            address = str(ip)
        specs.append((name, address, tuple(dict.fromkeys(groups)), release, login))
    taken = {}
    for name, address, *_ in specs:
        if address is not None:
            if address in taken:
                raise LabError(f"topology {source}: host '{name}': address: {address} is host '{taken[address]}''s too")
            taken[address] = name
    hosts = []
    for name, address, groups, release, login in specs:
        if address is None:
            address = _free_address(taken, source, name)
            taken[address] = name
        hosts.append(HostSpec(name, address, groups, release, login))
    return Topology(source, tuple(hosts))


def load(path=DEFAULT, with_outsider=False):
    """The topology in a YAML file (its path as given names it in errors)."""
    try:
        import yaml
    except ImportError:
        raise LabError("the topology file needs PyYAML: install the Debian package python3-yaml (`make lab-deps`)")
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise LabError(f"topology {path}: cannot read it: {e.strerror}")
    except yaml.YAMLError as e:
        raise LabError(f"topology {path}: not YAML: {str(e).splitlines()[0]}")
    inside = os.path.abspath(path).startswith(REPO + os.sep)
    topo = parse(data, os.path.relpath(os.path.abspath(path), REPO) if inside else path, project_groups()[0])
    return topo.with_outsider() if with_outsider else topo


def recorded():
    """The topology the last `up` started (None if none is recorded)."""
    try:
        with open(RECORDED) as f:
            return Topology.from_json(f.read())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record(topo):
    os.makedirs(LAB_DIR, exist_ok=True)
    tmp = RECORDED + ".tmp"
    with open(tmp, "w") as f:
        f.write(topo.to_json() + "\n")
    os.replace(tmp, RECORDED)


def current():
    """The topology the commands other than `up` work on: the recorded one, else the default."""
    return recorded() or load()


def host_names():
    """The host names the CLI accepts: the recorded topology's, the default's and the outsider."""
    names = []
    rec = recorded()
    if rec:
        names += rec.names()
    try:
        names += load(with_outsider=True).names()
    except LabError:
        names.append(OUTSIDER)
    return list(dict.fromkeys(names))
