// TEST HELPER: Let's Encrypt's test ACME server, pebble (Debian pebble 2.4), as the ACME peer,
// as ../shared/spec/servers.md B.1 describes:
//
//   tls-ca        "pebble TLS test CA"   issues the TLS certificate of pebble's two listeners
//   tls           CN=localhost, SAN IP:127.0.0.1 DNS:localhost, serverAuth
//   other-ca      "Unrelated CA": a --ca-bundle that does not verify pebble
//
// With mock_dns, pebble-challtestsrv is its DNS server and answers every name with 127.0.0.1 (no
// AAAA), so pebble's VA sends its http-01 requests for any name to 127.0.0.1:http01_port().
// The server listens on free ports of 127.0.0.1 (ACME, management, and the HTTP-01 / TLS-ALPN-01
// ports its VA dials) with its config and log in its own temporary directory, with
// PEBBLE_VA_NOSLEEP=1 and PEBBLE_AUTHZREUSE=0 and badNonce rejection left at its default of 5%
// (PEBBLE_WFE_NONCEREJECT unset), so every client must retry. It runs in a process group of its
// own, stopped with SIGTERM, 3 s of grace, then SIGKILL of the group (and killed after 15 minutes
// whatever happens to the test).
#pragma once

#include <chrono>
#include <memory>
#include <thread>

#include "cli/background.hpp"
#include "cli/test_pki.hpp"

namespace pebbletest {

using clitest::Background;
using clitest::openssl_ok;
using clitest::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline constexpr const char* kPebble = "/usr/bin/pebble";
inline constexpr const char* kChallTestSrv = "/usr/bin/pebble-challtestsrv";

class PebblePki : public clitest::CertDir {
 public:
  static const PebblePki& get() {
    static const PebblePki pki;
    return pki;
  }

 private:
  PebblePki() {
    ca("tls-ca", "pebble TLS test CA");
    ca("other-ca", "Unrelated CA");
    leaf("tls", "localhost", "tls-ca",
         "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
  }
};

class PebbleServer {
 public:
  // extra_env: more environment for pebble ("PEBBLE_WFE_NONCEREJECT=0", ...); extra_config: more
  // members of its config's "pebble" object ({"externalAccountBindingRequired": true, ...}).
  explicit PebbleServer(bool mock_dns = false, std::vector<std::string> extra_env = {},
                        nlohmann::json extra_config = nlohmann::json::object())
      : extra_env_(std::move(extra_env)), extra_config_(std::move(extra_config)) {
    INFO("pebble: install pebble (scripts/setup)");
    REQUIRE(::access(kPebble, X_OK) == 0);
    if (mock_dns) start_dns();
    for (int attempt = 0; attempt < 3 && !proc_; ++attempt) start();
    INFO("pebble did not start; its log:\n" << log());
    REQUIRE(proc_);
  }
  ~PebbleServer() { stop(); }
  PebbleServer(const PebbleServer&) = delete;
  PebbleServer& operator=(const PebbleServer&) = delete;

  int port() const { return acme_port_; }
  int management_port() const { return mgmt_port_; }
  int http01_port() const { return http01_port_; }
  // pebble-challtestsrv's management API (mock_dns only): POST /set-txt {"host","value"},
  // /clear-txt {"host"} make pebble's DNS answer TXT queries for dns-01.
  int challtestsrv_management_port() const { return dns_mgmt_port_; }
  std::string directory_url() const { return "https://127.0.0.1:" + std::to_string(acme_port_) + "/dir"; }
  std::string ca_bundle() const { return PebblePki::get() / "tls-ca.crt"; }
  std::string log() const { return clitest::slurp(dir_ / "pebble.log"); }
  // pebble's process group (its own), for a test that stops it behind the harness's back.
  pid_t process_group() const { return proc_ ? proc_->pid() : 0; }
  void stop() {
    if (proc_) proc_->stop(SIGTERM, 3s);
    proc_.reset();
    if (dns_) dns_->stop(SIGTERM, 3s);
    dns_.reset();
  }
  // pebble's root of the certificates it issues (new at every start), from its management port.
  // With PEBBLE_ALTERNATE_ROOTS=N, roots 1..N are those of the alternate chains.
  std::string root_pem(int index = 0) const {
    clitest::Result r = clitest::run_process({"curl", "-sf", "--max-time", "5", "--cacert", ca_bundle(),
                                              "https://127.0.0.1:" + std::to_string(mgmt_port_) + "/roots/" +
                                                  std::to_string(index)});
    REQUIRE(r.code == 0);
    return r.out;
  }

  // One server for every test of the process (ctest runs each test case as its own process, and
  // every section of a test case runs it from the top again), started when first asked for; with
  // mock_dns, one with pebble-challtestsrv as its DNS server. Tests that stop pebble, or need
  // other settings, start their own.
  static PebbleServer& shared(bool mock_dns = false) {
    if (mock_dns) {
      static PebbleServer with_dns(true);
      return with_dns;
    }
    static PebbleServer server;
    return server;
  }

 private:
  void start_dns() {
    REQUIRE(::access(kChallTestSrv, X_OK) == 0);
    for (int attempt = 0; attempt < 3 && !dns_; ++attempt) {
      dns_port_ = clitest::free_port();
      const int mgmt = clitest::free_port();
      dns_mgmt_port_ = mgmt;
      auto proc = std::make_unique<Background>(
          std::vector<std::string>{"timeout", "-s", "KILL", "900", kChallTestSrv, "-defaultIPv4", "127.0.0.1",
                                   "-defaultIPv6", "", "-dns01", "127.0.0.1:" + std::to_string(dns_port_), "-http01",
                                   "", "-https01", "", "-tlsalpn01", "", "-management",
                                   "127.0.0.1:" + std::to_string(mgmt)},
          "/dev/null", Background::Group::Own);
      // Logged once its DNS server listens.
      if (proc->wait_until([](const std::string& o, const std::string& e) {
            return (o + e).find("Starting challenge servers") != std::string::npos;
          }, 10s)) {
        std::this_thread::sleep_for(100ms);
        if (proc->running()) dns_ = std::move(proc);
      }
    }
    REQUIRE(dns_);
  }

  void start() {
    const PebblePki& pki = PebblePki::get();
    acme_port_ = clitest::free_port();
    mgmt_port_ = clitest::free_port();
    http01_port_ = clitest::free_port();
    tlsalpn_port_ = clitest::free_port();
    const std::string config = (dir_ / "pebble-config.json").string();
    nlohmann::json c = {{"pebble",
                         {{"listenAddress", "127.0.0.1:" + std::to_string(acme_port_)},
                          {"managementListenAddress", "127.0.0.1:" + std::to_string(mgmt_port_)},
                          {"certificate", pki / "tls.crt"},
                          {"privateKey", pki / "tls.key"},
                          {"httpPort", http01_port_},
                          {"tlsPort", tlsalpn_port_},
                          {"ocspResponderURL", ""},
                          {"externalAccountBindingRequired", false},
                          {"certificateValidityPeriod", 7776000}}}};
    for (const auto& [k, v] : extra_config_.items()) c["pebble"][k] = v;
    clitest::spit(dir_ / "pebble-config.json", c.dump(2));
    std::vector<std::string> argv{"env", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_AUTHZREUSE=0"};
    argv.insert(argv.end(), extra_env_.begin(), extra_env_.end());
    // timeout(1) leads the group and passes SIGTERM on; should this test process die without
    // stopping the server, it kills it after 15 minutes. pebble logs to stdout: a shell sends
    // it to the log file, which the test reads while it runs.
    argv.insert(argv.end(), {"timeout", "-s", "KILL", "900", "sh", "-c",
                             "exec \"$0\" -config \"$1\" -strict=false $3 >\"$2\" 2>&1", kPebble, config,
                             (dir_ / "pebble.log").string(),
                             dns_ ? "-dnsserver 127.0.0.1:" + std::to_string(dns_port_) : std::string()});
    auto proc = std::make_unique<Background>(argv, "/dev/null", Background::Group::Own);
    // Ready when the directory answers over TLS verified with the test CA.
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end && proc->running()) {
      clitest::Result r = clitest::run_process(
          {"curl", "-sf", "--max-time", "2", "--cacert", ca_bundle(), directory_url(), "-o", "/dev/null"});
      if (r.code == 0) {
        proc_ = std::move(proc);
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    proc->stop(SIGTERM, 3s);
  }

  std::vector<std::string> extra_env_;
  nlohmann::json extra_config_;
  TempDir dir_;
  int acme_port_ = 0, mgmt_port_ = 0, http01_port_ = 0, tlsalpn_port_ = 0, dns_port_ = 0, dns_mgmt_port_ = 0;
  std::unique_ptr<Background> dns_;
  std::unique_ptr<Background> proc_;
};

}  // namespace pebbletest
