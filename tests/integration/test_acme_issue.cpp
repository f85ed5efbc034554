// applctl acme issue against pebble, end to end, with each way of answering challenges: http-01
// on a responder of its own (and lego, the reference client, on the same pebble), http-01 through
// files in a web server's document root, dns-01 through a hook that drives pebble-challtestsrv
// (a wildcard too), and pebble's alternate chains picked with --preferred-chain. The openssl CLI
// checks every chain against pebble's roots; failures change nothing in the store.
#include <algorithm>

#include "integration/pebble.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
using pebbletest::PebbleServer;
namespace fs = std::filesystem;

}  // namespace

TEST_CASE("acme issue: http-01 for a DNS name and an IP address, the chain verifies against pebble's root",
          "[integration][acme]") {
  PebbleServer& server = PebbleServer::shared(true);
  Appliance a;
  a.json({"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org", "--ca-bundle",
          server.ca_bundle(), "--accept-tos"});
  const std::string port = std::to_string(server.http01_port());

  nlohmann::json r = a.json({"acme", "issue", "--name", "web", "--domain", "test.example", "--domain", "127.0.0.1",
                             "--http-port", port});
  CHECK(r["friendly_name"] == "web");
  CHECK(r["identifiers"] == nlohmann::json({"dns:test.example", "ip:127.0.0.1"}));
  CHECK(r["chain_certificates"] == 2);
  CHECK(r["seconds"].get<double>() < 10);

  // The openssl CLI is the oracle: the exported chain verifies against the root pebble made at
  // its start, for both names, and the key in the store is the certificate's.
  clitest::spit(a.dir / "root.pem", server.root_pem());
  Result exp = a.run({"cert", "export", "web", "--format", "pem", "--with-chain", "-o", (a.dir / "chain.pem").string()});
  INFO(exp.out << exp.err);
  REQUIRE(exp.code == 0);
  const std::string root = (a.dir / "root.pem").string(), chain = (a.dir / "chain.pem").string();
  Result v = clitest::openssl({"verify", "-CAfile", root, "-untrusted", chain, chain});
  INFO(v.out << v.err);
  CHECK(v.code == 0);
  CHECK(clitest::openssl({"verify", "-CAfile", root, "-untrusted", chain, "-verify_hostname", "test.example", chain}).code == 0);
  CHECK(clitest::openssl({"verify", "-CAfile", root, "-untrusted", chain, "-verify_ip", "127.0.0.1", chain}).code == 0);
  Result fp = clitest::openssl({"x509", "-in", chain, "-noout", "-fingerprint", "-sha256"});
  std::string hex = clitest::lower(fp.out);
  hex.erase(std::remove_if(hex.begin(), hex.end(), [](char c) { return !std::isxdigit(static_cast<unsigned char>(c)); }),
            hex.end());
  CHECK(hex.find(r["fingerprint_sha256"].get<std::string>()) != std::string::npos);

  nlohmann::json list = a.json({"cert", "list"});
  bool found = false;
  for (const auto& c : list)
    if (c["friendly_name"] == "web") {
      found = true;
      CHECK(c["private_key"] == true);
    }
  CHECK(found);

  SECTION("the name exists: refused before any order") {
    Result again = a.run({"acme", "issue", "--name", "web", "--domain", "test.example", "--http-port", port});
    CHECK(again.code == 5);
  }
  SECTION("nothing answers pebble's validation: exit 7 with the challenge's error, nothing stored") {
    const std::string before = a.dump();
    Result bad = a.run({"acme", "issue", "--name", "other", "--domain", "other.example", "--http-port",
                        std::to_string(clitest::free_port()), "--timeout", "30"});
    INFO(bad.out << bad.err);
    CHECK(bad.code == 7);
    CHECK(bad.err.find("other.example") != std::string::npos);
    CHECK(a.dump() == before);
  }
  SECTION("lego, the reference client, gets the same kind of certificate from the same pebble") {
    Result lego = clitest::run_process(
        {"lego", "--server", server.directory_url(), "--accept-tos", "--email", "test@example.org", "--path",
         (a.dir / "lego").string(), "--http", "--http.port", "127.0.0.1:" + port, "-d", "test.example", "run"},
        {{"LEGO_CA_CERTIFICATES", server.ca_bundle()}});
    INFO(lego.out << lego.err);
    REQUIRE(lego.code == 0);
    const std::string theirs = (a.dir / "lego/certificates/test.example.crt").string();
    CHECK(clitest::openssl({"verify", "-CAfile", root, "-untrusted", theirs, theirs}).code == 0);
    auto issuer = [](const std::string& f) { return clitest::openssl({"x509", "-in", f, "-noout", "-issuer"}).out; };
    CHECK(issuer(theirs) == issuer(chain));
  }
  SECTION("a store without an account: exit 4") {
    Appliance b;
    Result none = b.run({"acme", "issue", "--name", "web", "--domain", "test.example", "--http-port", port});
    CHECK(none.code == 4);
    CHECK_FALSE(fs::exists(b.db()));
  }
}

TEST_CASE("acme issue --webroot: a web server of its own serves the files and they are removed after",
          "[integration][acme]") {
  PebbleServer& server = PebbleServer::shared(true);
  Appliance a;
  a.json({"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org", "--ca-bundle",
          server.ca_bundle(), "--accept-tos"});
  const fs::path root = a.dir / "htdocs";
  fs::create_directories(root);
  // Python's http.server on the port pebble's VA dials, serving the document root.
  clitest::Background web({"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1",
                           std::to_string(server.http01_port()), "--directory", root.string()});
  clitest::spit(root / "probe.txt", "up");
  for (int i = 0; i < 100; ++i) {
    Result r = clitest::run_process({"curl", "-sf", "--max-time", "1",
                                     "http://127.0.0.1:" + std::to_string(server.http01_port()) + "/probe.txt"});
    if (r.code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  nlohmann::json r = a.json({"acme", "issue", "--name", "web", "--domain", "test.example", "--domain", "127.0.0.1",
                             "--webroot", root.string()});
  CHECK(r["identifiers"] == nlohmann::json({"dns:test.example", "ip:127.0.0.1"}));
  CHECK(r["origin"] == nlohmann::json({{"server", server.directory_url()},
                                       {"identifiers", {"dns:test.example", "ip:127.0.0.1"}},
                                       {"challenge", {{"type", "http-01"}, {"webroot", root.string()}}},
                                       {"key_spec", "ec:P-256"}}));
  // pebble fetched both files from the web server; none is left.
  CHECK_FALSE(fs::exists(root / ".well-known"));
  clitest::spit(a.dir / "root.pem", server.root_pem());
  Result exp = a.run({"cert", "export", "web", "--format", "pem", "--with-chain", "-o", (a.dir / "chain.pem").string()});
  REQUIRE(exp.code == 0);
  const std::string chain = (a.dir / "chain.pem").string();
  CHECK(clitest::openssl({"verify", "-CAfile", (a.dir / "root.pem").string(), "-untrusted", chain, "-verify_hostname",
                          "test.example", chain}).code == 0);

  SECTION("a document root the server cannot reach: exit 7, the files removed, nothing stored") {
    const fs::path other = a.dir / "elsewhere";
    fs::create_directories(other);
    const std::string before = a.dump();
    Result bad = a.run({"acme", "issue", "--name", "other", "--domain", "other.example", "--webroot", other.string(),
                        "--timeout", "30"});
    INFO(bad.out << bad.err);
    CHECK(bad.code == 7);
    CHECK(bad.err.find("other.example") != std::string::npos);
    CHECK(bad.err.find(other.string()) != std::string::npos);  // the hint names the root
    CHECK_FALSE(fs::exists(other / ".well-known"));
    CHECK(a.dump() == before);
  }
  SECTION("--webroot and --http-port exclude each other; a missing directory is a usage error") {
    CHECK(a.run({"acme", "issue", "--name", "x", "--domain", "test.example", "--webroot", root.string(), "--http-port",
                 "8080"}).code == 2);
    CHECK(a.run({"acme", "issue", "--name", "x", "--domain", "test.example", "--webroot", (a.dir / "nope").string()})
              .code == 2);
  }
}

TEST_CASE("acme issue --dns-hook: dns-01 through pebble-challtestsrv for a name and its wildcard with cleanup after",
          "[integration][acme]") {
  PebbleServer& server = PebbleServer::shared(true);
  Appliance a;
  a.json({"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org", "--ca-bundle",
          server.ca_bundle(), "--accept-tos"});
  const std::string mgmt = "http://127.0.0.1:" + std::to_string(server.challtestsrv_management_port());
  const std::string log = (a.dir / "hook.log").string();
  // The hook an operator would write for their DNS provider's API, here challtestsrv's.
  const std::string hook =
      "echo \"$APPLCTL_ACME_ACTION $APPLCTL_ACME_DOMAIN $APPLCTL_ACME_RECORD_NAME\" >> " + log +
      "; if [ \"$APPLCTL_ACME_ACTION\" = present ]; then curl -sf -X POST -d "
      "\"{\\\"host\\\":\\\"$APPLCTL_ACME_RECORD_NAME\\\",\\\"value\\\":\\\"$APPLCTL_ACME_RECORD_VALUE\\\"}\" " +
      mgmt + "/set-txt; else curl -sf -X POST -d \"{\\\"host\\\":\\\"$APPLCTL_ACME_RECORD_NAME\\\"}\" " + mgmt +
      "/clear-txt; fi";

  nlohmann::json r = a.json({"acme", "issue", "--name", "wild", "--domain", "test.example", "--domain",
                             "*.test.example", "--dns-hook", hook});
  CHECK(r["identifiers"] == nlohmann::json({"dns:test.example", "dns:*.test.example"}));
  CHECK(r["origin"]["challenge"] == nlohmann::json({{"type", "dns-01"}, {"dns_hook", hook}}));
  // Two authorizations (the name and its wildcard), each presented and cleaned up.
  const std::string calls = clitest::slurp(log);
  INFO(calls);
  CHECK(calls.find("present test.example _acme-challenge.test.example.") != std::string::npos);
  CHECK(std::count(calls.begin(), calls.end(), '\n') == 4);
  CHECK(calls.rfind("cleanup test.example _acme-challenge.test.example.") != std::string::npos);

  clitest::spit(a.dir / "root.pem", server.root_pem());
  Result exp = a.run({"cert", "export", "wild", "--format", "pem", "--with-chain", "-o", (a.dir / "chain.pem").string()});
  REQUIRE(exp.code == 0);
  const std::string chain = (a.dir / "chain.pem").string();
  CHECK(clitest::openssl({"verify", "-CAfile", (a.dir / "root.pem").string(), "-untrusted", chain, "-verify_hostname",
                          "www.test.example", chain}).code == 0);

  SECTION("a hook that fails: exit 1 naming the hook and its status, cleanup still runs, nothing stored") {
    const std::string before = a.dump();
    const std::string failing = "echo $APPLCTL_ACME_ACTION >> " + log + "; [ $APPLCTL_ACME_ACTION = cleanup ] || exit 4";
    fs::remove(log);
    Result bad = a.run({"acme", "issue", "--name", "other", "--domain", "other.example", "--dns-hook", failing});
    INFO(bad.out << bad.err);
    CHECK(bad.code == 1);
    CHECK(bad.err.find("exit status 4") != std::string::npos);
    CHECK(bad.err.find("dns hook") != std::string::npos);
    CHECK(clitest::slurp(log) == "present\ncleanup\n");
    CHECK(a.dump() == before);
  }
  SECTION("a hook that publishes nothing: exit 7 with the challenge's error, cleanup ran") {
    fs::remove(log);
    Result bad = a.run({"acme", "issue", "--name", "other", "--domain", "other.example", "--dns-hook",
                        "echo $APPLCTL_ACME_ACTION >> " + log, "--timeout", "30"});
    INFO(bad.out << bad.err);
    CHECK(bad.code == 7);
    CHECK(bad.err.find("other.example") != std::string::npos);
    CHECK(clitest::slurp(log) == "present\ncleanup\n");
  }
  SECTION("wildcards need dns-01; IP addresses cannot have it") {
    CHECK(a.run({"acme", "issue", "--name", "x", "--domain", "*.test.example", "--http-port", "8080"}).code == 6);
    CHECK(a.run({"acme", "issue", "--name", "x", "--domain", "127.0.0.1", "--dns-hook", "true"}).code == 6);
  }
}


TEST_CASE("acme issue --preferred-chain: pebble's alternate root as openssl verify sees it",
          "[integration][acme]") {
  // Both of pebble's intermediates have the same name and key: one store each, so that the
  // exported chain is the one downloaded, not a stored intermediate of the other chain.
  PebbleServer server(true, {"PEBBLE_ALTERNATE_ROOTS=1"});
  const std::string port = std::to_string(server.http01_port());
  clitest::TempDir roots;
  clitest::spit(roots / "root0.pem", server.root_pem(0));
  clitest::spit(roots / "root1.pem", server.root_pem(1));
  auto cn = [&](const std::string& file) {
    std::string s = clitest::openssl({"x509", "-in", (roots / file).string(), "-noout", "-subject", "-nameopt", "multiline"}).out;
    auto at = s.find("commonName");
    REQUIRE(at != std::string::npos);
    auto eq = s.find("= ", at) + 2;
    return clitest::chomp(s.substr(eq, s.find('\n', at) - eq));
  };
  const std::string cn0 = cn("root0.pem"), cn1 = cn("root1.pem");
  REQUIRE(cn0 != cn1);
  // Issues in a store of its own, exports the chain, and says which roots it verifies against.
  auto issue = [&](std::vector<std::string> extra) {
    Appliance a;
    a.json({"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org", "--ca-bundle",
            server.ca_bundle(), "--accept-tos"});
    std::vector<std::string> args{"acme", "issue", "--name", "web", "--domain", "test.example", "--http-port", port};
    args.insert(args.end(), extra.begin(), extra.end());
    nlohmann::json r = a.json(args);
    const std::string chain = (a.dir / "chain.pem").string();
    REQUIRE(a.run({"cert", "export", "web", "--format", "pem", "--with-chain", "-o", chain}).code == 0);
    std::vector<bool> ok;
    for (const char* root : {"root0.pem", "root1.pem"})
      ok.push_back(clitest::openssl({"verify", "-CAfile", (roots / root).string(), "-untrusted", chain, chain}).code == 0);
    return std::make_pair(r, ok);
  };

  auto [def, def_ok] = issue({});
  CHECK(def_ok == std::vector<bool>{true, false});
  CHECK_FALSE(def["origin"].contains("preferred_chain"));

  auto [alt, alt_ok] = issue({"--preferred-chain", cn1});
  CHECK(alt_ok == std::vector<bool>{false, true});
  CHECK(alt["origin"]["preferred_chain"] == cn1);

  // The default chain's root by name; a name no chain has: the default chain.
  CHECK(issue({"--preferred-chain", cn0}).second == std::vector<bool>{true, false});
  CHECK(issue({"--preferred-chain", "No Such Root"}).second == std::vector<bool>{true, false});
}

TEST_CASE("acme issue: pebble stopped in the middle of the order is exit 7 and changes nothing",
          "[integration][acme]") {
  PebbleServer server;
  Appliance a;
  a.json({"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org", "--ca-bundle",
          server.ca_bundle(), "--accept-tos"});
  const std::string before = a.dump();
  const std::string log = (a.dir / "hook.log").string();
  REQUIRE(server.process_group() > 0);
  // The dns hook runs after newOrder and before the challenge is answered: it kills pebble.
  const std::string hook = "echo $APPLCTL_ACME_ACTION >> " + log +
                           "; [ $APPLCTL_ACME_ACTION = cleanup ] || /bin/kill -s KILL -- -" +
                           std::to_string(server.process_group());
  Result r = a.run({"acme", "issue", "--name", "web", "--domain", "test.example", "--dns-hook", hook, "--timeout", "20"});
  INFO(r.out << r.err);
  CHECK(r.code == 7);
  CHECK(r.err.find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);  // the server named
  CHECK(clitest::slurp(log) == "present\ncleanup\n");
  CHECK(a.dump() == before);
  CHECK(a.run({"cert", "show", "web"}).code == 4);
}
