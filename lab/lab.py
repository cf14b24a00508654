#!/usr/bin/env python3
"""The project's hosts on one Linux box: systemd-nspawn containers on one bridge.

    lab.py up [--topology FILE] [--with-outsider]   build/cache the base images, start the hosts, wait until
                                     they run (default: lab/topologies/default.yml, the four hosts)
    lab.py down [--purge]            stop everything `up` made and wait until it is gone (base images stay)
    lab.py status [--check]          each host, its address, container and ssh state
    lab.py ssh [--login] HOST [CMD...]   ssh into a host as root (--login: as its login user) with the lab's key
    lab.py restart HOST [--hard]     orderly reboot of one host (--hard: SIGKILL, a power cut)

Each host boots real systemd (`systemd-nspawn -b`) from an overlayfs mount on a cached Debian 12 or 13 base
image, in its own network namespace whose veth is on the bridge mlab0 (10.213.0.1/24). Python 3 and PyYAML.
Needs root. State lives in .lab/ of the repository; the base images in $LAB_CACHE (/var/cache/monitoring-lab).

Environment: LAB_CACHE (base image cache dir), LAB_MIRROR (Debian mirror URL, default: the controller's
own apt sources), LAB_SECURITY_MIRROR, LAB_DNS (nameserver for the hosts, default: the controller's),
LAB_BOOT_TIMEOUT (seconds, default 120).
"""

# The code is the package nspawnlab/ next to this file (python puts this file's directory on the path).
import sys

from nspawnlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
