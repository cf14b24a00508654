# The lab on this machine (systemd-nspawn containers on one bridge). Needs root. See lab/README.md.
# make lab-up LAB_TOPOLOGY=lab/topologies/seven-hosts.yml starts another topology than the four hosts.
LAB := $(PYTHON) lab/lab.py
LAB_DEPS := systemd-container debootstrap iptables iproute2 openssh-client ca-certificates debian-archive-keyring util-linux procps \
	python3-yaml

.PHONY: lab-deps lab-up lab-down lab-status lab-purge
lab-deps:
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(LAB_DEPS)

lab-up:
	$(LAB) up $(if $(LAB_TOPOLOGY),--topology $(LAB_TOPOLOGY))

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

# down, then delete the hosts' own dirs under .lab/ (the cached base image stays)
lab-purge:
	$(LAB) down --purge
