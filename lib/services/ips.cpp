// The appliance's IP addresses and the certificate each serves (see applctl/services/ips.hpp).
#include "applctl/services/ips.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "applctl/x509/names.hpp"

namespace applctl {

namespace {

std::vector<std::string> canonical_all(const std::vector<std::string>& addresses) {
  if (addresses.empty()) fail(ErrorKind::Usage, "give at least one IP address");
  std::vector<std::string> out;
  for (const auto& a : addresses) {
    auto ip = canonical_ip(a);
    if (!ip) fail(ErrorKind::BadInput, fmt::format("invalid IP address '{}'", a), "IPv4 like 192.0.2.10 or IPv6 like 2001:db8::10");
    if (std::find(out.begin(), out.end(), *ip) == out.end()) out.push_back(*ip);
  }
  return out;
}

std::optional<IpRow> find_ip(const Store& store, const std::string& address) { return store.find_ip(address); }

void require_known(const Store& store, const std::vector<std::string>& addresses) {
  for (const auto& a : addresses)
    if (!find_ip(store, a))
      fail(ErrorKind::NotFound, fmt::format("IP address {} is not on the appliance", a), fmt::format("add it first: applctl ip add {}", a));
}

IpView view_of(const Store& store, const std::string& address) {
  IpView v{address, {}, {}};
  if (auto ip = find_ip(store, address); ip && ip->cert_id)
    if (auto row = store.cert_by_id(*ip->cert_id)) {
      v.certificate = row->friendly_name;
      v.fingerprint_sha256 = row->fingerprint_sha256;
    }
  return v;
}

}  // namespace

std::vector<IpView> list_ip_views(const Store& store) {
  std::vector<IpView> out;
  for (const auto& ip : store.list_ips()) out.push_back(view_of(store, ip.address));
  return out;
}

std::vector<IpChange> add_ips(Store& store, const std::vector<std::string>& addresses) {
  auto ips = canonical_all(addresses);
  ensure_initialized(store);
  auto tx = store.write("ip add");
  std::vector<IpChange> out;
  for (const auto& a : ips) {
    std::string status = "exists";
    if (!find_ip(store, a)) {
      store.add_ip(a, factory_cert_id(store));
      tx.touch("ip:" + a);
      status = "added";
    }
    out.push_back({a, status, view_of(store, a)});
  }
  tx.commit();
  return out;
}

std::vector<IpChange> remove_ips(Store& store, const std::vector<std::string>& addresses) {
  auto ips = canonical_all(addresses);
  auto tx = store.write("ip remove");
  require_known(store, ips);
  std::vector<IpChange> out;
  for (const auto& a : ips) {
    out.push_back({a, "removed", view_of(store, a)});
    store.remove_ip(a);
    tx.touch("ip:" + a);
  }
  tx.commit();
  return out;
}

std::vector<IpChange> assign_ips(Store& store, std::string_view cert_ref, const std::vector<std::string>& addresses) {
  auto ips = canonical_all(addresses);
  auto tx = store.write("ip assign");
  CertRow cert = store.resolve_cert(cert_ref);
  require_servable(cert);
  require_known(store, ips);
  std::vector<IpChange> out;
  for (const auto& a : ips) {
    const bool same = find_ip(store, a)->cert_id == cert.id;
    if (!same) {
      store.assign_ip(a, cert.id);
      tx.touch(fmt::format("ip:{}:cert:{}", a, cert.friendly_name));
    }
    out.push_back({a, same ? "unchanged" : "assigned", view_of(store, a)});
  }
  tx.commit();
  return out;
}

std::vector<IpChange> unassign_ips(Store& store, const std::vector<std::string>& addresses) {
  auto ips = canonical_all(addresses);
  auto tx = store.write("ip unassign");
  require_known(store, ips);
  auto factory = factory_cert_id(store);
  std::vector<IpChange> out;
  for (const auto& a : ips) {
    const bool same = find_ip(store, a)->cert_id == factory;
    if (!same) {
      store.assign_ip(a, factory);
      tx.touch("ip:" + a);
    }
    out.push_back({a, same ? "unchanged" : "unassigned", view_of(store, a)});
  }
  tx.commit();
  return out;
}

}  // namespace applctl
