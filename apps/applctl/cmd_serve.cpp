// applctl serve, applctl probe
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/codec/codec.hpp"
#include "applctl/verify/probe.hpp"
#include "applctl/serve/serve.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

std::chrono::milliseconds seconds_to_ms(double s) { return std::chrono::milliseconds(std::llround(s * 1000)); }

std::string yes_no(bool b) { return b ? "yes" : "no"; }

nlohmann::json null_if_empty(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

void setup_serve(CLI::App& app, Runner& run) {
  struct Opts {
    std::vector<std::string> listen;
    double timeout = 10, poll = 1;
    std::size_t max_connections = 4096;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--listen", o->listen, "ADDR:PORT to listen on, repeatable (default 127.0.0.1:8443; IPv6 as [::1]:8443)");
  app.add_option("--timeout", o->timeout, "Seconds a client gets for its handshake, and again for its request")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--poll-interval", o->poll, "Seconds between checks of the store for changes (0: only on SIGHUP)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--max-connections", o->max_connections, "Open connections at most; more wait in the backlog")
      ->check(CLI::Range(1, 1'000'000));
  run = [o](Context& ctx) {
    ServeOptions opt;
    for (const auto& l : o->listen) opt.listen.push_back(parse_listen_address(l));
    opt.store_dir = ctx.store_dir();
    opt.client_timeout = seconds_to_ms(o->timeout);
    opt.poll_interval = seconds_to_ms(o->poll);
    opt.max_connections = o->max_connections;
    opt.log_level = ctx.globals.verbosity >= 2 ? ServeLogLevel::Debug
                    : ctx.globals.verbosity == 1 ? ServeLogLevel::Info
                                                 : ServeLogLevel::Warn;
    opt.log = [](ServeLogLevel level, const std::string& msg) {
      switch (level) {
        case ServeLogLevel::Debug: spdlog::debug("serve: {}", msg); break;
        case ServeLogLevel::Info: spdlog::info("serve: {}", msg); break;
        case ServeLogLevel::Warn: spdlog::warn("serve: {}", msg); break;
      }
    };
    opt.on_listening = [&ctx](const std::vector<ListenAddress>& bound) {
      nlohmann::json addrs = nlohmann::json::array();
      std::string human;
      for (const auto& b : bound) {
        addrs.push_back(b.str());
        human += fmt::format("listening on {}\n", b.str());
      }
      ctx.emit({{"listening", addrs}, {"store", ctx.store_dir()}}, human);
    };
    ServeStats s = serve(opt);
    spdlog::info("serve: stopped after {} connections, {} handshakes ({} failed), {} requests, {} reloads", s.connections,
                 s.handshakes, s.failed_handshakes, s.requests, s.reloads);
    return 0;
  };
}

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
    for (const auto& f : o->roots) {
      Decoded d = decode_any(read_file(f), f, {});
      if (d.certificates.empty()) fail(ErrorKind::BadInput, fmt::format("'{}' holds no certificate", f));
      for (auto& c : d.certificates) req.roots.push_back(std::move(c));
    }
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
    return r.ok() ? 0 : 3;
  };
}

}  // namespace applctl::cli
