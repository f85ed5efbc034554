// The appliance as a whole: creating a store with its factory default certificate, the appliance
// hostnames, and `status`. Also the summary of one certificate that every command prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "applctl/store.hpp"

namespace applctl {

inline constexpr const char* kFactoryName = "factory-default";

// One `cert list` object: the stored row plus what the store knows about it.
struct CertSummary {
  CertRow row;
  bool has_key = false;
  bool is_default = false;
  bool factory_default = false;
  std::vector<std::string> ips;
  std::vector<Warning> warnings;  // static ones from the row, then time, key, chain and hostname ones
  std::optional<UnixTime> renewal_due;  // a leaf with its key: when it is due (a third of its lifetime left)
  std::optional<RenewalState> renewal;  // how its renewals went (cert renew), when it has been renewed
};

// What the warnings depend on besides the certificate itself.
struct LintContext {
  UnixTime now = 0;
  std::int64_t soon = 30 * 86400;  // expires-soon window
  std::vector<std::string> hostnames;
};

struct InitRequest {
  std::vector<std::string> hostnames;  // empty: keep the store's, or the machine's host name for a new store
};

struct InitResult {
  bool created = false;            // the factory default certificate was made now
  bool hostnames_changed = false;
  std::vector<std::string> hostnames;
  CertSummary factory;
};

// Creates the store's factory default certificate (self-signed, ec:P-256, for the hostnames,
// marked default) when it has none; idempotent. Store must be open ReadWrite.
InitResult init_appliance(Store& store, const InitRequest& request);
// What every mutating command calls first: init_appliance with no hostnames when the store has no
// factory default certificate yet; nothing otherwise.
void ensure_initialized(Store& store);

std::vector<std::string> appliance_hostnames(const Store& store);
void set_appliance_hostnames(Store& store, const std::vector<std::string>& hostnames);
// The hostnames a new store gets: the store's own when set, else the machine's host name.
std::vector<std::string> initial_hostnames(const Store& store);
// Appliance hostnames: DNS names without wildcards, lower case, duplicates dropped. Throws
// BadInput naming the first invalid one.
std::vector<std::string> checked_hostnames(const std::vector<std::string>& given);

// The factory default certificate (self-signed ec:P-256 for the hostnames, 10 years), made before
// a transaction and installed inside it (as the factory default and the default).
struct FactoryCertificate {
  PrivateKey key;
  Bytes der;
  CertInfo info;
};
FactoryCertificate make_factory_certificate(const std::vector<std::string>& hostnames);
std::int64_t install_factory_certificate(Store& store, const FactoryCertificate& factory);

// In a transaction: new_id takes old's place (its IP addresses, default and factory default
// flags), then old and its key, when nothing else uses it, are removed.
void replace_certificate(Store& store, const CertRow& old, std::int64_t new_id);
// In a transaction: removes a certificate, moving its IP addresses and the default flag to the
// factory default certificate, and its key when nothing else uses it. Returns the moved addresses.
std::vector<std::string> drop_certificate(Store& store, const CertRow& row);

// A friendly name: 1 to 128 characters, no control characters, no leading or trailing space.
// Throws BadInput naming it.
const std::string& checked_friendly_name(const std::string& name);

// Refused (exit 5) unless the certificate can be served: a leaf with its private key.
void require_servable(const CertRow& row);

// Settings keys of the default and the factory default certificate.
std::optional<std::int64_t> default_cert_id(const Store& store);
std::optional<std::int64_t> factory_cert_id(const Store& store);
void set_default_cert_id(Store& store, std::int64_t id);
void set_factory_cert_id(Store& store, std::int64_t id);

struct IpView {
  std::string address;
  std::string certificate;  // friendly name
  std::string fingerprint_sha256;
};

struct RenewalDue {
  std::string friendly_name;
  UnixTime due = 0;
};

struct StatusResult {
  std::string store;
  bool initialized = false;
  std::vector<std::string> hostnames;
  std::int64_t certificates = 0;
  std::int64_t requests = 0;
  std::int64_t unattached_keys = 0;
  std::optional<CertSummary> default_cert;
  std::optional<CertSummary> factory;
  std::vector<IpView> ips;
  std::optional<CertRow> soonest_expiry;
  std::optional<RenewalDue> next_renewal;  // the leaf with its key that becomes due first
  std::vector<std::pair<std::string, std::string>> renewal_failed;  // name, last error
  bool kmip_configured = false;  // STORE/kmip.json exists
  std::string kmip_server;       // its "host:port"
  bool encrypted = false;        // the database file is encrypted (read from the file)
  std::string encryption_key_uid;  // the KMIP key that encrypts it
};

StatusResult appliance_status(const Store& store);

// Summaries of stored certificates (the whole list is built in one pass over the table).
std::vector<CertSummary> summarize(const Store& store, std::vector<CertRow> rows);
CertSummary summarize(const Store& store, CertRow row);

}  // namespace applctl
