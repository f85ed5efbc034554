// applctl probe, end to end: against `openssl s_server` with a PKI made by the openssl CLI (so the
// expected fingerprints and chain come from openssl, not applctl), and against `applctl serve`
// with --expect. Every wait is bounded; background servers are stopped when the test ends.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>
#include <regex>
#include <thread>

#include "background.hpp"
#include "test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::Background;
using clitest::free_port;
using clitest::openssl_fingerprint;
using clitest::openssl_ok;
using clitest::Result;
using clitest::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// root -> intermediate -> leaf (CN and SAN probe.example.com), and an unrelated root; EC P-256.
struct Pki {
  TempDir dir;
  std::string p(const std::string& n) const { return (dir / n).string(); }
  Pki() {
    clitest::spit(dir / "ext.cnf",
                  "[req]\ndistinguished_name = dn\n[dn]\n"
                  "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
                  "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
                  "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
                  "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:probe.example.com,DNS:alt.example.com\n"
                  "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n");
    for (const char* k : {"root", "other", "int", "leaf"})
      openssl_ok({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(std::string(k) + ".key")});
    openssl_ok({"req", "-x509", "-new", "-key", p("root.key"), "-subj", "/CN=Probe Test Root", "-days", "3650", "-config",
                p("ext.cnf"), "-extensions", "ca", "-out", p("root.pem")});
    openssl_ok({"req", "-x509", "-new", "-key", p("other.key"), "-subj", "/CN=Unrelated Root", "-days", "3650", "-config",
                p("ext.cnf"), "-extensions", "ca", "-out", p("other.pem")});
    openssl_ok({"req", "-new", "-key", p("int.key"), "-subj", "/CN=Probe Test Intermediate", "-out", p("int.csr")});
    openssl_ok({"x509", "-req", "-in", p("int.csr"), "-CA", p("root.pem"), "-CAkey", p("root.key"), "-days", "1825",
                "-extfile", p("ext.cnf"), "-extensions", "ca", "-out", p("int.pem")});
    openssl_ok({"req", "-new", "-key", p("leaf.key"), "-subj", "/CN=probe.example.com", "-out", p("leaf.csr")});
    openssl_ok({"x509", "-req", "-in", p("leaf.csr"), "-CA", p("int.pem"), "-CAkey", p("int.key"), "-days", "365",
                "-extfile", p("ext.cnf"), "-extensions", "leaf", "-out", p("leaf.pem")});
  }
};

// `openssl s_server -www` with the PKI's leaf and intermediate on a free port of 127.0.0.1.
struct SServer {
  int port = free_port();
  Background proc;
  SServer(const Pki& pki, std::vector<std::string> extra = {})
      : proc([&] {
          std::vector<std::string> v{"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                                     pki.p("leaf.pem"), "-key", pki.p("leaf.key"), "-cert_chain", pki.p("int.pem"), "-www"};
          v.insert(v.end(), extra.begin(), extra.end());
          return v;
        }()) {
    INFO("s_server: " << proc.out() << proc.err());
    REQUIRE(proc.wait_for("ACCEPT"));
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port); }
};

// applctl probe with --json and no store (a path that does not exist, and must not after).
Result probe(const TempDir& tmp, std::vector<std::string> args) {
  std::vector<std::string> argv{"timeout", "30", APPLCTL_BIN, "--store", (tmp / "no-store").string(), "--json", "probe"};
  argv.insert(argv.end(), args.begin(), args.end());
  return clitest::run_process(argv);
}

}  // namespace

TEST_CASE("probe reports the chain openssl s_server sends and verifies it with --roots", "[cli][probe]") {
  Pki pki;
  SServer server(pki);
  TempDir tmp;
  Result r = probe(tmp, {server.target(), "--sni", "probe.example.com", "--roots", pki.p("root.pem")});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto doc = r.json();
  CHECK(doc["address"] == server.target());
  CHECK(doc["sni"] == "probe.example.com");
  CHECK(doc["protocol"] == "TLSv1.3");
  CHECK(doc["cipher"].get<std::string>().rfind("TLS_", 0) == 0);
  CHECK(doc["verified"] == true);
  CHECK(doc["reason"].is_null());
  REQUIRE(doc["chain"].size() == 2);
  const auto& leaf = doc["chain"][0];
  CHECK(leaf["fingerprint_sha256"] == openssl_fingerprint(pki.p("leaf.pem")));
  CHECK(leaf["subject"] == "CN=probe.example.com");
  CHECK(leaf["issuer"] == "CN=Probe Test Intermediate");
  CHECK(leaf["alt_names"] == nlohmann::json::array({"DNS:probe.example.com", "DNS:alt.example.com"}));
  CHECK(std::regex_match(leaf["not_after"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(doc["chain"][1]["fingerprint_sha256"] == openssl_fingerprint(pki.p("int.pem")));
  CHECK(doc["chain"][1]["subject"] == "CN=Probe Test Intermediate");
  CHECK_FALSE(doc.contains("expected"));
  CHECK_FALSE(fs::exists(tmp / "no-store"));  // probe needs no store

  // --hostname overrides the name checked; another SAN of the leaf verifies too.
  CHECK(probe(tmp, {server.target(), "--sni", "probe.example.com", "--hostname", "alt.example.com", "--roots", pki.p("root.pem")}).code == 0);
  // Human output.
  Result human = clitest::run_process({"timeout", "30", APPLCTL_BIN, "--store", (tmp / "no-store").string(), "probe",
                                       server.target(), "--sni", "probe.example.com", "--roots", pki.p("root.pem")});
  CHECK(human.code == 0);
  CHECK(human.out.find("verified:") != std::string::npos);
  CHECK(human.out.find(openssl_fingerprint(pki.p("leaf.pem")).substr(0, 16)) != std::string::npos);
  CHECK(server.proc.stop() != -1);
}

TEST_CASE("probe exits 3 when the chain does not verify, 7 when it cannot connect", "[cli][probe]") {
  Pki pki;
  SServer server(pki);
  TempDir tmp;

  Result wrong_root = probe(tmp, {server.target(), "--sni", "probe.example.com", "--roots", pki.p("other.pem")});
  INFO(wrong_root.out << wrong_root.err);
  CHECK(wrong_root.code == 3);
  CHECK(wrong_root.json()["verified"] == false);
  CHECK(wrong_root.json()["reason"].is_string());
  CHECK(wrong_root.json()["chain"].size() == 2);  // still reported

  Result system = probe(tmp, {server.target(), "--sni", "probe.example.com"});  // a private root: not in the system's
  CHECK(system.code == 3);
  CHECK(system.json()["verified"] == false);

  Result mismatch = probe(tmp, {server.target(), "--sni", "probe.example.com", "--hostname", "other.example.com",
                                "--roots", pki.p("root.pem")});
  CHECK(mismatch.code == 3);
  CHECK(mismatch.json()["reason"] == "hostname-mismatch");

  // The SNI name is what is checked by default: a name the leaf does not cover fails.
  Result sni_mismatch = probe(tmp, {server.target(), "--sni", "nope.example.com", "--roots", pki.p("root.pem")});
  CHECK(sni_mismatch.code == 3);
  CHECK(sni_mismatch.json()["reason"] == "hostname-mismatch");

  // TLS 1.2 is reported as such.
  SServer tls12(pki, {"-tls1_2"});
  Result r12 = probe(tmp, {tls12.target(), "--sni", "probe.example.com", "--roots", pki.p("root.pem")});
  CHECK(r12.code == 0);
  CHECK(r12.json()["protocol"] == "TLSv1.2");

  const int closed = free_port();
  Result refused = probe(tmp, {"127.0.0.1:" + std::to_string(closed)});
  CHECK(refused.code == 7);
  CHECK(refused.json()["error"]["code"] == "remote-failed");
  CHECK(refused.err.find("cannot connect") != std::string::npos);

  // A server that accepts TCP but never answers the ClientHello: the handshake times out.
  int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(silent >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(silent, 4) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  auto t0 = std::chrono::steady_clock::now();
  Result mute = probe(tmp, {"127.0.0.1:" + std::to_string(ntohs(sa.sin_port)), "--timeout", "1"});
  ::close(silent);
  CHECK(mute.code == 7);
  CHECK(mute.err.find("timed out") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);

  CHECK(probe(tmp, {"127.0.0.1:99999"}).code == 2);
  CHECK(probe(tmp, {"::1:443"}).code == 2);
  CHECK(probe(tmp, {server.target(), "--roots", (tmp / "missing.pem").string()}).code == 6);
  CHECK_FALSE(fs::exists(tmp / "no-store"));
}

TEST_CASE("probe --expect against applctl serve: 0 on the stored leaf, 3 on another", "[cli][probe]") {
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "self-signed", "--name", "www", "--key", "ec:P-256", "--cn", "www.example.com"}).code == 0);
  TempDir tmp;
  REQUIRE(a.run({"cert", "export", "www", "--format", "pem", "-o", (tmp / "www.pem").string()}).code == 0);
  const int port = free_port();
  Background serve({APPLCTL_BIN, "--store", a.store.string(), "serve", "--listen", "127.0.0.1:" + std::to_string(port)});
  INFO("serve: " << serve.out() << serve.err());
  REQUIRE(serve.wait_for("listening on 127.0.0.1:"));
  const std::string target = "127.0.0.1:" + std::to_string(port);
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"timeout", "30", APPLCTL_BIN, "--store", a.store.string(), "--json", "probe", target};
    argv.insert(argv.end(), args.begin(), args.end());
    return clitest::run_process(argv);
  };

  Result match = run({"--sni", "www.example.com", "--roots", (tmp / "www.pem").string(), "--expect", "www"});
  INFO(match.out << match.err);
  CHECK(match.code == 0);
  CHECK(match.json()["expected"] == true);
  CHECK(match.json()["verified"] == true);
  CHECK(match.json()["chain"][0]["fingerprint_sha256"] == a.json({"cert", "show", "www"})["fingerprint_sha256"]);

  Result other = run({"--sni", "www.example.com", "--roots", (tmp / "www.pem").string(), "--expect", "factory-default"});
  CHECK(other.code == 3);
  CHECK(other.json()["expected"] == false);
  CHECK(other.json()["verified"] == true);

  // Without SNI the default is served: it is the expected one by fingerprint prefix too.
  const std::string factory = a.json({"cert", "show", "factory-default"})["fingerprint_sha256"];
  Result by_prefix = run({"--sni", "", "--expect", factory.substr(0, 12)});
  CHECK(by_prefix.json()["expected"] == true);
  CHECK(by_prefix.json()["sni"].is_null());
  CHECK(by_prefix.code == 3);  // self-signed, not in the system roots: expected but unverified

  CHECK(run({"--expect", "no-such-cert"}).code == 4);
  CHECK(serve.stop() == 0);
}
