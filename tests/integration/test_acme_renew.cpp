// cert renew of certificates issued by pebble, end to end: re-ordered in place for the same
// names with the challenge settings `acme issue` used (its own http-01 responder, a dns-01 hook),
// the key kept or new (--rekey), the chain verified by the openssl CLI against pebble's root, the
// deploy hook run only when a certificate changed, exit 11 when nothing is due; and the faults:
// pebble down (exit 7, the certificate as it was, the attempt recorded and shown, a self-signed
// certificate in the same run still renewed) and a challenge that fails (exit 7 with its error).
#include <algorithm>

#include "integration/pebble.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
using pebbletest::PebbleServer;
namespace fs = std::filesystem;

void account(const Appliance& a, const PebbleServer& server) {
  a.json({"acme", "account", "--server", server.directory_url(), "--email", "ops@example.org", "--ca-bundle",
          server.ca_bundle(), "--accept-tos"});
}

nlohmann::json entry(const Appliance& a, const std::string& name) {
  for (const auto& c : a.json({"cert", "list"}))
    if (c["friendly_name"] == name) return c;
  FAIL("no certificate " << name);
  return {};
}

// The public key of NAME's certificate, as openssl reads it from an export.
std::string public_key(const Appliance& a, const std::string& name) {
  const std::string file = (a.dir / (name + "-pub.pem")).string();
  REQUIRE(a.run({"cert", "export", name, "--format", "pem", "-o", file, "--force"}).code == 0);
  Result r = clitest::openssl({"x509", "-in", file, "-noout", "-pubkey"});
  REQUIRE(r.code == 0);
  return r.out;
}

// openssl verify of NAME's exported chain against pebble's root, for hostname.
int verify(const Appliance& a, const PebbleServer& server, const std::string& name, const std::string& hostname) {
  clitest::spit(a.dir / "root.pem", server.root_pem());
  const std::string chain = (a.dir / (name + "-chain.pem")).string();
  REQUIRE(a.run({"cert", "export", name, "--format", "pem", "--with-chain", "-o", chain, "--force"}).code == 0);
  Result v = clitest::openssl({"verify", "-CAfile", (a.dir / "root.pem").string(), "-untrusted", chain,
                               "-verify_hostname", hostname, chain});
  INFO(v.out << v.err);
  return v.code;
}

bool has_warning(const nlohmann::json& cert, const std::string& code) {
  for (const auto& w : cert["warnings"])
    if (w["code"] == code) return true;
  return false;
}

}  // namespace

TEST_CASE("cert renew re-orders an ACME certificate from pebble in place with its names and IPs and default flag and the hook on change",
          "[integration][acme][renew]") {
  PebbleServer& server = PebbleServer::shared(true);
  Appliance a;
  account(a, server);
  const std::string port = std::to_string(server.http01_port());
  a.json({"acme", "issue", "--name", "web", "--domain", "test.example", "--domain", "127.0.0.1", "--http-port", port});
  REQUIRE(a.run({"ip", "add", "127.0.0.2"}).code == 0);
  REQUIRE(a.run({"ip", "assign", "web", "127.0.0.2"}).code == 0);
  REQUIRE(a.run({"cert", "default", "web"}).code == 0);
  const nlohmann::json issued = entry(a, "web");
  CHECK(issued["renewal"]["method"] == "acme");
  const std::string key0 = public_key(a, "web");
  const std::string hook_log = (a.dir / "hook.log").string();
  const std::string hook = "echo \"$APPLCTL_CERT_NAME $APPLCTL_CERT_FINGERPRINT $APPLCTL_STORE\" >> " + hook_log;

  // pebble's certificates live 90 days here: not due for 60 more. Nothing changes, no hook.
  const std::string before = a.dump();
  Result idle = a.run({"--json", "cert", "renew", "--all", "--deploy-hook", hook});
  INFO(idle.out << idle.err);
  CHECK(idle.code == 11);
  nlohmann::json idle_doc = nlohmann::json::parse(idle.out);
  REQUIRE(idle_doc["not_due"].size() >= 1);
  CHECK(a.dump() == before);
  CHECK(!fs::exists(hook_log));

  // Due by --before 1/1: a new certificate from pebble, the same key, the same names.
  Result r = a.run({"--json", "cert", "renew", "web", "--before", "1/1", "--deploy-hook", hook});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  nlohmann::json doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["renewed"].size() == 1);
  const nlohmann::json& renewed = doc["renewed"][0];
  CHECK(renewed["friendly_name"] == "web");
  CHECK(renewed["method"] == "acme");
  CHECK(renewed["rekeyed"] == false);
  CHECK(renewed["old_fingerprint"] == issued["fingerprint_sha256"]);
  CHECK(renewed["fingerprint_sha256"] != issued["fingerprint_sha256"]);
  CHECK(doc["failed"].empty());
  CHECK(public_key(a, "web") == key0);
  CHECK(verify(a, server, "web", "test.example") == 0);
  Result ip = clitest::openssl({"x509", "-in", (a.dir / "web-chain.pem").string(), "-noout", "-ext", "subjectAltName"});
  CHECK(ip.out.find("DNS:test.example") != std::string::npos);
  CHECK(ip.out.find("IP Address:127.0.0.1") != std::string::npos);

  const nlohmann::json now = entry(a, "web");
  CHECK(now["fingerprint_sha256"] == renewed["fingerprint_sha256"]);
  CHECK(now["default"] == true);
  CHECK(now["ips"] == nlohmann::json({"127.0.0.2"}));
  CHECK(now["renewal"]["method"] == "acme");
  CHECK(!has_warning(now, "renewal-failed"));
  // The hook ran once, for the new certificate.
  const std::string line = clitest::slurp(hook_log);
  CHECK(line.rfind("web " + renewed["fingerprint_sha256"].get<std::string>() + " /", 0) == 0);
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);

  // --rekey: a new key of the same spec; the certificate still verifies.
  Result rk = a.run({"--json", "cert", "renew", "web", "--force", "--rekey"});
  INFO(rk.out << rk.err);
  REQUIRE(rk.code == 0);
  CHECK(nlohmann::json::parse(rk.out)["renewed"][0]["rekeyed"] == true);
  CHECK(public_key(a, "web") != key0);
  CHECK(verify(a, server, "web", "test.example") == 0);
  CHECK(a.json({"status"})["unattached_keys"] == 0);

  // Nothing due again: exit 11, the hook not run again.
  CHECK(a.run({"cert", "renew", "--all", "--deploy-hook", hook}).code == 11);
  const std::string calls = clitest::slurp(hook_log);
  CHECK(std::count(calls.begin(), calls.end(), '\n') == 1);
}

TEST_CASE("cert renew with pebble down is exit 7 with the ACME certificate as it was and the attempt recorded while the others renew",
          "[integration][acme][renew]") {
  PebbleServer server(true);
  Appliance a;
  account(a, server);
  a.json({"acme", "issue", "--name", "web", "--domain", "test.example", "--http-port",
          std::to_string(server.http01_port())});
  REQUIRE(a.run({"cert", "self-signed", "--name", "local", "--key", "ec:P-256", "--cn", "local.example", "--days", "30"})
              .code == 0);
  const nlohmann::json web0 = entry(a, "web");
  const nlohmann::json local0 = entry(a, "local");
  server.stop();

  Result r = a.run({"--json", "cert", "renew", "--all", "--before", "1/1"});
  INFO(r.out << r.err);
  CHECK(r.code == 7);
  nlohmann::json doc = nlohmann::json::parse(r.out);
  REQUIRE(doc["failed"].size() == 1);
  CHECK(doc["failed"][0]["friendly_name"] == "web");
  CHECK(doc["failed"][0]["error"].get<std::string>().find("127.0.0.1:" + std::to_string(server.port())) !=
        std::string::npos);
  std::vector<std::string> renewed_names;
  for (const auto& e : doc["renewed"]) renewed_names.push_back(e["friendly_name"]);
  CHECK(std::find(renewed_names.begin(), renewed_names.end(), "local") != renewed_names.end());

  const nlohmann::json web = entry(a, "web");
  CHECK(web["fingerprint_sha256"] == web0["fingerprint_sha256"]);
  CHECK(has_warning(web, "renewal-failed"));
  CHECK(!web["renewal"]["last_error"].get<std::string>().empty());
  CHECK(entry(a, "local")["fingerprint_sha256"] != local0["fingerprint_sha256"]);
  Result human = a.run({"cert", "list"});
  CHECK(human.out.find("renewal-failed") != std::string::npos);
}

TEST_CASE("cert renew through a dns-01 hook renews with the stored hook and a hook that stops publishing is exit 7",
          "[integration][acme][renew]") {
  PebbleServer& server = PebbleServer::shared(true);
  Appliance a;
  account(a, server);
  const std::string mgmt = "http://127.0.0.1:" + std::to_string(server.challtestsrv_management_port());
  // The hook publishes the TXT record through challtestsrv unless the file 'off' exists.
  const std::string off = (a.dir / "off").string();
  const std::string hook =
      "[ -e " + off + " ] && exit 0; if [ \"$APPLCTL_ACME_ACTION\" = present ]; then curl -sf -X POST -d "
      "\"{\\\"host\\\":\\\"$APPLCTL_ACME_RECORD_NAME\\\",\\\"value\\\":\\\"$APPLCTL_ACME_RECORD_VALUE\\\"}\" " +
      mgmt + "/set-txt; else curl -sf -X POST -d \"{\\\"host\\\":\\\"$APPLCTL_ACME_RECORD_NAME\\\"}\" " + mgmt +
      "/clear-txt; fi";
  a.json({"acme", "issue", "--name", "wild", "--domain", "*.test.example", "--dns-hook", hook});
  const nlohmann::json wild0 = entry(a, "wild");

  Result r = a.run({"--json", "cert", "renew", "wild", "--force"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const std::string fp1 = nlohmann::json::parse(r.out)["renewed"][0]["fingerprint_sha256"];
  CHECK(fp1 != wild0["fingerprint_sha256"]);
  CHECK(verify(a, server, "wild", "www.test.example") == 0);

  clitest::spit(off, "");
  Result bad = a.run({"--json", "cert", "renew", "wild", "--force"});
  INFO(bad.out << bad.err);
  CHECK(bad.code == 7);
  nlohmann::json doc = nlohmann::json::parse(bad.out);
  REQUIRE(doc["failed"].size() == 1);
  CHECK(doc["failed"][0]["error"].get<std::string>().find("test.example") != std::string::npos);
  CHECK(entry(a, "wild")["fingerprint_sha256"] == fp1);
  CHECK(has_warning(entry(a, "wild"), "renewal-failed"));
}
