#!/usr/bin/env bash
# A --deploy-hook for `applctl cert renew`: called once per certificate that was renewed (only
# when it changed), with APPLCTL_CERT_NAME, APPLCTL_CERT_FINGERPRINT and APPLCTL_STORE in its
# environment. It writes the new certificate and key where nginx reads them and reloads nginx
# when its configuration still checks out. A non-zero exit is reported by applctl (exit 1); the
# renewed certificate stays in the store, so running the hook again by hand is safe.
set -euo pipefail
name=${APPLCTL_CERT_NAME:?run by applctl cert renew --deploy-hook}
dir=/etc/nginx/tls
install -d -m 0700 "$dir"
applctl cert export "$name" --format pem --with-chain -o "$dir/$name.crt.new" --force
applctl cert export "$name" --format pkcs8 --no-passphrase --insecure -o "$dir/$name.key.new" --force
mv -f "$dir/$name.key.new" "$dir/$name.key"
mv -f "$dir/$name.crt.new" "$dir/$name.crt"
logger -t applctl "deployed $name ($APPLCTL_CERT_FINGERPRINT) to nginx"
nginx -t && systemctl reload nginx
