# The four-host lab on this machine (systemd-nspawn containers on one bridge). Needs root. See lab/README.md.
LAB := $(PYTHON) lab/lab.py
LAB_DEPS := systemd-container debootstrap iptables iproute2 openssh-client ca-certificates debian-archive-keyring util-linux procps

.PHONY: lab-deps lab-up lab-down lab-status lab-purge
lab-deps:
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(LAB_DEPS)

lab-up:
	$(LAB) up

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

# down, then delete the hosts' own dirs under .lab/ (the cached base image stays)
lab-purge:
	$(LAB) down --purge
