#!/bin/sh
# A --deploy-hook for `applctl cert renew`: runs once per renewed certificate that changed, with
# APPLCTL_CERT_NAME, APPLCTL_CERT_FINGERPRINT and APPLCTL_STORE in its environment. It hands the
# new certificate to nginx (deploy-nginx.sh) and reloads it; a non-zero exit is reported by
# cert renew (exit 1) while the renewal itself stays.
set -eu
: "${APPLCTL_CERT_NAME:?run by applctl cert renew --deploy-hook}"
logger -t applctl "renewed $APPLCTL_CERT_NAME ($APPLCTL_CERT_FINGERPRINT) in $APPLCTL_STORE"
exec "$(dirname "$0")/deploy-nginx.sh" "$APPLCTL_CERT_NAME"
