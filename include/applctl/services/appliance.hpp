// The appliance as a whole: creating a store with its factory default certificate (`init`), the
// appliance hostnames, and the rules every service shares for putting a certificate in or out of
// service (friendly names, servable certificates, replacing and dropping one). The summary of a
// certificate is in summary.hpp, `status` in status.hpp, the settings rows in store/settings.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "applctl/services/summary.hpp"
#include "applctl/store/settings.hpp"
#include "applctl/store/store.hpp"

namespace applctl {

struct InitRequest {
  std::vector<std::string> hostnames;  // empty: keep the store's, or the machine's host name for a new store
};

struct InitResult {
  bool created = false;            // the factory default certificate was made now
  bool hostnames_changed = false;
  bool factory_reissued = false;   // new hostnames: the factory certificate was made again for them
  std::vector<std::string> hostnames;
  CertSummary factory;
};

// Creates the store's factory default certificate (self-signed, ec:P-256, for the hostnames,
// marked default) when it has none; idempotent. New hostnames on a store that has one re-issue
// it for them, in its place (same name, addresses, default flag), with a new key. Store must be
// open ReadWrite.
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

// A friendly name: 1 to 128 characters, valid UTF-8 without control characters, no leading or
// trailing space, and not fingerprint-like (it would shadow a fingerprint prefix: see below).
// Throws BadInput (exit 6) naming it.
const std::string& checked_friendly_name(const std::string& name);
// True when a name could be read as a fingerprint prefix (cli.md: ">= 8 hex digits"): 8 or more
// hex digits and nothing else but colons, which resolve_cert ignores.
bool fingerprint_like(std::string_view name);
// A name made from certificate text (its CN, a PKCS#12 friendlyName) brought within the rules of
// checked_friendly_name: control characters and bytes that are not UTF-8 as \xNN, surrounding
// spaces removed, at most 100 bytes (cut at a character), "certificate" when nothing is left,
// "-cert" appended to a fingerprint-like name. `changes` says which rule changed it, one
// sentence each (empty when it was taken as it is).
struct DerivedName {
  std::string name;
  std::vector<std::string> changes;
};
DerivedName derived_friendly_name(std::string_view text);

// Refused (exit 5) unless the certificate can be served: a leaf with its private key.
void require_servable(const CertRow& row);

}  // namespace applctl
