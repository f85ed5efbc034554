// applctl sni resolve (applctl-sni(1)): the certificate the SNI and address rules choose for a
// client, as applctl serve would serve it.
#include <fmt/format.h>

#include "applctl/x509/names.hpp"
#include "applctl/services/sni.hpp"
#include "applctl/base/timeutil.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

void setup_sni_resolve(CLI::App& app, Runner& run) {
  struct Opts {
    std::string host, ip;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("HOSTNAME", o->host, "The name a TLS client sends as SNI (\"\" for none)")->required();
  app.add_option("--ip", o->ip, "The appliance address the client connects to");
  run = [o](Context& ctx) {
    if (!o->ip.empty() && !canonical_ip(o->ip))
      fail(ErrorKind::BadInput, fmt::format("invalid IP address '{}'", o->ip));
    auto choice = SniIndex::build(ctx.store(), now()).resolve(o->host, o->ip);
    if (!choice)
      fail(ErrorKind::NotFound, "the store has no default certificate", "run applctl init, or applctl cert default CERT");
    nlohmann::json doc = {{"certificate", choice->cert.friendly_name},
                          {"fingerprint_sha256", choice->cert.fingerprint_sha256},
                          {"rule", rule_name(choice->rule)}};
    ctx.emit(doc, Block()
                      .add("certificate", choice->cert.friendly_name)
                      .add("fingerprint", choice->cert.fingerprint_sha256)
                      .add("rule", std::string(rule_name(choice->rule)))
                      .str());
    return 0;
  };
}

}  // namespace applctl::cli
