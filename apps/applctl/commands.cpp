// The command table: every verb, alphabetical within its group, with the store access it needs
// and the EXAMPLES and EXIT CODES of its --help. Adding a verb: a setup_* function in the
// cmd_<group>*.cpp of its man page (a top-level verb of applctl(1): cmd_<verb>.cpp, or cmd_store.cpp
// for the store as a whole), a row here, a section in man/applctl-<group>.1 (applctl.1 for a
// top-level verb), and tests (tests/cli).
// tests/cli/test_help.cpp walks this table through the binary and the man pages.
#include "cli.hpp"

namespace applctl::cli {

#define EXIT_COMMON "  0 success; 1 failed; 2 usage error"

const std::vector<Group>& groups() {
  static const std::vector<Group> g = {
      {"acme", "An ACME (RFC 8555) certificate authority: the store's account, certificates it issues"},
      {"cert", "Certificates: create, import, list, show, check, renew, export, bundle, rename, remove, default"},
      {"chain", "Chains: show what is served, set the chain mode, verify a path"},
      {"csr", "Certificate signing requests for a CA"},
      {"ip", "The appliance's IP addresses and the certificate each one serves"},
      {"kmip", "The KMIP key server: configure and test the connection, create, read and destroy keys"},
      {"sni", "Which certificate a TLS client is served"},
  };
  return g;
}

const std::vector<Verb>& verbs() {
  static const std::vector<Verb> v = {
      {"", "apply", "Bring the store to the state an APPLIANCE.yaml file describes (plan, then one transaction)",
       StoreUse::Write, setup_apply,
       "  applctl apply -f appliance.yaml --dry-run          # the plan: + create, ~ change, - remove\n"
       "  applctl apply -f appliance.yaml                    # again: \"no changes\"\n"
       "  applctl --json apply -f appliance.yaml --prune | jq .changed\n"
       "  applctl export-config --passphrase-env P | ssh peer applctl apply -f -\n",
       EXIT_COMMON "; 5 store locked;\n"
       "  6 invalid file (YAML syntax, unknown key, wrong type, invalid value, missing environment variable,\n"
       "    inline secret, unreadable certificate file, KMIP inputs kmip configure refuses): file:line:column\n"
       "    in the message, nothing changed; 7 the KMIP server test of changed KMIP settings failed, nothing changed\n"},
      {"", "export-config", "The store as an APPLIANCE.yaml file that apply accepts, with its certificate files",
       StoreUse::Read, setup_export_config,
       "  applctl export-config -o failover/ --passphrase-env P12_PASS   # failover/appliance.yaml + failover/certs/\n"
       "  applctl --store /peer apply -f failover/appliance.yaml         # the same certificates, keys, IPs, default\n"
       "  applctl export-config --passphrase-file pass.txt > appliance.yaml  # one file, certificates embedded\n"
       "  KMIP_PASSWORD=... applctl --store /peer apply -f failover/appliance.yaml  # the KMIP password is not exported\n",
       EXIT_COMMON "; 5 a file in DIR exists (use --force), or keys to export and no passphrase source;\n"
       "  6 unreadable passphrase file or unset environment variable\n"},
      {"", "completion", "Print a bash or zsh completion script for applctl (generated from this command table)",
       StoreUse::None, setup_completion,
       "  applctl completion bash > ~/.local/share/bash-completion/completions/applctl\n"
       "  source <(applctl completion bash)                    # this shell only\n"
       "  applctl completion zsh > ~/.zfunc/_applctl           # a directory in $fpath\n",
       EXIT_COMMON "\n"},
      {"", "doctor", "Check the store's consistency: integrity, certificate columns, keys, references, default",
       StoreUse::Read, setup_doctor,
       "  applctl doctor\n"
       "  applctl --json doctor | jq '.checks[] | select(.ok | not)'\n"
       "  applctl doctor > /dev/null || alert-ops \"applctl store needs attention\"   # from cron\n",
       EXIT_COMMON "; 3 at least one check found a problem (named in the output)\n"},
      {"", "init", "Create the store and its factory default certificate (idempotent)", StoreUse::Write, setup_init,
       "  applctl init --hostname support.example.com\n"
       "  applctl --store /var/lib/applctl init --hostname a.example.com --hostname b.example.com\n",
       EXIT_COMMON "; 6 invalid hostname\n"},
      {"", "probe", "What a TLS server serves (chain, protocol, cipher) and whether it verifies", StoreUse::Read,
       setup_probe,
       "  applctl probe support.example.com:443\n"
       "  applctl probe 192.0.2.10:8443 --sni support.example.com --roots corp-root.pem\n"
       "  applctl --json probe 127.0.0.1:8443 --sni www.example.com --expect web | jq .expected\n",
       EXIT_COMMON "; 3 the chain does not verify, or the leaf is not the --expect certificate;\n"
       "  4 no such --expect certificate; 6 unreadable --roots file; 7 cannot connect or the handshake failed\n"},
      {"", "serve", "A TLS endpoint serving the store's certificates by the SNI and address rules", StoreUse::Read,
       setup_serve,
       "  applctl serve                                        # 127.0.0.1:8443\n"
       "  applctl -v serve --listen 0.0.0.0:443 --listen [::]:443\n"
       "  kill -HUP $(pidof applctl)                           # reload now (changes are also seen within a second)\n",
       EXIT_COMMON " (0 also after SIGTERM or SIGINT); 4 the store has no default certificate;\n"
       "  7 an address cannot be bound (port in use, address not local)\n"},
      {"", "status", "Appliance basics: store, hostnames, IPs, default certificate, counts, soonest expiry",
       StoreUse::Read, setup_status, "  applctl status\n  applctl --json status | jq .soonest_expiry\n",
       EXIT_COMMON "\n"},

      {"acme", "account", "Register the store's ACME account with a server, or find it there again",
       StoreUse::Write, setup_acme_account,
       "  applctl acme account --server https://acme-v02.api.letsencrypt.org/directory --email ops@example.com \\\n"
       "      --accept-tos\n"
       "  applctl acme account --server https://acme.corp.example/directory --email ops@example.com \\\n"
       "      --ca-bundle corp-root.pem --accept-tos\n"
       "  EAB_HMAC=... applctl acme account --server https://acme.zerossl.com/v2/DV90 --email ops@example.com \\\n"
       "      --eab-kid kid-1 --eab-hmac-env EAB_HMAC --accept-tos\n"
       "  applctl --json acme account --server \"$ACME\" --email ops@example.com | jq -r .kid\n"
       "  # moving from lego: its account (found again, not created) and key become the store's\n"
       "  applctl acme account --server https://acme-v02.api.letsencrypt.org/directory --email ops@example.com \\\n"
       "      --account-key ~/.lego/accounts/acme-v02.api.letsencrypt.org/ops@example.com/keys/ops@example.com.key\n",
       EXIT_COMMON "; 5 the server has terms of service and --accept-tos was not given, or it requires\n"
       "  external account binding and --eab-kid was not given;\n"
       "  6 invalid --email or --server URL, an unset or invalid --eab-hmac-env variable, an --account-key\n"
       "  file that is missing, unreadable, not a private key, encrypted, or not an EC P-256 key;\n"
       "  7 the server cannot be reached, its TLS certificate does not verify, or it refused (its problem shown)\n"},
      {"acme", "issue", "Order a certificate from the ACME account's server (http-01 or dns-01), key in the store",
       StoreUse::Write, setup_acme_issue,
       "  applctl acme issue --name web --domain www.example.com --domain example.com\n"
       "  applctl acme issue --name lab --domain lab.example.com --domain 192.0.2.10 --http-port 8080 --key ec:P-384\n"
       "  applctl acme issue --name site --domain www.example.com --webroot /var/www/html\n"
       "  applctl acme issue --name wild --domain example.com --domain '*.example.com' \\\n"
       "      --dns-hook '/usr/local/bin/dns-txt \"$APPLCTL_ACME_ACTION\" \"$APPLCTL_ACME_RECORD_NAME\" \"$APPLCTL_ACME_RECORD_VALUE\"'\n"
       "  applctl --json acme issue --name web --domain www.example.com | jq -r .not_after\n",
       EXIT_COMMON " (1 also: the --dns-hook failed; its exit status shown);\n"
       "  4 the store has no ACME account (applctl acme account);\n"
       "  5 a certificate of that name exists, or the --http-port cannot be had;\n"
       "  6 invalid name, address or --key, a wildcard without --dns-hook, an IP address with --dns-hook;\n"
       "  7 the server cannot be reached, refused, rate-limited (when to retry in the hint), did not validate a name\n"
       "  (the challenge's error shown), or took longer than --timeout\n"},

      {"acme", "show", "The store's ACME account: server, email, status, kid, key thumbprint (no network)",
       StoreUse::Read, setup_acme_show,
       "  applctl acme show\n"
       "  applctl --json acme show | jq -r .kid\n",
       EXIT_COMMON "; 4 the store has no ACME account (applctl acme account)\n"},

      {"cert", "bundle", "Zip for the vendor or support: chain as .p7b, each certificate as .cer, status text; no key",
       StoreUse::Read, setup_cert_bundle, "  applctl cert bundle web -o web-support.zip\n",
       EXIT_COMMON "; 4 no such certificate; 5 FILE exists (use --force)\n"},
      {"cert", "check", "Exit 10 when a certificate is expired or expires within the window", StoreUse::Read,
       setup_cert_check,
       "  applctl cert check                      # every certificate, 30 days\n"
       "  applctl cert check web --expires-in 14d\n"
       "  applctl --json cert check || notify-ops\n",
       EXIT_COMMON "; 4 no such certificate; 6 invalid duration;\n  10 at least one is expired or expires within the window\n"},
      {"cert", "default", "Make a certificate the SNI default", StoreUse::Change, setup_cert_default,
       "  applctl cert default web\n",
       EXIT_COMMON "; 4 no such certificate; 5 it has no private key or is a CA certificate\n"},
      {"cert", "export", "Write a certificate (chain, key) as der, pem, p7b, pkcs8 or p12", StoreUse::Read,
       setup_cert_export,
       "  applctl cert export web --format der -o web.cer                   # for the vendor: no key\n"
       "  applctl cert export web --format pem --with-chain -o web-chain.pem\n",
       EXIT_COMMON "; 4 no such certificate;\n"
       "  5 FILE exists (use --force), no private key, a key export without a passphrase source,\n"
       "    or an ambiguous prefix; 6 the passphrase file is unreadable or its variable unset\n"},
      {"cert", "import", "Import certificates and keys: DER, PEM, PKCS#7, PKCS#12, PKCS#1/SEC1/PKCS#8 keys",
       StoreUse::Write, setup_cert_import,
       "  applctl cert import signed.cer intermediate.cer root.cer     # links the key from csr create\n"
       "  applctl cert import --name corp corp.pfx --passphrase-env PFX_PASS\n"
       "  applctl --json cert import chain.p7b | jq '.[].status'\n",
       EXIT_COMMON "; 5 the name is taken;\n  6 unreadable file, wrong passphrase, or a key that does not match its certificate\n"},
      {"cert", "list", "List certificates with their role, key, default flag, IPs and warnings", StoreUse::Read,
       setup_cert_list, "  applctl cert list\n  applctl --json cert list | jq '.[] | select(.warnings != [])'\n",
       EXIT_COMMON "\n"},
      {"cert", "remove", "Remove a certificate (its key too when nothing else uses it)", StoreUse::Change,
       setup_cert_remove, "  applctl cert remove old-2025\n  applctl cert remove web --force   # also when assigned to IPs\n",
       EXIT_COMMON "; 4 no such certificate;\n  5 the factory default, or assigned to IP addresses without --force, or an ambiguous prefix\n"},
      {"cert", "rename", "Change a certificate's friendly name", StoreUse::Change, setup_cert_rename,
       "  applctl cert rename web web-2026\n",
       EXIT_COMMON "; 4 no such certificate; 5 the new name is taken; 6 invalid name\n"},
      {"cert", "renew", "Renew certificates that are due: re-issue self-signed, request CA-signed, re-order ACME",
       StoreUse::Change, setup_cert_renew,
       "  applctl cert renew --all --dry-run                  # what is due, and how it would be renewed\n"
       "  applctl cert renew web --force --rekey              # now, with a new key of the same spec\n"
       "  applctl cert renew --all --before 30d --deploy-hook 'systemctl reload nginx'\n"
       "  17 3 * * * applctl cert renew --all --deploy-hook /usr/local/bin/reload-web   # crontab: daily (11: nothing due)\n"
       "  applctl --json cert renew --all | jq -r '.renewed[].friendly_name'\n",
       "  0 at least one certificate renewed (a CA-signed one: its new request exists) and none failed;\n"
       "  11 nothing was due, nothing changed (--dry-run: nothing would be renewed);\n"
       "  1 a renewal or a deploy hook failed, or the store stayed locked (the others still renewed; the\n"
       "    attempt is recorded); 7 a renewal failed on a remote service (ACME server);\n"
       "  2 usage error (neither CERT nor --all, or both); 4 no such certificate;\n"
       "  5 a named certificate cannot be renewed (no private key, a CA certificate); 6 invalid --before or --key\n"},
      {"cert", "self-signed", "Create a key and a self-signed certificate", StoreUse::Write, setup_cert_self_signed,
       "  applctl cert self-signed --name web --key ec:P-256 --cn support.example.com --san remote.example.com\n"
       "  applctl cert self-signed --name lab --country US --state California --org Acme --cn lab.example.com --days 90\n",
       EXIT_COMMON "; 5 the name is taken; 6 invalid key spec, country, SAN or name\n"},
      {"cert", "show", "Show one certificate: subject, serial, signature, validity, key, chain", StoreUse::Read,
       setup_cert_show, "  applctl cert show web\n  applctl --json cert show 3f2a9c1b | jq .chain\n",
       EXIT_COMMON "; 4 no such certificate; 5 ambiguous fingerprint prefix\n"},

      {"chain", "set", "Choose how the chain is built: --automatic, --current or --manual FILE.pem", StoreUse::Change,
       setup_chain_set,
       "  applctl chain set web --manual web-chain.pem\n  applctl chain set web --current\n  applctl chain set web --automatic\n",
       EXIT_COMMON "; 4 no such certificate; 6 the file is unreadable or its certificates do not chain\n"},
      {"chain", "show", "Show leaf -> intermediates -> root with each role, and what is missing", StoreUse::Read,
       setup_chain_show, "  applctl chain show web\n  applctl --json chain show web | jq .complete\n",
       EXIT_COMMON "; 4 no such certificate\n"},
      {"chain", "verify", "Verify a certificate path (store roots, --roots or --system-roots)", StoreUse::Read,
       setup_chain_verify,
       "  applctl chain verify web --hostname support.example.com\n"
       "  applctl chain verify --file server-chain.pem --roots root.pem --at 2027-01-31T12:00:00Z\n"
       "  applctl --json chain verify --file leaf.pem --system-roots --untrusted inter.pem\n",
       EXIT_COMMON "; 3 the chain does not validate (reason in the output); 4 no such certificate;\n"
       "  6 an input cannot be decoded at all\n"},

      {"csr", "create", "Create a key and a certificate signing request; prints the PEM request", StoreUse::Write,
       setup_csr_create,
       "  applctl csr create --name web --cn support.example.com --org Acme --country US > web.csr\n"
       "  applctl csr create --name web --key ec:P-384 --cn support.example.com -o web.csr\n",
       EXIT_COMMON "; 5 the name is taken or FILE exists; 6 invalid key spec, country, SAN or name\n"},
      {"csr", "list", "List pending requests", StoreUse::Read, setup_csr_list,
       "  applctl csr list\n  applctl --json csr list\n", EXIT_COMMON "\n"},
      {"csr", "remove", "Remove a pending request and its unused key", StoreUse::Change, setup_csr_remove,
       "  applctl csr remove web\n", EXIT_COMMON "; 4 no such request\n"},
      {"csr", "show", "Print a pending request's PEM (byte-identical to csr create -o); details with --json",
       StoreUse::Read, setup_csr_show, "  applctl csr show web > web.csr\n  applctl --json csr show 1\n",
       EXIT_COMMON "; 4 no such request\n"},

      {"ip", "add", "Add IP addresses; each is served by the factory default certificate", StoreUse::Write, setup_ip_add,
       "  applctl ip add 192.0.2.10 2001:db8::10\n", EXIT_COMMON "; 6 invalid address\n"},
      {"ip", "assign", "Serve addresses with a certificate (one certificate per address; needs its private key)",
       StoreUse::Change, setup_ip_assign, "  applctl ip assign web 192.0.2.10\n",
       EXIT_COMMON "; 4 no such certificate or address (add it first);\n"
       "  5 the certificate has no private key or is a CA certificate; 6 invalid address\n"},
      {"ip", "list", "List addresses and the certificate serving each", StoreUse::Read, setup_ip_list,
       "  applctl ip list\n  applctl --json ip list\n", EXIT_COMMON "\n"},
      {"ip", "remove", "Remove IP addresses", StoreUse::Change, setup_ip_remove, "  applctl ip remove 192.0.2.10\n",
       EXIT_COMMON "; 4 no such address; 6 invalid address\n"},
      {"ip", "unassign", "Serve addresses with the factory default certificate again", StoreUse::Change,
       setup_ip_unassign, "  applctl ip unassign 192.0.2.10\n", EXIT_COMMON "; 4 no such address; 6 invalid address\n"},

      {"kmip", "configure", "Save the KMIP server settings after testing them (DiscoverVersions + Query)",
       StoreUse::Write, setup_kmip_configure,
       "  applctl kmip configure --host kms.example.com --ca kms-ca.pem --client-cert appliance.pem \\\n"
       "      --client-key appliance.key\n"
       "  applctl kmip configure --host 192.0.2.20 --port 5696 --ca kms-ca.pem --client-cert appliance.p12 \\\n"
       "      --passphrase-file p12.pass --username appliance --password-env KMIP_PASSWORD\n"
       "  applctl kmip configure --host kms.example.com --ca ca.pem --client-cert c.pem --no-test   # server not up yet\n",
       EXIT_COMMON ";\n  4 on an encrypted store: the new server does not have the store's key;\n"
       "  5 --no-test on an encrypted store, or the server's key is another one;\n"
       "  6 unreadable file, wrong passphrase, or a client key that does not match its certificate;\n"
       "  7 the server cannot be reached, its certificate does not verify, or it refused the test (nothing saved)\n"},
      {"kmip", "create-key", "Create an AES key on the KMIP server and activate it; prints its unique identifier",
       StoreUse::None, setup_kmip_create_key,
       "  applctl kmip create-key --name appliance-data --bits 256\n"
       "  uid=$(applctl kmip create-key --bits 128)\n",
       EXIT_COMMON "; 4 KMIP is not configured; 7 the server cannot be reached or refused\n"},
      {"kmip", "decrypt", "Turn data at rest encryption off: rewrite the store as a plain database",
       StoreUse::None, setup_kmip_decrypt,
       "  applctl kmip decrypt\n"
       "  applctl kmip decrypt && applctl kmip destroy-key \"$uid\"   # retire the key afterwards\n",
       EXIT_COMMON " (the store is unchanged); 4 no store, or KMIP is not configured;\n"
       "  7 the KMIP server cannot be reached or refused to give the key\n"},
      {"kmip", "destroy-key", "Revoke (when active) and destroy a key on the KMIP server", StoreUse::None,
       setup_kmip_destroy_key, "  applctl kmip destroy-key 42\n",
       EXIT_COMMON "; 4 no such key, or KMIP is not configured; 5 the key encrypts this store;\n"
       "  7 the server cannot be reached or refused\n"},
      {"kmip", "encrypt",
       "Turn data at rest encryption on: the store encrypted with a key held by the KMIP server",
       StoreUse::None, setup_kmip_encrypt,
       "  applctl kmip encrypt                      # creates an AES-256 key named applctl-store\n"
       "  applctl kmip encrypt --key 42             # with an existing key\n"
       "  applctl --json kmip encrypt | jq -r .unique_identifier\n",
       EXIT_COMMON " (the store is unchanged); 4 no store, no such key, or KMIP is not configured;\n"
       "  6 the key is not an AES key; 7 the KMIP server cannot be reached or refused\n"},
      {"kmip", "get-key", "Prove a key is retrievable and show its metadata; the key bytes only with --reveal",
       StoreUse::None, setup_kmip_get_key,
       "  applctl kmip get-key 42\n"
       "  applctl --json kmip get-key 42 --reveal | jq -r .key_hex > key.hex\n",
       EXIT_COMMON "; 4 no such key, or KMIP is not configured;\n"
       "  5 --reveal on a terminal without a confirmation, or the object has no key bytes;\n"
       "  7 the server cannot be reached or refused\n"},
      {"kmip", "locate", "The unique identifiers of the AES keys with a given name on the KMIP server",
       StoreUse::None, setup_kmip_locate,
       "  applctl kmip locate --name appliance-data\n"
       "  uid=$(applctl kmip locate --name appliance-data | head -1) || uid=$(applctl kmip create-key --name appliance-data)\n",
       EXIT_COMMON "; 4 no key has that name, or KMIP is not configured; 7 the server cannot be reached or refused\n"},
      {"kmip", "status", "The KMIP settings (never their secrets), the last test and the encryption state",
       StoreUse::None, setup_kmip_status, "  applctl kmip status\n  applctl --json kmip status | jq .configured\n",
       EXIT_COMMON "\n"},
      {"kmip", "test", "Connect with the saved settings: DiscoverVersions + Query; versions, operations, vendor",
       StoreUse::None, setup_kmip_test, "  applctl kmip test\n  applctl --json kmip test | jq .versions\n",
       EXIT_COMMON "; 4 KMIP is not configured; 7 the server cannot be reached, does not verify or refused\n"},

      {"sni", "resolve", "Which certificate a client asking for HOSTNAME (on ADDR) is served, and by which rule",
       StoreUse::Read, setup_sni_resolve,
       "  applctl sni resolve support.example.com\n  applctl --json sni resolve '' --ip 192.0.2.10\n",
       EXIT_COMMON "; 4 the store has no default certificate; 6 invalid address\n"},
  };
  return v;
}

}  // namespace applctl::cli
