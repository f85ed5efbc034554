// applctl init | status | doctor (applctl(1)): the store as a whole.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/services/appliance.hpp"
#include "applctl/services/status.hpp"
#include "applctl/services/doctor.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

void setup_init(CLI::App& app, Runner& run) {
  auto hostnames = std::make_shared<std::vector<std::string>>();
  app.add_option("--hostname", *hostnames, "Appliance hostname (FQDN, repeatable); default: the machine's");
  run = [hostnames](Context& ctx) {
    InitResult r = init_appliance(ctx.store(), {*hostnames});
    spdlog::info("init: store {} ({})", ctx.store_dir(), r.created ? "created" : "already initialized");
    nlohmann::json doc = {{"store", ctx.store_dir()},
                          {"created", r.created},
                          {"hostnames_changed", r.hostnames_changed},
                          {"factory_reissued", r.factory_reissued},
                          {"hostnames", r.hostnames},
                          {"factory_default", to_json(r.factory)}};
    std::string human = fmt::format("{} store {}\nhostnames: {}\nfactory default certificate: {} ({}){}\n",
                                    r.created ? "initialized" : "already initialized:", ctx.store_dir(),
                                    fmt::join(r.hostnames, ", "), r.factory.row.friendly_name,
                                    r.factory.row.fingerprint_sha256,
                                    r.factory_reissued ? ", re-issued for the new hostnames" : "");
    ctx.emit(doc, human, true);
    return 0;
  };
}

void setup_status(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    StatusResult s = appliance_status(ctx.store());
    s.store = ctx.store_dir();
    nlohmann::json ips = nlohmann::json::array();
    Table ip_table({"ADDRESS", "CERTIFICATE", "FINGERPRINT"});
    for (const auto& ip : s.ips) {
      ips.push_back({{"address", ip.address}, {"certificate", ip.certificate}, {"fingerprint_sha256", ip.fingerprint_sha256}});
      ip_table.add({ip.address, ip.certificate, ip.fingerprint_sha256.substr(0, 16)});
    }
    nlohmann::json soonest = nullptr;
    if (s.soonest_expiry)
      soonest = {{"friendly_name", s.soonest_expiry->friendly_name},
                 {"not_after", format_rfc3339(s.soonest_expiry->not_after)}};
    nlohmann::json next_renewal = nullptr;
    if (s.next_renewal)
      next_renewal = {{"friendly_name", s.next_renewal->friendly_name}, {"due", format_rfc3339(s.next_renewal->due)}};
    nlohmann::json renewal_failed = nlohmann::json::array();
    for (const auto& [name, error] : s.renewal_failed)
      renewal_failed.push_back({{"friendly_name", name}, {"last_error", error}});
    nlohmann::json doc = {
        {"store", s.store},
        {"initialized", s.initialized},
        {"hostnames", s.hostnames},
        {"certificates", s.certificates},
        {"requests", s.requests},
        {"unattached_keys", s.unattached_keys},
        {"default", s.default_cert ? nlohmann::json(s.default_cert->row.friendly_name) : nlohmann::json(nullptr)},
        {"factory_default", s.factory ? nlohmann::json(s.factory->row.friendly_name) : nlohmann::json(nullptr)},
        {"ips", ips},
        {"soonest_expiry", soonest},
        {"renewal", {{"next_due", next_renewal}, {"failed", renewal_failed}}},
        {"kmip",
         {{"configured", s.kmip_configured},
          {"encrypted", s.encrypted},
          {"key_unique_identifier", s.encrypted ? nlohmann::json(s.encryption_key_uid) : nlohmann::json(nullptr)},
          {"server", s.kmip_server.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.kmip_server)}}},
    };
    Block b;
    b.add("store", s.store + (s.initialized ? "" : " (not initialized)"))
        .add("hostnames", s.hostnames.empty() ? "-" : fmt::format("{}", fmt::join(s.hostnames, ", ")))
        .add("certificates", std::to_string(s.certificates))
        .add("pending requests", std::to_string(s.requests))
        .add("unattached keys", std::to_string(s.unattached_keys))
        .add("default", s.default_cert ? s.default_cert->row.friendly_name : "-")
        .add("factory default", s.factory ? s.factory->row.friendly_name : "-")
        .add("soonest expiry", s.soonest_expiry ? fmt::format("{} ({})", s.soonest_expiry->friendly_name,
                                                              format_rfc3339(s.soonest_expiry->not_after))
                                                : "-")
        .add("next renewal", s.next_renewal ? fmt::format("{} (due {})", s.next_renewal->friendly_name,
                                                          format_rfc3339(s.next_renewal->due))
                                            : "-");
    for (const auto& [name, error] : s.renewal_failed) b.add("renewal failed", fmt::format("{}: {}", name, error));
    b.add("kmip", s.kmip_configured ? "server " + s.kmip_server : "not configured")
        .add("encrypted at rest", s.encrypted ? fmt::format("yes, key {} on {}", s.encryption_key_uid, s.kmip_server) : "no")
        .add("ip addresses", s.ips.empty() ? "none" : std::to_string(s.ips.size()));
    std::string human = b.str();
    if (!s.ips.empty()) human += "\n" + ip_table.str();
    ctx.emit(doc, human);
    return 0;
  };
}

void setup_doctor(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    DoctorReport r = check_store(ctx.store());
    nlohmann::json checks = nlohmann::json::array();
    Table t({"CHECK", "RESULT", "DETAIL"});
    for (const auto& c : r.checks) {
      checks.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
      t.add({c.name, c.ok ? "ok" : "PROBLEM", c.detail});
      if (!c.ok) spdlog::warn("doctor: {}: {}", c.name, c.detail);
    }
    nlohmann::json doc = {{"store", ctx.store_dir()}, {"ok", r.ok()}, {"checks", checks}, {"problems", r.problems()}};
    std::string human = t.str();
    human += r.ok() ? fmt::format("store {}: healthy\n", ctx.store_dir())
                    : fmt::format("store {}: {} problem{}\n", ctx.store_dir(), r.problems(), r.problems() == 1 ? "" : "s");
    ctx.emit(doc, human);
    return verdict(r.ok() ? 0 : static_cast<int>(ErrorKind::Verification));
  };
}

}  // namespace applctl::cli
