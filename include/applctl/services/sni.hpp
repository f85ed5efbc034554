// Which certificate a TLS client is served (cli.md "Selection"): a certificate with a private key
// whose SAN matches the SNI name (exact before wildcard, then one valid now, then the latest
// expiry) -> else the certificate assigned to the address the client connected to -> else the
// default certificate. The index is built once from stored columns and answers in O(1) per name.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "applctl/store/store.hpp"

namespace applctl {

enum class SniRule { ExactSan, WildcardSan, Address, Default };
std::string_view rule_name(SniRule r);  // "exact-san" | "wildcard-san" | "address" | "default"

struct SniChoice {
  CertRow cert;
  SniRule rule;
};

class SniIndex {
 public:
  static SniIndex build(const Store& store, UnixTime at);
  // hostname: the SNI name ("" when the client sent none); address: the local address the client
  // connected to ("" when unknown). nullopt only when the store has no default certificate.
  std::optional<SniChoice> resolve(std::string_view hostname, std::string_view address) const;

 private:
  UnixTime at_ = 0;
  std::vector<CertRow> certs_;  // servable: leaf certificates with a private key
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;     // dns name -> certs_
  std::unordered_map<std::string, std::vector<std::size_t>> wildcard_;  // "example.com" for *.example.com
  std::unordered_map<std::string, CertRow> by_address_;
  std::optional<CertRow> default_;
  const CertRow* best(const std::vector<std::size_t>& candidates) const;
};

// Normalizes an SNI host name for lookups: lower case, no trailing dot.
std::string normalize_host(std::string_view host);

}  // namespace applctl
