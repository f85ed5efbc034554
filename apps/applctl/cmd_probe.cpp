// applctl probe (applctl(1)): connect to a TLS server as a client and report what it serves,
// whether it verifies and, with --expect, whether it serves a stored certificate.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/verify/probe.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

std::string yes_no(bool b) { return b ? "yes" : "no"; }

nlohmann::json null_if_empty(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

void setup_probe(CLI::App& app, Runner& run) {
  struct Opts {
    std::string target, sni, hostname, expect;
    std::vector<std::string> roots;
    double timeout = 10;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("HOST:PORT", o->target, "The server: name or address, and port (IPv6 as [2001:db8::1]:443)")->required();
  auto* sni = app.add_option("--sni", o->sni, "SNI name to send (default: HOST when it is a name; \"\" sends none)");
  app.add_option("--roots", o->roots, "Trust anchors from FILE (repeatable); default: the system's");
  auto* hostname = app.add_option("--hostname", o->hostname, "Name the certificate must cover (default: the SNI name)");
  auto* expect = app.add_option("--expect", o->expect, "The served leaf must be this stored certificate (exit 3 if not)");
  app.add_option("--timeout", o->timeout, "Seconds for connect and handshake together")->check(CLI::Range(0.1, 600.0));
  run = [o, sni, hostname, expect](Context& ctx) {
    ProbeRequest req;
    req.target = o->target;
    if (sni->count() > 0) req.sni = o->sni;
    if (hostname->count() > 0) req.hostname = o->hostname;
    req.timeout = seconds_to_ms(o->timeout);
    req.roots = read_certificate_files(o->roots);
    std::string expected_name;
    if (expect->count() > 0) {  // the only use of the store
      CertRow row = ctx.store().resolve_cert(o->expect);
      req.expected_fingerprint = row.fingerprint_sha256;
      expected_name = row.friendly_name;
    }
    ProbeResult r = probe(req);

    nlohmann::json chain = nlohmann::json::array();
    Table t({"#", "SUBJECT", "ISSUER", "EXPIRES", "FINGERPRINT", "ALT NAMES"});
    for (std::size_t i = 0; i < r.chain.size(); ++i) {
      const CertInfo& c = r.chain[i].info;
      chain.push_back({{"subject", c.subject},
                       {"issuer", c.issuer},
                       {"not_before", format_rfc3339(c.not_before)},
                       {"not_after", format_rfc3339(c.not_after)},
                       {"fingerprint_sha256", c.fingerprint_sha256},
                       {"alt_names", c.alt_names},
                       {"role", role_name(c.role)}});
      t.add({std::to_string(i), c.subject, c.issuer, date_of(c.not_after), c.fingerprint_sha256.substr(0, 16),
             c.alt_names.empty() ? "-" : fmt::format("{}", fmt::join(c.alt_names, ","))});
    }
    nlohmann::json doc = {{"address", r.address},         {"sni", null_if_empty(r.sni)},
                          {"protocol", r.protocol},       {"cipher", r.cipher},
                          {"chain", chain},               {"verified", r.verified},
                          {"reason", null_if_empty(r.reason)}, {"detail", r.detail},
                          {"hostname", null_if_empty(r.verified_name)}};
    Block b;
    b.add("address", r.address).add("sni", r.sni.empty() ? "-" : r.sni).add("protocol", r.protocol).add("cipher", r.cipher);
    b.add("verified", r.verified ? fmt::format("yes ({})", r.verified_name.empty() ? "no name checked" : r.verified_name)
                                 : fmt::format("no: {} ({})", r.reason, r.detail));
    if (r.expected) {
      doc["expected"] = *r.expected;
      doc["expected_certificate"] = expected_name;
      doc["expected_fingerprint_sha256"] = *req.expected_fingerprint;
      b.add("expected", fmt::format("{} ('{}')", yes_no(*r.expected), expected_name));
    }
    spdlog::info("probe {}: {} {}, {} certificates, verified: {}", r.address, r.protocol, r.cipher, r.chain.size(),
                 yes_no(r.verified));
    ctx.emit(doc, b.str() + "\n" + t.str());
    return verdict(r.ok() ? 0 : static_cast<int>(ErrorKind::Verification));
  };
}

}  // namespace applctl::cli
