// applctl ip add | remove | list | assign | unassign (applctl-ip(1)).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/services/ips.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

nlohmann::json ip_json(const IpView& v) {
  return {{"address", v.address},
          {"certificate", v.certificate.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.certificate)},
          {"fingerprint_sha256", v.fingerprint_sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.fingerprint_sha256)}};
}

int emit_changes(Context& ctx, const char* verb, const std::vector<IpChange>& changes) {
  nlohmann::json arr = nlohmann::json::array();
  Table t({"ADDRESS", "STATUS", "CERTIFICATE"});
  for (const auto& c : changes) {
    nlohmann::json j = ip_json(c.now);
    j["status"] = c.status;
    arr.push_back(j);
    t.add({c.address, c.status, c.now.certificate.empty() ? "-" : c.now.certificate});
    spdlog::info("ip {}: {} {}", verb, c.address, c.status);
  }
  ctx.emit(arr, t.str(), true);
  return 0;
}

std::shared_ptr<std::vector<std::string>> add_addresses(CLI::App& app) {
  auto addrs = std::make_shared<std::vector<std::string>>();
  app.add_option("ADDR", *addrs, "IPv4 or IPv6 addresses")->required();
  return addrs;
}

}  // namespace

void setup_ip_add(CLI::App& app, Runner& run) {
  auto addrs = add_addresses(app);
  run = [addrs](Context& ctx) { return emit_changes(ctx, "add", add_ips(ctx.store(), *addrs)); };
}

void setup_ip_remove(CLI::App& app, Runner& run) {
  auto addrs = add_addresses(app);
  run = [addrs](Context& ctx) { return emit_changes(ctx, "remove", remove_ips(ctx.store(), *addrs)); };
}

void setup_ip_unassign(CLI::App& app, Runner& run) {
  auto addrs = add_addresses(app);
  run = [addrs](Context& ctx) { return emit_changes(ctx, "unassign", unassign_ips(ctx.store(), *addrs)); };
}

void setup_ip_assign(CLI::App& app, Runner& run) {
  auto ref = std::make_shared<std::string>();
  app.add_option("CERT", *ref, "Friendly name or fingerprint prefix")->required();
  auto addrs = add_addresses(app);
  run = [ref, addrs](Context& ctx) { return emit_changes(ctx, "assign", assign_ips(ctx.store(), *ref, *addrs)); };
}

void setup_ip_list(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    auto ips = list_ip_views(ctx.store());
    nlohmann::json arr = nlohmann::json::array();
    Table t({"ADDRESS", "CERTIFICATE", "FINGERPRINT"});
    for (const auto& v : ips) {
      arr.push_back(ip_json(v));
      t.add({v.address, v.certificate.empty() ? "-" : v.certificate, v.fingerprint_sha256.substr(0, 16)});
    }
    ctx.emit(arr, ips.empty() ? "no IP addresses\n" : t.str());
    return 0;
  };
}

}  // namespace applctl::cli
