// applctl serve (applctl(1)): the TLS endpoint in the foreground, its log through spdlog.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/serve/serve.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

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

}  // namespace applctl::cli
