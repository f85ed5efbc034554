#!/usr/bin/env bash
# Hand a certificate from the appliance store to nginx or haproxy. nginx cannot read an encrypted
# key, so the key is exported unencrypted, on purpose (--no-passphrase --insecure), into a 0600 file.
set -euo pipefail
name=${1:?usage: deploy-nginx.sh CERT}
dir=/etc/nginx/tls
install -d -m 0700 "$dir"
applctl cert export "$name" --format pem --with-chain -o "$dir/$name.crt" --force
applctl cert export "$name" --format pkcs8 --no-passphrase --insecure -o "$dir/$name.key" --force
# haproxy wants certificate, chain and key in one file:
cat "$dir/$name.crt" "$dir/$name.key" > "$dir/$name.haproxy.pem" && chmod 0600 "$dir/$name.haproxy.pem"
applctl chain verify "$name" && nginx -t && systemctl reload nginx
