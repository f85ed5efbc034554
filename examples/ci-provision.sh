#!/usr/bin/env bash
# Provision a test appliance's certificates in a CI job: non-interactive, idempotent, fast.
# Run it twice and nothing changes the second time (init is idempotent; existing names are kept).
set -euo pipefail
export APPLCTL_STORE=${APPLCTL_STORE:-$PWD/appliance-store}
applctl init --hostname appliance.ci.example.com
if ! applctl --json cert show web >/dev/null 2>&1; then
  applctl cert self-signed --name web --key ec:P-256 --cn appliance.ci.example.com --days 30
fi
applctl ip add 127.0.0.2
applctl ip assign web 127.0.0.2
applctl cert default web
# Fail the pipeline when anything is wrong with the certificate set.
applctl --json cert list | python3 -c 'import json,sys; bad=[c for c in json.load(sys.stdin) if c["friendly_name"]=="web" and not c["private_key"]]; sys.exit(1 if bad else 0)'
applctl cert check web --expires-in 7d
