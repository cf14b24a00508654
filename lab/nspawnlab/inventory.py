"""The files the lab writes for Ansible: .lab/inventory.ini (the topology's hosts in the project's groups,
and how to log in to each), .lab/lab-vars.yml (local sources the roles use instead of downloads) and, for a
login whose sudo asks for a password, that password in .lab/become/<host> (0600, generated, never in git)."""

import os
import secrets

from .mirror import URL as MIRROR_URL
from .paths import INVENTORY, KEY, LAB_DIR, LAB_VARS, REPO
from .topology import project_groups

BECOME_DIR = os.path.join(LAB_DIR, "become")


def become_password_file(name):
    return os.path.join(BECOME_DIR, name)


def become_password(name):
    """The sudo password of a host's login user: generated once, kept (0600) until the host is purged."""
    path = become_password_file(name)
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        pass
    os.makedirs(BECOME_DIR, mode=0o700, exist_ok=True)
    password = secrets.token_urlsafe(18)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    os.replace(path + ".tmp", path)
    return password


def login_vars(spec):
    """The inventory's per-host login settings; none for root (the [all:vars] default)."""
    if spec.login.user == "root":
        return ""
    out = f" ansible_user={spec.login.user} ansible_become=True"
    if spec.login.sudo == "password":
        # read when Ansible needs it: the password itself stays in its 0600 file
        out += (" ansible_become_password=\"{{ lookup('ansible.builtin.file', "
                f"'{become_password_file(spec.name)}') }}}}\"")
    return out


def write_inventory(topo, inventory=INVENTORY, lab_vars=LAB_VARS, project=None):
    groups, children = project or project_groups()
    lines = [f"# written by lab/lab.py from the topology {topo.source} (the groups of inventory/lab.ini)"]
    listed = set()
    for group in groups:
        lines.append(f"[{group}]")
        for h in topo.grouped():
            if group in h.groups:
                # host vars once, on the host's first line
                login = "" if h.name in listed else login_vars(h)
                lines.append(f"{h.inventory_name} ansible_host={h.address}{login}")
                listed.add(h.name)
        lines.append("")
    for parent, kids in children.items():
        lines += [f"[{parent}:children]"] + kids + [""]
    lines += ["[all:vars]", "ansible_user=root",
              f"ansible_ssh_private_key_file={KEY}",
              "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
              "ansible_python_interpreter=/usr/bin/python3", ""]
    with open(inventory, "w") as f:
        f.write("\n".join(lines))
    # What the lab hands the roles (pass with -e @.lab/lab-vars.yml): extra vars, because group_vars/all.yml
    # would win over inventory vars. Kafka comes the way it comes on real machines, downloaded from a mirror
    # and checked against its .sha512, only the mirror is the lab's own (lab/nspawnlab/mirror.py).
    build = os.path.join(REPO, "build")
    with open(lab_vars, "w") as f:
        f.write("# written by lab/lab.py: the lab's Kafka mirror and local wheels for the lab's hosts\n"
                f"kafka_mirror: \"{MIRROR_URL}\"\n"
                f"app_wheelhouse_src: \"{build}/wheelhouse\"\n"
                f"spark_wheelhouse_src: \"{build}/wheelhouse\"\n")
