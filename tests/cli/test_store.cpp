// End-to-end: `init`, `status`, store creation rules (cli.md "Global", "Store and certificates"),
// file modes and the audit log, through the built binary; openssl and sqlite3 are the oracles.
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/harness.hpp"

namespace {
using clitest::mode_of;
using clitest::ScopedUmask;
using clitest::sql;

using clitest::Appliance;
using clitest::openssl;
using clitest::Result;
namespace fs = std::filesystem;

// Restores the umask at the end of a scope; spawned processes inherit the umask in force.
// The factory default certificate exported as PEM into the test's directory.
fs::path export_pem(const Appliance& a, const std::string& ref, const std::string& file) {
  fs::path out = a.dir / file;
  Result r = a.run({"cert", "export", ref, "--format", "pem", "-o", out.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  return out;
}

// The SAN entries of a certificate file, as openssl prints them, in order.
std::vector<std::string> openssl_sans(const fs::path& pem) {
  Result r = openssl({"x509", "-in", pem.string(), "-noout", "-ext", "subjectAltName"});
  REQUIRE(r.code == 0);
  auto nl = r.out.find('\n');
  if (nl == std::string::npos) return {};
  return clitest::split_san_line(r.out.substr(nl + 1));
}

std::string openssl_field(const fs::path& pem, const std::string& flag) {
  Result r = openssl({"x509", "-in", pem.string(), "-noout", flag, "-nameopt", "RFC2253"});
  REQUIRE(r.code == 0);
  std::string v = r.out.substr(r.out.find('=') + 1);
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

}  // namespace

TEST_CASE("init creates a private store with a default, self-signed factory certificate", "[cli][store]") {
  Appliance a;
  ScopedUmask permissive(0);  // the modes must not depend on the caller's umask
  nlohmann::json init = a.json({"init", "--hostname", "appl.example.com", "--hostname", "alt.example.com"});
  CHECK(init["created"] == true);
  CHECK(init["hostnames"] == nlohmann::json({"appl.example.com", "alt.example.com"}));
  CHECK(mode_of(a.store) == 0700);
  CHECK(mode_of(a.db()) == 0600);
  for (const char* side : {"-wal", "-shm"}) {
    fs::path p = a.db().string() + side;
    if (fs::exists(p)) CHECK(mode_of(p) == 0600);
  }

  const nlohmann::json& factory = init["factory_default"];
  CHECK(factory["default"] == true);
  CHECK(factory["private_key"] == true);
  CHECK(factory["role"] == "leaf");
  const std::string fp = factory["fingerprint_sha256"];
  REQUIRE(fp.size() == 64);

  // The oracle: self-signed (subject == issuer, verifies against itself), covers both hostnames.
  fs::path pem = export_pem(a, "factory-default", "factory.pem");
  CHECK(openssl_field(pem, "-subject") == openssl_field(pem, "-issuer"));
  CHECK(openssl({"verify", "-CAfile", pem.string(), "-check_ss_sig", pem.string()}).code == 0);
  auto sans = openssl_sans(pem);
  CHECK(std::find(sans.begin(), sans.end(), "DNS:appl.example.com") != sans.end());
  CHECK(std::find(sans.begin(), sans.end(), "DNS:alt.example.com") != sans.end());
  CHECK(openssl_field(pem, "-subject") == "CN=appl.example.com");

  nlohmann::json status = a.json({"status"});
  CHECK(status["hostnames"] == nlohmann::json({"appl.example.com", "alt.example.com"}));
  CHECK(status["certificates"] == 1);
  CHECK(status["default"] == factory["friendly_name"]);
  CHECK(status["store"] == a.store.string());
  CHECK(status["ips"].is_array());
  CHECK(status["kmip"]["configured"] == false);
  CHECK(status["kmip"]["encrypted"] == false);
  CHECK(status["soonest_expiry"]["friendly_name"] == factory["friendly_name"]);
  CHECK(status["soonest_expiry"]["not_after"] == factory["not_after"]);

  SECTION("a second init changes nothing and keeps the factory certificate") {
    const std::string certs_before = sql(a, "SELECT id, fingerprint_sha256, der FROM certificates");
    const std::string keys_before = sql(a, "SELECT id, spki_sha256 FROM keys");
    nlohmann::json again = a.json({"init"});
    CHECK(again["created"] == false);
    CHECK(again["hostnames_changed"] == false);
    CHECK(again["factory_default"]["fingerprint_sha256"] == fp);
    CHECK(again["hostnames"] == nlohmann::json({"appl.example.com", "alt.example.com"}));
    nlohmann::json same = a.json({"init", "--hostname", "appl.example.com", "--hostname", "alt.example.com"});
    CHECK(same["created"] == false);
    CHECK(same["factory_default"]["fingerprint_sha256"] == fp);
    CHECK(sql(a, "SELECT id, fingerprint_sha256, der FROM certificates") == certs_before);
    CHECK(sql(a, "SELECT id, spki_sha256 FROM keys") == keys_before);
    CHECK(a.json({"cert", "list"}).size() == 1);
  }
  SECTION("init with other hostnames re-issues the factory certificate for them, in its place") {
    nlohmann::json changed = a.json({"init", "--hostname", "new.example.net"});
    CHECK(changed["created"] == false);
    CHECK(changed["hostnames_changed"] == true);
    CHECK(changed["factory_reissued"] == true);
    CHECK(changed["factory_default"]["fingerprint_sha256"] != fp);
    CHECK(changed["factory_default"]["friendly_name"] == "factory-default");
    CHECK(changed["factory_default"]["default"] == true);
    CHECK(changed["factory_default"]["alt_names"] == nlohmann::json({"DNS:new.example.net"}));
    CHECK(a.json({"status"})["hostnames"] == nlohmann::json({"new.example.net"}));
    nlohmann::json list = a.json({"cert", "list"});
    REQUIRE(list.size() == 1);
    for (const auto& w : list[0]["warnings"]) CHECK(w["code"] != "hostname-not-covered");
    // The old key went with the old certificate.
    CHECK(sql(a, "SELECT count(*) FROM keys") == "1");
  }
}

TEST_CASE("init refuses an invalid hostname", "[cli][store]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  const std::string before = a.dump();
  for (std::string bad : {"bad_name.example.com", "*.example.com", "10.0.0.1", "a..b"}) {
    Result r = a.run({"init", "--hostname", bad});
    INFO(bad << ": " << r.err);
    CHECK(r.code == 6);
    CHECK(r.err.find(bad) != std::string::npos);
  }
  CHECK(a.dump() == before);
}

TEST_CASE("read-only commands treat a missing store as empty and never create it", "[cli][store]") {
  Appliance a;
  REQUIRE_FALSE(fs::exists(a.store));

  nlohmann::json certs = a.json({"cert", "list"});
  CHECK(certs.is_array());
  CHECK(certs.empty());
  nlohmann::json reqs = a.json({"csr", "list"});
  CHECK(reqs.is_array());
  CHECK(reqs.empty());
  nlohmann::json status = a.json({"status"});
  CHECK(status["certificates"] == 0);
  CHECK(status["hostnames"].empty());
  CHECK(status["default"].is_null());
  CHECK(status["soonest_expiry"].is_null());
  nlohmann::json check = a.json({"cert", "check"});
  CHECK(check["ok"] == true);
  CHECK(check["certificates"].empty());

  // The human forms too, and lookups that find nothing.
  for (std::vector<std::string> args : {std::vector<std::string>{"cert", "list"}, {"csr", "list"}, {"status"}}) {
    Result r = a.run(args);
    INFO(args.front() << ": " << r.err);
    CHECK(r.code == 0);
  }
  CHECK(a.run({"cert", "show", "web"}).code == 4);
  CHECK(a.run({"csr", "show", "1"}).code == 4);
  CHECK(a.run({"cert", "export", "web", "--format", "pem", "-o", (a.dir / "w.pem").string()}).code == 4);
  CHECK_FALSE(fs::exists(a.dir / "w.pem"));
  CHECK_FALSE(fs::exists(a.store));
}

TEST_CASE("a mutating command creates the store with its factory default certificate", "[cli][store]") {
  Appliance a;
  ScopedUmask permissive(0);
  nlohmann::json c = a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"});
  CHECK(c["friendly_name"] == "web");
  CHECK(c["default"] == false);  // the factory certificate made on the way is the default
  CHECK(mode_of(a.store) == 0700);
  CHECK(mode_of(a.db()) == 0600);
  for (const char* side : {"-wal", "-shm"}) {
    fs::path p = a.db().string() + side;
    if (fs::exists(p)) CHECK(mode_of(p) == 0600);
  }
  nlohmann::json list = a.json({"cert", "list"});
  REQUIRE(list.size() == 2);
  int defaults = 0;
  for (const auto& e : list) defaults += e["default"] == true ? 1 : 0;
  CHECK(defaults == 1);
  nlohmann::json status = a.json({"status"});
  CHECK(status["certificates"] == 2);
  CHECK_FALSE(status["default"].is_null());
  CHECK(status["default"] != "web");
  CHECK(status["hostnames"].size() >= 1);
}

// cli.md: a failing command changes nothing; on a store that does not exist yet, that means it
// stays absent.
TEST_CASE("a mutating command that fails on bad input does not create the store", "[cli][store]") {
  const std::vector<std::vector<std::string>> cases = {
      {"cert", "self-signed", "--name", "web", "--country", "XX", "--cn", "www.example.com"},
      {"csr", "create", "--name", "r", "--san", "a..b"},
      {"init", "--hostname", "bad_name.example.com"},
  };
  for (const auto& args : cases) {
    Appliance a;
    Result r = a.run(args);
    INFO(args.front() << " " << args[1] << ": " << r.err);
    CHECK(r.code == 6);
    CHECK_FALSE(fs::exists(a.store));
  }
}

TEST_CASE("the audit log has one row per successful mutating command and no secrets", "[cli][store]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"});
  a.json({"cert", "self-signed", "--name", "api", "--key", "ed25519", "--cn", "api.example.com"});
  a.json({"cert", "rename", "api", "api-2027"});
  a.json({"cert", "default", "web"});
  a.json({"csr", "create", "--name", "req", "--key", "ec:P-256", "--cn", "req.example.com"});
  a.json({"cert", "remove", "api-2027"});
  a.json({"csr", "remove", "req"});
  // Read-only commands and exports leave no row.
  a.json({"cert", "list"});
  a.json({"status"});
  fs::path pass = a.dir / "pass";
  clitest::spit(pass, "correct horse\n");
  REQUIRE(a.run({"cert", "export", "web", "--format", "pkcs8", "--passphrase-file", pass.string(), "-o",
                 (a.dir / "k.pem").string()})
              .code == 0);

  const std::string rows = sql(a, "SELECT command FROM audit_log ORDER BY id");
  CHECK(rows ==
        "init\ncert self-signed\ncert self-signed\ncert rename\ncert default\ncsr create\ncert remove\ncsr remove");
  const std::string all = sql(a, "SELECT * FROM audit_log");
  CHECK(all.find("PRIVATE KEY") == std::string::npos);
  CHECK(all.find("BEGIN") == std::string::npos);
  CHECK(all.find("correct horse") == std::string::npos);
  // Each row names the objects it touched.
  CHECK(sql(a, "SELECT objects FROM audit_log WHERE command = 'cert rename'").find("api-2027") != std::string::npos);
  CHECK(sql(a, "SELECT objects FROM audit_log WHERE command = 'cert self-signed' ORDER BY id LIMIT 1").find("web") !=
        std::string::npos);

  // Failing commands add none.
  const std::string count = sql(a, "SELECT count(*) FROM audit_log");
  CHECK(a.run({"cert", "self-signed", "--name", "web", "--cn", "dup.example.com", "--key", "ec:P-256"}).code == 5);
  CHECK(a.run({"cert", "self-signed", "--name", "x", "--cn", "x.example.com", "--key", "rsa:1024"}).code == 6);
  CHECK(a.run({"cert", "remove", "factory-default"}).code == 5);
  CHECK(a.run({"cert", "rename", "nosuch", "other"}).code == 4);
  CHECK(a.run({"csr", "remove", "nosuch"}).code == 4);
  CHECK(sql(a, "SELECT count(*) FROM audit_log") == count);
}

TEST_CASE("JSON: --json prints exactly one JSON document for every read command", "[cli][store]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"});
  a.json({"csr", "create", "--name", "req", "--key", "ec:P-256", "--cn", "req.example.com"});
  const std::vector<std::vector<std::string>> commands = {
      {"init"}, {"status"}, {"cert", "list"}, {"cert", "show", "web"}, {"cert", "check"}, {"csr", "list"},
      {"csr", "show", "req"}};
  for (auto args : commands) {
    args.insert(args.begin(), "--json");
    Result r = a.run(args);
    INFO(args[1] << ": " << r.out << r.err);
    CHECK(r.code == 0);
    // nlohmann's parse is strict: anything after the document (a second one, a table) throws.
    nlohmann::json doc;
    CHECK_NOTHROW(doc = nlohmann::json::parse(r.out));
    CHECK((doc.is_object() || doc.is_array()));
  }
  // --json after the verb is the same global flag.
  Result late = a.run({"cert", "list", "--json"});
  CHECK(late.code == 0);
  CHECK_NOTHROW(nlohmann::json::parse(late.out));
}

TEST_CASE("the store comes from --store, else APPLCTL_STORE, else XDG_DATA_HOME", "[cli][store]") {
  clitest::TempDir dir;
  const fs::path env_store = dir / "from-env";
  Result r = clitest::run_process({APPLCTL_BIN, "--json", "init", "--hostname", "appl.example.com"},
                                  {{"APPLCTL_STORE", env_store.string()}});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.json()["store"] == env_store.string());
  CHECK(fs::exists(env_store / "applctl.db"));

  const fs::path xdg = dir / "xdg";
  r = clitest::run_process({APPLCTL_BIN, "--json", "init", "--hostname", "appl.example.com"},
                           {{"APPLCTL_STORE", ""}, {"XDG_DATA_HOME", xdg.string()}});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(fs::exists(xdg / "applctl" / "applctl.db"));
  CHECK(mode_of(xdg / "applctl") == 0700);
}
