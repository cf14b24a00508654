#!/usr/bin/env bash
# make demo: the whole pipeline on the local four-host lab, as a team would run it on theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-1}"
# The live dashboard on consumer1 (dashboard_enabled): site.yml prints its URL at the end.
LAB=(-i .lab/inventory.ini -e @.lab/lab-vars.yml -e dashboard_enabled=true)
started=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m (%ds)\n' "$*" $((SECONDS - started)); }

step "Four hosts: producer, broker, consumer1, consumer2 (python3 lab/lab.py up)"
python3 lab/lab.py up
step "Deploy: ansible-playbook site.yml (Java, Kafka, the app, its services and the dashboard; the producer replays the sample)"
ansible-playbook "${LAB[@]}" site.yml | tee .lab/demo-site.log
step "Analyse: ansible-playbook run-analysis.yml (waits for the consumers, runs both Spark jobs)"
ansible-playbook "${LAB[@]}" run-analysis.yml
step "Collect: ansible-playbook fetch-results.yml"
ansible-playbook "${LAB[@]}" fetch-results.yml

step "Done in $((SECONDS - started)) s. The team CSVs:"
for f in results/team_*_CPU_MEM.csv results/team_*_NET_DISK.csv; do
  printf '\n%s: %d rows\n' "$f" $(($(wc -l < "$f") - 1))
  head -4 "$f"
  printf 'alerts: '
  tail -n +2 "$f" | awk -F, '$NF != "" {n[$NF]++} END {for (a in n) printf "%s=%d; ", a, n[a]; print ""}'
done
# The URL as site.yml printed it (playbooks/dashboard.yml).
dashboard=$(grep -o 'The dashboard: http[^ "]*' .lab/demo-site.log | tail -1)
printf '\n%s  (the live windows and alerts; it updates itself)\n' "${dashboard:-The dashboard: no URL found in the output of site.yml}"
cat <<'TXT'

The lab is still up, for a look around:
  python3 lab/lab.py ssh consumer1 'journalctl -u monitoring-consumer1 -n 20'
  python3 lab/lab.py ssh broker 'systemctl status kafka'
  make lab-down        # when done: removes the hosts, namespaces, bridge and NAT rule
TXT
