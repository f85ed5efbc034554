#!/usr/bin/env bash
# Provision a test appliance's certificates in a CI job: non-interactive, idempotent, fast.
# The appliance is described once (applctl-appliance(5)); `apply` brings the store to it, and a
# second run changes nothing ("changed": false).
set -euo pipefail
export APPLCTL_STORE=${APPLCTL_STORE:-$PWD/appliance-store}
cat >appliance.yaml <<'YAML'
version: 1
hostnames: [appliance.ci.example.com]
certificates:
  - name: web
    self_signed: {key: "ec:P-256", cn: appliance.ci.example.com, days: 30}
ips:
  - {address: 127.0.0.2, certificate: web}
default: web
YAML
applctl --json apply -f appliance.yaml | python3 -c 'import json,sys; print("changed:", json.load(sys.stdin)["changed"])'
# Fail the pipeline when anything is wrong with the certificate set.
applctl cert check web --expires-in 7d
