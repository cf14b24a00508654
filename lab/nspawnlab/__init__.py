"""The lab: the project's hosts as systemd-nspawn containers on one Linux box (see lab/README.md).

Modules, one concern each:
    shell      running commands, logging, the one-line LabError
    procs      /proc: process state, pid namespaces, mount points
    paths      where the lab keeps its state (.lab/ of the checkout) and the base image cache
    topology   the hosts: names, addresses, inventory groups
    image      the controller's apt sources, nameservers and CAs; the cached debootstrap base image
    network    the bridge, each host's network namespace and veth, NAT (iptables)
    mirror     the Kafka mirror: build/kafka's archives in Apache's layout, served by http.server on the bridge
    host       one host: its overlayfs disk, its identity files, its nspawn container, ssh
    inventory  the files the lab writes for Ansible (.lab/inventory.ini, .lab/lab-vars.yml)
    cli        the commands (up, down, status, ssh, restart) and their arguments
"""
