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

SniIndex SniIndex::build(const Store& store, UnixTime at) {
  SniIndex idx;
  idx.at_ = at;
  std::unordered_map<std::int64_t, CertRow> by_id;
  for (auto& row : store.list_certs()) {
    if (row.key_id && row.role == Role::Leaf) {
      std::size_t i = idx.certs_.size();
      for (const auto& san : row.alt_names) {
        // An escaped SAN (a control character or non-UTF-8 byte in the certificate) is never served.
        if (!san.starts_with("DNS:") || !matchable_dns_san(std::string_view(san).substr(4))) continue;
        std::string name = normalize_host(std::string_view(san).substr(4));
        if (name.starts_with("*.")) idx.wildcard_[name.substr(2)].push_back(i);
        else idx.exact_[name].push_back(i);
      }
      idx.certs_.push_back(row);
    }
    by_id.emplace(row.id, std::move(row));
  }
  for (const auto& ip : store.list_ips())
    if (ip.cert_id)
      if (auto it = by_id.find(*ip.cert_id); it != by_id.end()) idx.by_address_.emplace(ip.address, it->second);
  if (auto id = default_cert_id(store))
    if (auto it = by_id.find(*id); it != by_id.end()) idx.default_ = it->second;
  return idx;
}

const CertRow* SniIndex::best(const std::vector<std::size_t>& candidates) const {
  const CertRow* pick = nullptr;
  auto rank = [&](const CertRow& c) { return std::make_pair(c.not_before <= at_ && at_ <= c.not_after, c.not_after); };
  for (std::size_t i : candidates)
    if (pick == nullptr || rank(certs_[i]) > rank(*pick)) pick = &certs_[i];
  return pick;
}

std::optional<SniChoice> SniIndex::resolve(std::string_view hostname, std::string_view address) const {
  std::string host = normalize_host(hostname);
  if (!host.empty() && !canonical_ip(host)) {
    if (auto it = exact_.find(host); it != exact_.end()) return SniChoice{*best(it->second), SniRule::ExactSan};
    // A wildcard covers exactly one label: a.example.com matches *.example.com, example.com does not.
    if (auto dot = host.find('.'); dot != std::string::npos)
      if (auto it = wildcard_.find(host.substr(dot + 1)); it != wildcard_.end())
        return SniChoice{*best(it->second), SniRule::WildcardSan};
  }
  if (!address.empty()) {
    std::string addr = canonical_ip(address).value_or(std::string(address));
    if (auto it = by_address_.find(addr); it != by_address_.end()) return SniChoice{it->second, SniRule::Address};
  }
  if (default_) return SniChoice{*default_, SniRule::Default};
  return std::nullopt;
}

}  // namespace applctl
