// Which certificate a TLS client is served (cli.md "Selection"): a certificate with a private key
// whose SAN matches the SNI name (exact before wildcard, then one valid now, then the latest
// expiry) -> else the certificate assigned to the address the client connected to -> else the
// default certificate. The factory default certificate is the last resort: its SANs and its
// default flag never win over a certificate the operator created, imported or enrolled; only an
// address assigned to it (ip add, ip unassign) is honoured as such (man applctl-sni: the numbered
// list). The index is built once from stored columns and answers in O(1) per name.
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
  // The rules over one set of certificates: the operator's, or the factory default alone.
  struct Rules {
    std::vector<CertRow> certs;  // servable: leaf certificates with a private key
    std::unordered_map<std::string, std::vector<std::size_t>> exact;     // dns name -> certs
    std::unordered_map<std::string, std::vector<std::size_t>> wildcard;  // "example.com" for *.example.com
    std::optional<CertRow> default_cert;
    void add(const CertRow& row);
    std::optional<SniChoice> by_name(std::string_view host, UnixTime at) const;  // rules 1 and 2
  };
  UnixTime at_ = 0;
  std::unordered_map<std::string, CertRow> by_address_;  // ip assign, ip add (the factory default)
  Rules operator_;  // every certificate but the factory default
  Rules factory_;   // the factory default certificate, the last resort
};

// Normalizes an SNI host name for lookups: lower case, no trailing dot.
std::string normalize_host(std::string_view host);

}  // namespace applctl
