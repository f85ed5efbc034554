// The appliance's settings rows (see applctl/store/settings.hpp).
#include "applctl/store/settings.hpp"

#include <string>

#include <nlohmann/json.hpp>

namespace applctl {

std::optional<std::int64_t> setting_id(const Store& store, const char* key) {
  auto v = store.setting(key);
  if (!v) return std::nullopt;
  return std::stoll(*v);
}

std::optional<std::int64_t> default_cert_id(const Store& store) { return setting_id(store, settings::kDefaultCert); }
std::optional<std::int64_t> factory_cert_id(const Store& store) { return setting_id(store, settings::kFactoryCert); }
void set_default_cert_id(Store& store, std::int64_t id) { store.set_setting(settings::kDefaultCert, std::to_string(id)); }
void set_factory_cert_id(Store& store, std::int64_t id) { store.set_setting(settings::kFactoryCert, std::to_string(id)); }

std::vector<std::string> appliance_hostnames(const Store& store) {
  auto v = store.setting(settings::kHostnames);
  if (!v) return {};
  return nlohmann::json::parse(*v).get<std::vector<std::string>>();
}

void set_appliance_hostnames(Store& store, const std::vector<std::string>& hostnames) {
  store.set_setting(settings::kHostnames, nlohmann::json(hostnames).dump());
}

}  // namespace applctl
