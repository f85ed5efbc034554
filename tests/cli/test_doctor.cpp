// applctl doctor through the binary: a healthy store (exit 0, every check ok), a store damaged
// behind applctl's back with the sqlite3 CLI (exit 3, the checks that fail name the objects),
// nothing changed by the check itself, a missing store neither created nor unhealthy.
#include <string>

#include "cli/harness.hpp"

namespace {
using clitest::Appliance;
using clitest::Result;
using clitest::sql;
using Json = nlohmann::json;
namespace fs = std::filesystem;

Json check_named(const Json& doc, const std::string& name) {
  for (const auto& c : doc.at("checks"))
    if (c.at("name") == name) return c;
  FAIL("no check " << name << " in " << doc.dump(2));
  return {};
}

}  // namespace

TEST_CASE("doctor: a healthy store passes every check, a damaged one exits 3 naming the problem", "[cli][doctor]") {
  Appliance a;
  a.json({"init", "--hostname", "appl.example.com"});
  a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "web.example.com"});
  a.json({"ip", "add", "192.0.2.10"});
  a.json({"ip", "assign", "web", "192.0.2.10"});
  a.json({"csr", "create", "--name", "req", "--key", "ec:P-256", "--cn", "req.example.com"});

  Json ok = a.json({"doctor"});
  CHECK(ok.at("ok") == true);
  CHECK(ok.at("problems") == 0);
  CHECK(ok.at("checks").size() >= 10);
  for (const auto& c : ok.at("checks")) {
    INFO(c.dump());
    CHECK(c.at("ok") == true);
    CHECK(c.at("name").is_string());
    CHECK(c.at("detail").is_string());
  }
  Result human = a.run({"doctor"});
  CHECK(human.code == 0);
  CHECK(human.out.find("certificate-columns") != std::string::npos);
  CHECK(human.out.find("healthy") != std::string::npos);

  // Damage behind applctl's back: an address served by a certificate that does not exist, and a
  // fingerprint column that is not the certificate's.
  sql(a, "UPDATE ip_addresses SET certificate_id = 999 WHERE address = '192.0.2.10';"
         " UPDATE certificates SET fingerprint_sha256 = 'ab' || substr(fingerprint_sha256, 3) WHERE friendly_name = 'web'");
  const std::string before = a.dump();
  Json bad = a.json({"doctor"}, 3);
  CHECK(bad.at("ok") == false);
  CHECK(bad.at("problems") == 3);  // ip-assignments, foreign-keys (SQLite agrees), certificate-columns
  CHECK(check_named(bad, "ip-assignments").at("ok") == false);
  CHECK(check_named(bad, "ip-assignments").at("detail").get<std::string>().find("192.0.2.10") != std::string::npos);
  CHECK(check_named(bad, "foreign-keys").at("ok") == false);
  CHECK(check_named(bad, "certificate-columns").at("detail").get<std::string>().find("'web'") != std::string::npos);
  CHECK(check_named(bad, "integrity").at("ok") == true);
  Result text = a.run({"doctor"});
  CHECK(text.code == 3);
  CHECK(text.out.find("PROBLEM") != std::string::npos);
  CHECK(text.out.find("3 problems") != std::string::npos);
  CHECK(a.dump() == before);  // doctor changes nothing
}

TEST_CASE("doctor on a missing store: healthy, and no store is created", "[cli][doctor]") {
  Appliance a;
  Json doc = a.json({"doctor"});
  CHECK(doc.at("ok") == true);
  CHECK_FALSE(fs::exists(a.store));
}
