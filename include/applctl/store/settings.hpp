// The appliance's settings rows (the store's settings table): its hostnames, the default
// certificate SNI falls back to, and the factory default certificate. One place names the keys,
// so the services and `doctor` read the same rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "applctl/store/store.hpp"

namespace applctl::settings {

inline constexpr const char* kHostnames = "hostnames";        // JSON array of DNS names
inline constexpr const char* kFactoryCert = "factory_cert";   // certificate id
inline constexpr const char* kDefaultCert = "default_cert";   // certificate id

}  // namespace applctl::settings

namespace applctl {

// A certificate id kept in a setting; nullopt when the setting is not there.
std::optional<std::int64_t> setting_id(const Store& store, const char* key);

std::optional<std::int64_t> default_cert_id(const Store& store);
std::optional<std::int64_t> factory_cert_id(const Store& store);
void set_default_cert_id(Store& store, std::int64_t id);
void set_factory_cert_id(Store& store, std::int64_t id);

std::vector<std::string> appliance_hostnames(const Store& store);
void set_appliance_hostnames(Store& store, const std::vector<std::string>& hostnames);

}  // namespace applctl
