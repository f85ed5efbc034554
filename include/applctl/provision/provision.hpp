// Declarative provisioning: an APPLIANCE.yaml file (schema `version: 1`, see applctl-appliance(5))
// describes hostnames, certificates, IP addresses, the default certificate and the KMIP settings;
// `apply` brings a store to that state in one transaction, and `export-config` writes a store as
// such a file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "applctl/codec/codec.hpp"
#include "applctl/kmip/config.hpp"
#include "applctl/x509/names.hpp"
#include "applctl/store/store.hpp"

namespace applctl {

// Where a value sits in the file, for messages: "appliance.yaml:12:5".
struct FilePos {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string str() const;
};

// A secret named by the file: `passphrase_env: VAR` or `passphrase_file: PATH`; never inline.
struct SecretRef {
  std::string env;   // variable name
  std::string file;  // absolute path
  bool empty() const { return env.empty() && file.empty(); }
};

struct SelfSignedSpec {
  KeySpec key;
  Subject subject;
  std::vector<San> sans;  // built as `cert self-signed` builds them (CN first when a DNS name)
  int days = 365;
};

// A certificate (and maybe its key and chain) to import, read and decoded while loading.
struct ImportSpec {
  std::string source;  // the file named, or "<inline pem>" / "<inline p12>" for embedded data
  Decoded decoded;
};

struct CertificateSpec {
  FilePos pos;
  std::string name;
  bool factory_default = false;
  std::optional<SelfSignedSpec> self_signed;  // exactly one of self_signed and import
  std::optional<ImportSpec> import;
};

struct IpSpec {
  FilePos pos;
  std::string address;      // canonical
  std::string certificate;  // friendly name; "" = the factory default
};

// The KMIP settings the file gives, read and checked while loading as `kmip configure` checks its
// inputs (the CA parses, the client key matches its certificate, the secrets are there).
struct KmipSpec {
  FilePos pos;
  KmipConfig config;  // everything but the negotiated version; holds the client key and password
  std::string client_subject;
  std::string client_fingerprint_sha256;
  bool test = true;   // false with `no_test: true`: saved without contacting the server
  std::vector<std::string> warnings;  // an expired client certificate, a user without a password
};

struct ApplianceFile {
  std::string file;  // as given ("-" for stdin)
  std::optional<std::vector<std::string>> hostnames;
  std::vector<CertificateSpec> certificates;
  std::optional<std::vector<IpSpec>> ips;  // absent: IP addresses are left as they are
  std::optional<std::string> default_cert;
  FilePos default_pos;
  std::optional<KmipSpec> kmip;  // absent: the KMIP settings are left as they are (even with --prune)
};

// Parses and validates the whole file before anything else happens: YAML syntax, unknown keys,
// wrong types, invalid names, countries, SANs and addresses, missing environment variables or
// passphrase files, inline secrets, unreadable certificate files, KMIP inputs that `kmip
// configure` would refuse (a CA that does not parse, a client key that does not match its
// certificate). Every error is BadInput and
// names file:line:column. `text` is the file's content; relative paths are relative to base_dir.
ApplianceFile load_appliance(const std::string& text, const std::string& file, const std::filesystem::path& base_dir);
ApplianceFile load_appliance_file(const std::string& path);  // "-" reads standard input

struct PlanAction {
  char op = '+';           // '+' create, '~' change, '-' remove
  std::string kind;        // "hostnames" | "certificate" | "factory-default" | "ip" | "default" | "kmip"
  std::string name;        // the certificate's name, the address, ...
  std::string detail;      // what changes, for people
};

struct ApplyRequest {
  ApplianceFile file;
  bool dry_run = false;
  bool prune = false;
};

struct ApplyResult {
  std::vector<PlanAction> actions;
  bool changed = false;  // actions were carried out (false for a dry run or nothing to do)
  std::vector<std::string> warnings;  // about what was planned (an expired KMIP client certificate)
};

// Plans the changes that bring the store to the file's state and, unless dry_run, carries them
// out in one transaction. Keys are generated and certificates signed before the transaction.
// Running it twice changes nothing the second time. The store may be ReadOnly for a dry run.
// Changed KMIP settings are tested against the server (DiscoverVersions + Query) before the
// transaction (a failure is Remote and changes nothing), saved to STORE/kmip.json inside it, and
// put back when it does not commit.
ApplyResult apply_appliance(Store& store, const ApplyRequest& request);

struct ExportConfigRequest {
  std::optional<std::filesystem::path> dir;  // none: one self-contained YAML document on stdout
  SecretRef passphrase;                      // required when a certificate has a private key
};

struct ExportedFile {
  std::string path;  // relative to dir
  Bytes data;
  bool secret = false;  // holds a (passphrase-encrypted) private key: written 0600
};

struct ExportConfigResult {
  std::string yaml;
  std::vector<ExportedFile> files;  // empty without dir: the certificates are embedded in the YAML
  int certificates = 0;
  int keys = 0;                    // of certificates
  bool kmip = false;               // the KMIP settings are in the file (with the client key in a PKCS#12)
  std::string kmip_password_env;   // the variable the file names for the KMIP password, which is not exported
};

// The store's state as an APPLIANCE.yaml that apply accepts: every certificate by name (those
// with a private key inside a PKCS#12 encrypted with the given passphrase; the others as PEM),
// the factory default, hostnames, IP addresses, the default certificate and the KMIP settings
// (the CA, the client certificate and key in such a PKCS#12; the password only as the name of an
// environment variable to set, kKmipPasswordEnv).
inline constexpr const char* kKmipPasswordEnv = "KMIP_PASSWORD";
ExportConfigResult export_config(const Store& store, const ExportConfigRequest& request);
// Writes the result under dir (created 0700 if missing): the YAML as appliance.yaml, key files
// 0600. Refused when a file exists and force is false; checked before anything is written.
void write_export(const std::filesystem::path& dir, const ExportConfigResult& result, bool force);

// The first line of a secret file, without its line end (naming the file when unreadable).
std::string read_secret_line(const std::string& path);
std::string resolve_secret(const SecretRef& ref);  // the value, or BadInput naming what is missing

}  // namespace applctl
