// applctl chain show | set | verify (applctl-chain(1)).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/services/chains.hpp"
#include "applctl/verify/verify.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

nlohmann::json chain_json(const ChainReport& r) {
  nlohmann::json links = nlohmann::json::array();
  for (const auto& l : r.links)
    links.push_back({{"friendly_name", l.friendly_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.friendly_name)},
                     {"fingerprint_sha256", l.fingerprint_sha256},
                     {"subject", l.subject},
                     {"issuer", l.issuer},
                     {"role", role_name(l.role)},
                     {"not_after", format_rfc3339(l.not_after)}});
  return {{"mode", r.mode}, {"certificates", links}, {"complete", r.complete},
          {"missing", r.missing.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.missing)}};
}

std::string chain_text(const ChainReport& r) {
  std::string out;
  for (std::size_t i = 0; i < r.links.size(); ++i) {
    const auto& l = r.links[i];
    out += fmt::format("{}{:<12} {}  [{}]  expires {}\n", std::string(i * 2, ' '), role_name(l.role), l.subject,
                       l.friendly_name.empty() ? l.fingerprint_sha256.substr(0, 16) : l.friendly_name, date_of(l.not_after));
  }
  if (!r.complete)
    out += fmt::format("{}missing: {}\n", std::string(r.links.size() * 2, ' '),
                       r.missing.empty() ? "the root certificate" : r.missing);
  out += fmt::format("chain: {} ({})\n", r.complete ? "complete" : "incomplete", r.mode);
  return out;
}

}  // namespace

void setup_chain_show(CLI::App& app, Runner& run) {
  auto ref = std::make_shared<std::string>();
  app.add_option("CERT", *ref, "Friendly name or fingerprint prefix")->required();
  run = [ref](Context& ctx) {
    ChainReport r = show_chain(ctx.store(), *ref);
    ctx.emit(chain_json(r), chain_text(r));
    return 0;
  };
}

void setup_chain_set(CLI::App& app, Runner& run) {
  struct Opts {
    std::string ref, manual;
    bool automatic = false, current = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("CERT", o->ref, "Friendly name or fingerprint prefix")->required();
  auto* a = app.add_flag("--automatic", o->automatic, "Build the chain from the store's certificates each time");
  auto* c = app.add_flag("--current", o->current, "Freeze the chain as it is built now");
  auto* m = app.add_option("--manual", o->manual, "Use the certificates of FILE.pem (issuer first, root last)");
  a->excludes(c)->excludes(m);
  c->excludes(m);
  run = [o](Context& ctx) {
    if (!o->automatic && !o->current && o->manual.empty())
      fail(ErrorKind::Usage, "chain set needs one of --automatic, --current, --manual FILE");
    ChainMode mode = o->automatic ? ChainMode::Automatic : o->current ? ChainMode::Current : ChainMode::Manual;
    ChainReport r = set_chain(ctx.store(), o->ref, mode, o->manual);
    spdlog::info("chain set: '{}' {}", o->ref, r.mode);
    ctx.emit(chain_json(r), chain_text(r), true);
    return 0;
  };
}

void setup_chain_verify(CLI::App& app, Runner& run) {
  struct Opts {
    std::string ref, file, hostname, ip, at, purpose = "server";
    std::vector<std::string> roots, untrusted;
    bool system_roots = false;
    int max_depth = -1;
  };
  auto o = std::make_shared<Opts>();
  auto* cert = app.add_option("CERT", o->ref, "A stored certificate (friendly name or fingerprint prefix)");
  auto* file = app.add_option("--file", o->file, "Verify the first certificate of FILE; the rest are intermediates");
  cert->excludes(file);
  app.add_option("--roots", o->roots, "Trust anchors from FILE (repeatable); default: the store's roots");
  app.add_flag("--system-roots", o->system_roots, "Trust the system's CA certificates");
  app.add_option("--untrusted", o->untrusted, "Candidate intermediates from FILE (repeatable)");
  app.add_option("--hostname", o->hostname, "Check that the certificate covers this DNS name");
  app.add_option("--ip", o->ip, "Check that the certificate covers this IP address");
  app.add_option("--at", o->at, "Verify at this RFC 3339 time instead of now");
  app.add_option("--purpose", o->purpose, "server | client | any")->check(CLI::IsMember({"server", "client", "any"}));
  app.add_option("--max-depth", o->max_depth, "At most N intermediates between leaf and anchor")->check(CLI::NonNegativeNumber);
  run = [o](Context& ctx) {
    if (o->ref.empty() && o->file.empty()) fail(ErrorKind::Usage, "chain verify needs CERT or --file FILE");
    VerifyPolicy p;
    p.purpose = parse_purpose(o->purpose);
    if (!o->hostname.empty()) p.hostname = o->hostname;
    if (!o->ip.empty()) p.ip = o->ip;
    if (!o->at.empty()) p.at = parse_rfc3339(o->at);
    if (o->max_depth >= 0) p.max_depth = o->max_depth;
    p.system_roots = o->system_roots;
    p.roots = read_certificate_files(o->roots);
    p.untrusted = read_certificate_files(o->untrusted);
    Bytes leaf;
    if (!o->file.empty()) {
      std::vector<Bytes> certs = read_certificate_files({o->file});
      leaf = std::move(certs.front());
      p.untrusted.insert(p.untrusted.end(), std::make_move_iterator(certs.begin() + 1), std::make_move_iterator(certs.end()));
    } else {
      CertRow row = ctx.store().resolve_cert(o->ref);
      leaf = ctx.store().cert_der(row.id);
      for (const auto& der : chain_for_export(ctx.store(), row)) p.untrusted.push_back(der);
    }
    // Without --roots / --system-roots the store's root certificates are the trust anchors.
    if (o->roots.empty() && !o->system_roots)
      for (const auto& r : ctx.store().list_certs())
        if (r.role == Role::Root) p.roots.push_back(ctx.store().cert_der(r.id));
    VerifyResult v = verify_chain(leaf, p);
    nlohmann::json path = nlohmann::json::array();
    Table t({"DEPTH", "ROLE", "STATUS", "SUBJECT"});
    for (std::size_t i = 0; i < v.path.size(); ++i) {
      const auto& e = v.path[i];
      path.push_back({{"fingerprint_sha256", e.fingerprint_sha256}, {"subject", e.subject},
                      {"role", role_name(e.role)}, {"status", e.status}});
      t.add({std::to_string(i), std::string(role_name(e.role)), e.status, e.subject});
    }
    nlohmann::json doc = {{"valid", v.valid},
                          {"reason", v.valid ? nlohmann::json(nullptr) : nlohmann::json(v.reason)},
                          {"detail", v.detail},
                          {"path", path},
                          {"checked_at", format_rfc3339(v.checked_at)}};
    std::string human = v.valid ? "valid\n" : fmt::format("invalid: {} ({})\n", v.reason, v.detail);
    ctx.emit(doc, human + t.str());
    return verdict(v.valid ? 0 : static_cast<int>(ErrorKind::Verification));
  };
}

}  // namespace applctl::cli
