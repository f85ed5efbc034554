// The appliance's IP addresses and the certificate each one serves (seed 001): a new address
// gets the factory default certificate; one certificate per address; only a certificate with its
// private key can be assigned.
#pragma once

#include <string>
#include <vector>

#include "applctl/services/appliance.hpp"

namespace applctl {

struct IpChange {
  std::string address;  // canonical form
  std::string status;   // "added" | "exists" | "removed" | "assigned" | "unassigned" | "unchanged"
  IpView now;           // what serves it afterwards
};

// Each takes several addresses; all are validated first (invalid: BadInput; unknown: NotFound) and
// nothing changes if any fails.
std::vector<IpChange> add_ips(Store& store, const std::vector<std::string>& addresses);
std::vector<IpChange> remove_ips(Store& store, const std::vector<std::string>& addresses);
std::vector<IpChange> assign_ips(Store& store, std::string_view cert_ref, const std::vector<std::string>& addresses);
std::vector<IpChange> unassign_ips(Store& store, const std::vector<std::string>& addresses);
std::vector<IpView> list_ip_views(const Store& store);

}  // namespace applctl
