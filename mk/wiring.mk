# make wiring: playbooks/vars/wiring.yml, the facts of app/monitoring/wiring.py that Ansible needs.
# tests/lint/test_wiring_written_once.py fails when the committed file is not what this writes.
WIRING_VARS := playbooks/vars/wiring.yml

.PHONY: wiring
wiring: setup
	$(VPY) -m monitoring describe --ansible-vars > $(WIRING_VARS).tmp
	mv $(WIRING_VARS).tmp $(WIRING_VARS)
