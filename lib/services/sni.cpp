// Which certificate a TLS client is served, by the selection rules (see applctl/services/sni.hpp).
#include "applctl/services/sni.hpp"

#include <algorithm>
#include <cctype>

#include "applctl/services/appliance.hpp"
#include "applctl/x509/names.hpp"

namespace applctl {

std::string_view rule_name(SniRule r) {
  switch (r) {
    case SniRule::ExactSan: return "exact-san";
    case SniRule::WildcardSan: return "wildcard-san";
    case SniRule::Address: return "address";
    case SniRule::Default: return "default";
  }
  return "default";
}

std::string normalize_host(std::string_view host) {
  std::string h(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  return h;
}

void SniIndex::Rules::add(const CertRow& row) {
  std::size_t i = certs.size();
  for (const auto& san : row.alt_names) {
    // An escaped SAN (a control character or non-UTF-8 byte in the certificate) is never served.
    if (!san.starts_with("DNS:") || !matchable_dns_san(std::string_view(san).substr(4))) continue;
    std::string name = normalize_host(std::string_view(san).substr(4));
    if (name.starts_with("*.")) wildcard[name.substr(2)].push_back(i);
    else exact[name].push_back(i);
  }
  certs.push_back(row);
}

std::optional<SniChoice> SniIndex::Rules::by_name(std::string_view host, UnixTime at) const {
  if (host.empty()) return std::nullopt;
  auto best = [&](const std::vector<std::size_t>& candidates) {
    const CertRow* pick = nullptr;
    auto rank = [&](const CertRow& c) { return std::make_pair(c.not_before <= at && at <= c.not_after, c.not_after); };
    for (std::size_t i : candidates)
      if (pick == nullptr || rank(certs[i]) > rank(*pick)) pick = &certs[i];
    return *pick;
  };
  if (auto it = exact.find(std::string(host)); it != exact.end()) return SniChoice{best(it->second), SniRule::ExactSan};
  // A wildcard covers exactly one label: a.example.com matches *.example.com, example.com does not.
  if (auto dot = host.find('.'); dot != std::string_view::npos)
    if (auto it = wildcard.find(std::string(host.substr(dot + 1))); it != wildcard.end())
      return SniChoice{best(it->second), SniRule::WildcardSan};
  return std::nullopt;
}

SniIndex SniIndex::build(const Store& store, UnixTime at) {
  SniIndex idx;
  idx.at_ = at;
  const auto factory_id = factory_cert_id(store);
  auto rules_of = [&](std::int64_t id) -> Rules& { return id == factory_id ? idx.factory_ : idx.operator_; };
  std::unordered_map<std::int64_t, CertRow> by_id;
  for (auto& row : store.list_certs()) {
    if (row.key_id && row.role == Role::Leaf) rules_of(row.id).add(row);
    by_id.emplace(row.id, std::move(row));
  }
  for (const auto& ip : store.list_ips())
    if (ip.cert_id)
      if (auto it = by_id.find(*ip.cert_id); it != by_id.end()) idx.by_address_.emplace(ip.address, it->second);
  if (auto id = default_cert_id(store))
    if (auto it = by_id.find(*id); it != by_id.end()) rules_of(*id).default_cert = it->second;
  return idx;
}

std::optional<SniChoice> SniIndex::resolve(std::string_view hostname, std::string_view address) const {
  std::string host = normalize_host(hostname);
  if (canonical_ip(host)) host.clear();  // an IP address instead of a name: no name rule applies
  // 1, 2: the operator's certificates by name.
  if (auto choice = operator_.by_name(host, at_)) return choice;
  // 3: the certificate assigned to the address (the factory default too, when assigned to it).
  if (!address.empty()) {
    std::string addr = canonical_ip(address).value_or(std::string(address));
    if (auto it = by_address_.find(addr); it != by_address_.end()) return SniChoice{it->second, SniRule::Address};
  }
  // 4: the default certificate, when the operator chose one of theirs.
  if (operator_.default_cert) return SniChoice{*operator_.default_cert, SniRule::Default};
  // 5, 6: the last resort, the factory default certificate: by name, else as the default.
  if (auto choice = factory_.by_name(host, at_)) return choice;
  if (factory_.default_cert) return SniChoice{*factory_.default_cert, SniRule::Default};
  return std::nullopt;
}

}  // namespace applctl
