"""The files the lab writes for Ansible: .lab/inventory.ini (the hosts, their groups, how to log in) and
.lab/lab-vars.yml (local sources the roles use instead of downloads)."""

import os

from .paths import INVENTORY, KEY, LAB_VARS, REPO
from .topology import HOSTS


def write_inventory(inventory=INVENTORY, lab_vars=LAB_VARS):
    # Host names differ from group names: Ansible warns on every run when a host and a group share one.
    lines = ["# written by lab/lab.py: the local four-host lab (same groups as inventory/lab.ini)"]
    for name, ip in HOSTS.items():
        lines += [f"[{name}]", f"{name}-node ansible_host={ip}", ""]
    lines += ["[consumers:children]", "consumer1", "consumer2", "", "[all:vars]", "ansible_user=root",
              f"ansible_ssh_private_key_file={KEY}",
              "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'",
              "ansible_python_interpreter=/usr/bin/python3", ""]
    with open(inventory, "w") as f:
        f.write("\n".join(lines))
    # What the lab hands the roles instead of downloads (pass with -e @.lab/lab-vars.yml): extra vars,
    # because group_vars/all.yml would win over inventory vars.
    build = os.path.join(REPO, "build")
    with open(lab_vars, "w") as f:
        f.write("# written by lab/lab.py: local sources for the lab's hosts\n"
                f"kafka_archive_src: \"{build}/kafka/kafka_{{{{ kafka_scala_version }}}}-{{{{ kafka_version }}}}.tgz\"\n"
                f"app_wheelhouse_src: \"{build}/wheelhouse\"\n"
                f"spark_wheelhouse_src: \"{build}/wheelhouse\"\n")
