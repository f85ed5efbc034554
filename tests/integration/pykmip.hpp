// TEST HELPER: PyKMIP's server (Debian python3-pykmip 0.10) as the KMIP peer, and a test PKI for
// it made with the openssl CLI, as ../shared/spec/servers.md A.1 describes:
//
//   ca            "applctl test CA"           issues everything below
//   server        CN=localhost, SAN IP:127.0.0.1 DNS:localhost, serverAuth
//   client        CN=alice, clientAuth (the KMIP user that owns what it creates)
//   client.pem    client.crt + client.key in one file
//   other_ca      "Unrelated CA", and stranger.crt/.key: a client it issued (PyKMIP refuses it)
//   wrong.key     an RSA key that belongs to no certificate
//   elsewhere     CN=elsewhere, SAN DNS:elsewhere.example only, by ca (a name applctl must refuse)
//
// The server listens on a free port of 127.0.0.1 with everything in its own temporary directory
// (config, log at DEBUG, database, an empty policy directory); it runs in a process group of its
// own, stopped with SIGINT, 3 s of grace, then SIGKILL of the whole group (and killed after 15
// minutes whatever happens to the test).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <thread>

#include "cli/background.hpp"
#include "cli/test_pki.hpp"

namespace kmiptest {

using clitest::Background;
using clitest::openssl_ok;
using clitest::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline constexpr const char* kPyKmipServer = "/usr/bin/pykmip-server";

class KmipPki : public clitest::CertDir {
 public:
  static const KmipPki& get() {
    static const KmipPki pki;
    return pki;
  }

 private:
  KmipPki() {
    const std::string common = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n";
    ca("ca", "applctl test CA");
    ca("other_ca", "Unrelated CA");
    leaf("server", "localhost", "ca", common + "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
    leaf("client", "alice", "ca", common + "extendedKeyUsage=clientAuth\n");
    leaf("stranger", "mallory", "other_ca", common + "extendedKeyUsage=clientAuth\n");
    leaf("elsewhere", "elsewhere", "ca", common + "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.example\n");
    openssl_ok({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("wrong.key")});
    clitest::spit(dir_.path / "client.pem", clitest::slurp(p("client.crt")) + clitest::slurp(p("client.key")));
  }
};

inline const KmipPki& pki() { return KmipPki::get(); }

class PyKmipServer {
 public:
  explicit PyKmipServer(const KmipPki& pki) : pki_(&pki) {
    INFO("pykmip-server: install python3-pykmip (scripts/setup)");
    REQUIRE(::access(kPyKmipServer, X_OK) == 0);
    fs::create_directories(dir_ / "policies");
    // A port taken between free_port() and the server's bind is tried again with another.
    for (int attempt = 0; attempt < 3 && !proc_; ++attempt) start(pki, clitest::free_port());
    INFO("the server did not start; its log:\n" << log() << "\nstderr:\n" << (proc_ ? proc_->err() : ""));
    REQUIRE(proc_);
  }
  ~PyKmipServer() { stop(); }
  PyKmipServer(const PyKmipServer&) = delete;
  PyKmipServer& operator=(const PyKmipServer&) = delete;

  int port() const { return port_; }
  std::string log() const { return clitest::slurp(dir_ / "server.log"); }
  // SIGINT, 3 s of grace, then the whole process group.
  void stop() {
    if (proc_) proc_->stop(SIGINT, 3s);
    proc_.reset();
  }

  // Stops the server and starts it again on the same port with the same database.
  void restart() {
    stop();
    for (int attempt = 0; attempt < 5 && !proc_; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(500ms);
      start(*pki_, port_);
    }
    INFO("the server did not start again; its log:\n" << log());
    REQUIRE(proc_);
  }

  bool running() const { return proc_ != nullptr; }

  // One server for every test of the process (ctest runs each test case as its own process, and
  // every section of a test case runs it from the top again), started when first asked for. A test
  // that stopped it finds it started again on the same port with the same database.
  static PyKmipServer& shared() {
    static PyKmipServer server(KmipPki::get());
    if (!server.running()) server.restart();
    return server;
  }

 private:
  void start(const KmipPki& pki, int port) {
    port_ = port;
    const std::string d = dir_.path.string();
    clitest::spit(dir_ / "server.conf", "[server]\nhostname=127.0.0.1\nport=" + std::to_string(port_) +
                                            "\ncertificate_path=" + pki / "server.crt" + "\nkey_path=" + pki / "server.key" +
                                            "\nca_path=" + pki / "ca.crt" +
                                            "\nauth_suite=TLS1.2\nenable_tls_client_auth=True\npolicy_path=" + d +
                                            "/policies\nlogging_level=DEBUG\ndatabase_path=" + d + "/kmip.db\n");
    const std::size_t seen = log().size();  // a restart appends to the same log
    // timeout(1) leads the group and passes SIGINT on to it; should this test process die without
    // stopping the server, it kills the whole group after 15 minutes.
    auto proc = std::make_unique<Background>(
        std::vector<std::string>{"timeout", "-s", "KILL", "900", kPyKmipServer, "-f", d + "/server.conf", "-l",
                                 d + "/server.log"},
        "/dev/null", Background::Group::Own);
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end && proc->running()) {
      // Logged right after listen(2).
      if (log().find("Starting connection service", seen) != std::string::npos) {
        proc_ = std::move(proc);
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
    proc->stop(SIGINT, 3s);
  }

  const KmipPki* pki_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Background> proc_;
};

// PyKMIP's own client, the independent reader: the key's bytes (hex), algorithm and length,
// name and state.
inline clitest::Result pykmip_get(int port, const std::string& uid) {
  const char* script = R"py(
import sys, logging
logging.disable(logging.CRITICAL)
from kmip.pie.client import ProxyKmipClient
port, cert, key, ca, uid = sys.argv[1:]
with ProxyKmipClient(hostname="127.0.0.1", port=int(port), cert=cert, key=key, ca=ca, config_file="/dev/null") as c:
    k = c.get(uid)
    print(k.value.hex())
    print(k.cryptographic_algorithm.name, k.cryptographic_length)
    _, attrs = c.get_attributes(uid, ["Name", "State"])
    values = {a.attribute_name.value: a.attribute_value for a in attrs}
    print(values["Name"].name_value.value, values["State"].value.name)
)py";
  return clitest::run_process({"/usr/bin/python3", "-c", script, std::to_string(port), KmipPki::get() / "client.crt",
                               KmipPki::get() / "client.key", KmipPki::get() / "ca.crt", uid});
}

inline std::string hex_of(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// What the read commands show of a store (cert list, ip list, csr list), to compare a store
// before and after a command that must leave it as it was (encrypted or not).
inline std::string store_view(const clitest::Appliance& a) {
  std::string out;
  for (auto args : std::vector<std::vector<std::string>>{{"cert", "list"}, {"ip", "list"}, {"csr", "list"}}) {
    clitest::Result r = a.run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    out += r.out;
  }
  return out;
}

}  // namespace kmiptest
