// One `cert list` object: a stored certificate with what the store knows about it (its key, IP
// addresses, default flags, renewal state) and its warnings (time, key, chain, hostnames). Every
// command that prints a certificate prints one of these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "applctl/store/store.hpp"

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

// Summaries of stored certificates (the whole list is built in one pass over the table).
std::vector<CertSummary> summarize(const Store& store, std::vector<CertRow> rows);
CertSummary summarize(const Store& store, CertRow row);

// One `ip list` object: an address and the certificate serving it.
struct IpView {
  std::string address;
  std::string certificate;  // friendly name
  std::string fingerprint_sha256;
};

}  // namespace applctl
