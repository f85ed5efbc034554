// `applctl status`: the appliance at a glance (hostnames, counts, default and factory
// certificates, addresses, the soonest expiry and renewal, KMIP and encryption state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "applctl/services/summary.hpp"

namespace applctl {

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

}  // namespace applctl
