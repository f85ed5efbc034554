// applctl cert renew (applctl-cert(1); the other cert verbs are in cmd_cert.cpp): its report of
// renewed, pending, not due and failed certificates.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/services/renew.hpp"
#include "applctl/base/timeutil.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

nlohmann::json renewed_json(const Renewed& r, bool dry_run) {
  nlohmann::json j = {{"friendly_name", r.friendly_name},
                      {"method", method_name(r.method)},
                      {"old_fingerprint", r.old_fingerprint},
                      {"fingerprint_sha256", r.fingerprint_sha256},
                      {"not_after", r.not_after != 0 ? nlohmann::json(format_rfc3339(r.not_after)) : nlohmann::json(nullptr)},
                      {"request", r.request.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.request)},
                      {"rekeyed", r.rekeyed}};
  if (dry_run) j["dry_run"] = true;
  if (!r.hook_error.empty()) j["deploy_hook_error"] = r.hook_error;
  return j;
}

std::string renewed_line(const Renewed& r, bool dry_run) {
  const std::string how(method_name(r.method));
  if (dry_run) return fmt::format("would renew '{}' ({}{})\n", r.friendly_name, how, r.rekeyed ? ", new key" : "");
  std::string line =
      r.method == RenewMethod::CaRequest
          ? fmt::format("renewed '{}' (ca-request{}): request '{}' for the CA (applctl csr show {}), then cert import the "
                        "signed certificate\n",
                        r.friendly_name, r.rekeyed ? ", new key" : "", r.request, r.request)
          : fmt::format("renewed '{}' ({}{}): {}, expires {}\n", r.friendly_name, how, r.rekeyed ? ", new key" : "",
                        r.fingerprint_sha256.substr(0, 16), format_rfc3339(r.not_after));
  if (!r.hook_error.empty()) line += fmt::format("  but: {}\n", r.hook_error);
  return line;
}

// --hook-timeout: a duration of at least one second (30s, 5m); anything else is a usage error.
std::chrono::seconds hook_timeout_flag(const std::string& text) {
  std::int64_t seconds = 0;
  try {
    seconds = parse_duration(text);
  } catch (const Error& e) {
    fail(ErrorKind::Usage, fmt::format("--hook-timeout: {}", e.what()), "a duration such as 90s or 5m");
  }
  if (seconds < 1) fail(ErrorKind::Usage, fmt::format("--hook-timeout: '{}' is shorter than a second", text), "a duration such as 90s or 5m");
  return std::chrono::seconds(seconds);
}

}  // namespace

void setup_cert_renew(CLI::App& app, Runner& run) {
  struct Opts {
    RenewRequest req;
    std::string before;
    std::string key;
    std::string hook_timeout;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("CERT", o->req.refs, "Certificates to renew: friendly names or fingerprint prefixes");
  app.add_flag("--all", o->req.all, "Every server certificate with its private key");
  app.add_option("--before", o->before,
                 "Due when this much is left: a duration (30d, 12h) or a fraction of the lifetime (1/3, the default)");
  app.add_flag("--force", o->req.force, "Renew now, due or not");
  app.add_flag("--rekey", o->req.rekey, "A new key of the same spec");
  app.add_option("--key", o->key, "A new key of this spec (implies --rekey): rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ed25519");
  app.add_option("--deploy-hook", o->req.deploy_hook,
                 "Run with /bin/sh -c once per renewed certificate that changed (APPLCTL_CERT_NAME, "
                 "APPLCTL_CERT_FINGERPRINT, APPLCTL_STORE in its environment)");
  app.add_option("--hook-timeout", o->hook_timeout,
                 "Kill the deploy hook (its whole process group) when it runs longer than this duration "
                 "(default 5m); the renewal stays and is reported as deploy-failed (exit 1)");
  app.add_flag("--dry-run", o->req.dry_run, "Print what would be renewed, change nothing");
  run = [o](Context& ctx) {
    if (!o->before.empty()) o->req.before = parse_renew_before(o->before);
    if (!o->key.empty()) o->req.key = KeySpec::parse(o->key);
    if (!o->hook_timeout.empty()) o->req.hook_timeout = hook_timeout_flag(o->hook_timeout);
    // Certificates from an ACME server are renewed through the ACME client (and their
    // renewalInfo asked for): applctl runs applctl-acme in its place for a store that has any.
    std::unique_ptr<AcmeRenewer> acme;
    if (ctx.store().has_renewal_method("acme")) acme = acme_library(ctx).make_renewer(ctx.store_dir());
    RenewResult r = renew_certificates(ctx.store(), o->req, acme.get());
    nlohmann::json renewed = nlohmann::json::array(), not_due = nlohmann::json::array(),
                   pending = nlohmann::json::array(), failed = nlohmann::json::array();
    std::string human;
    for (const auto& e : r.renewed) {
      renewed.push_back(renewed_json(e, r.dry_run));
      human += renewed_line(e, r.dry_run);
      spdlog::info("cert renew: '{}' {} ({})", e.friendly_name, r.dry_run ? "would be renewed" : "renewed",
                   method_name(e.method));
    }
    for (const auto& p : r.pending) {
      pending.push_back({{"friendly_name", p.friendly_name}, {"request", p.request}});
      human += fmt::format("pending '{}': waiting for the signed certificate of request '{}' (cert import)\n",
                           p.friendly_name, p.request);
    }
    // --quiet (cron): only what changed or needs attention.
    const bool quiet = ctx.globals.quiet;
    for (const auto& n : r.not_due) {
      not_due.push_back({{"friendly_name", n.friendly_name}, {"due", format_rfc3339(n.due)}});
      if (!quiet) human += fmt::format("not due '{}' until {}\n", n.friendly_name, format_rfc3339(n.due));
    }
    std::vector<std::string> errors;
    for (const auto& f : r.failed) {
      failed.push_back(
          {{"friendly_name", f.friendly_name}, {"error", f.error}, {"exit_code", f.exit_code}, {"code", f.code}});
      human += fmt::format("failed '{}': {}\n", f.friendly_name, f.error);
      errors.push_back(fmt::format("{}: {}", f.friendly_name, f.error));
    }
    if (human.empty() && !quiet) human = "no certificates to renew\n";
    nlohmann::json doc = {{"renewed", renewed},
                          {"not_due", not_due},
                          {"pending", pending},
                          {"failed", failed},
                          {"dry_run", r.dry_run},
                          {"before", format_renew_before(o->req.before)}};
    ctx.emit(doc, human);
    return verdict(r.exit_code(), errors);
  };
}

}  // namespace applctl::cli
