// applctl apply and export-config with a kmip section, against PyKMIP's server: the settings are
// tested and saved (kmip status and kmip test show them), a second apply contacts nobody and
// changes nothing, a failing test (a CA that did not issue the server's certificate) changes
// neither kmip.json nor the store, and export-config -o DIR brings the same settings to a new store.
#include <regex>

#include "integration/pykmip.hpp"

namespace {

using clitest::Appliance;
using clitest::has;
using clitest::Result;
using kmiptest::KmipPki;
using kmiptest::PyKmipServer;
using kmiptest::hex_of;
using kmiptest::pykmip_get;
namespace fs = std::filesystem;

using kmiptest::pki;

const std::string kPassword = "kmip-apply-Pa55-4b1e";

// An appliance whose directory holds the PKI files the YAML names by relative paths.
struct KmipAppliance : Appliance {
  PyKmipServer& server = PyKmipServer::shared();
  KmipAppliance() {
    for (const char* f : {"ca.crt", "other_ca.crt", "client.crt", "client.key"}) fs::copy_file(pki() / f, dir / f);
    env["KMIP_PASSWORD"] = kPassword;
  }
  // A file with a kmip section for the shared server; `ca` is a file of the directory.
  fs::path write(const std::string& name, const std::string& ca = "ca.crt", const std::string& extra = "") const {
    const fs::path file = dir / name;
    clitest::spit(file, "version: 1\nhostnames: [appl.example.com]\n" + extra +
                            "kmip:\n  host: 127.0.0.1\n  port: " + std::to_string(server.port()) + "\n  ca: " + ca +
                            "\n  client_cert: client.crt\n  client_key: client.key\n  username: alice\n"
                            "  password_env: KMIP_PASSWORD\n  timeout: 5\n");
    return file;
  }
  std::string kmip_json() const { return clitest::slurp(store / "kmip.json"); }
};


std::string fingerprint_of(const std::string& cert) {
  Result r = clitest::openssl({"x509", "-in", cert, "-noout", "-fingerprint", "-sha256"});
  REQUIRE(r.code == 0);
  std::string hex;
  for (char c : r.out.substr(r.out.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
  return hex;
}

// What must survive a round trip: the server, the client certificate, the user.
nlohmann::json kmip_identity(const Appliance& a) {
  nlohmann::json s = a.json({"kmip", "status"});
  return {{"configured", s["configured"]},
          {"host", s["host"]},
          {"port", s["port"]},
          {"timeout", s["timeout"]},
          {"username", s["username"]},
          {"client", s["client_certificate"]["fingerprint_sha256"]},
          {"ca", s["ca_subjects"]}};
}

}  // namespace

TEST_CASE("apply: a kmip section is tested and saved, applied again it contacts nobody", "[integration][kmip][apply]") {
  KmipAppliance a;
  const fs::path file = a.write("appliance.yaml");
  nlohmann::json doc = a.json({"apply", "-f", file.string()});
  CHECK(doc["changed"] == true);
  const nlohmann::json& last = doc["actions"].back();
  CHECK(last["op"] == "create");
  CHECK(last["kind"] == "kmip");
  CHECK(last["name"] == "127.0.0.1:" + std::to_string(a.server.port()));
  CHECK(has(last["detail"].get<std::string>(), "CN=alice"));

  nlohmann::json status = a.json({"kmip", "status"});
  CHECK(status["configured"] == true);
  CHECK(status["host"] == "127.0.0.1");
  CHECK(status["port"] == a.server.port());
  CHECK(status["username"] == "alice");
  CHECK(status["timeout"] == 5);
  CHECK(status["version"] == "2.0");  // negotiated by the test before saving
  CHECK(status["client_certificate"]["fingerprint_sha256"] == fingerprint_of(pki() / "client.crt"));
  CHECK(status["last_test"]["ok"] == true);
  CHECK(clitest::mode_of(a.store / "kmip.json") == 0600);
  CHECK(a.json({"kmip", "test"})["vendor"] == "PyKMIP 0.10.0 Software Server");
  // The Credential reached the server (PyKMIP logs each request's encoding at DEBUG).
  CHECK(has(a.server.log(), hex_of(kPassword)));
  const std::string audit = clitest::sql(a, "SELECT objects FROM audit_log WHERE command = 'apply'");
  CHECK(has(audit, "kmip:127.0.0.1:" + std::to_string(a.server.port())));
  CHECK(!has(audit, kPassword));

  // Again: no action, no audit row, no rewrite, and no connection to the server.
  const std::string saved = a.kmip_json();
  const auto rows = clitest::count_rows(a, "audit_log");
  const std::size_t log_size = a.server.log().size();
  nlohmann::json again = a.json({"apply", "-f", file.string()});
  CHECK(again["changed"] == false);
  CHECK(again["actions"].empty());
  CHECK(a.kmip_json() == saved);
  CHECK(clitest::count_rows(a, "audit_log") == rows);
  CHECK(a.server.log().size() == log_size);
  Result human = a.run({"apply", "-f", file.string()});
  CHECK(human.code == 0);
  CHECK(has(human.out, "no changes"));

  // A changed setting: one "~ kmip" action, tested and saved.
  clitest::spit(file, std::regex_replace(clitest::slurp(file), std::regex("timeout: 5"), "timeout: 7"));
  nlohmann::json changed = a.json({"apply", "-f", file.string()});
  REQUIRE(changed["actions"].size() == 1);
  CHECK(changed["actions"][0]["op"] == "change");
  CHECK(changed["actions"][0]["detail"] == "timeout 5 s -> 7 s");
  CHECK(a.json({"kmip", "status"})["timeout"] == 7);
  CHECK(a.server.log().size() > log_size);
}

TEST_CASE("apply: a kmip section whose test fails changes neither kmip.json nor the store", "[integration][kmip][apply]") {
  KmipAppliance a;
  REQUIRE(a.json({"apply", "-f", a.write("good.yaml").string()})["changed"] == true);
  const std::string saved = a.kmip_json();
  const nlohmann::json certs = a.json({"cert", "list"});
  const std::string dump = a.dump();

  // The wrong CA, and a new certificate in the same file: neither is applied.
  const fs::path bad = a.write("bad.yaml", "other_ca.crt",
                               "certificates:\n  - name: extra\n    self_signed: {key: \"ec:P-256\", cn: extra.example.com}\n");
  Result plan = a.run({"--json", "apply", "-f", bad.string(), "--dry-run"});  // the plan does not contact the server
  CHECK(plan.code == 0);
  Result r = a.run({"--json", "apply", "-f", bad.string()});
  INFO(r.out << r.err);
  CHECK(r.code == 7);
  CHECK(r.json()["error"]["code"] == "remote-failed");
  CHECK(has(r.err, "bad.yaml:"));
  CHECK(has(r.err, "does not verify"));
  CHECK(has(r.err, "nothing changed"));
  CHECK(a.kmip_json() == saved);
  CHECK(a.json({"cert", "list"}) == certs);
  CHECK(a.dump() == dump);

  // On a store that does not exist yet: none is created.
  KmipAppliance fresh;
  CHECK(fresh.run({"apply", "-f", fresh.write("bad.yaml", "other_ca.crt").string()}).code == 7);
  CHECK(!fs::exists(fresh.store / "kmip.json"));
  CHECK(!fs::exists(fresh.db()));
}

TEST_CASE("export-config -o DIR with KMIP settings, applied to a new store: the same KMIP status",
          "[integration][kmip][apply]") {
  KmipAppliance a;
  REQUIRE(a.json({"apply", "-f", a.write("appliance.yaml").string()})["changed"] == true);
  a.env["P12_PASS"] = "export pass";
  const fs::path out = a.dir / "failover";
  Result exported = a.run({"export-config", "-o", out.string(), "--passphrase-env", "P12_PASS"});
  INFO(exported.out << exported.err);
  REQUIRE(exported.code == 0);
  CHECK(has(exported.out, "KMIP_PASSWORD"));  // the password is not exported: the output says what to set
  const std::string yaml = clitest::slurp(out / "appliance.yaml");
  CHECK(has(yaml, "password_env: KMIP_PASSWORD"));
  CHECK(has(yaml, "client_cert: kmip/client.p12"));
  CHECK(!has(yaml, "client_key"));
  CHECK(!has(yaml, kPassword));
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    INFO(entry.path());
    CHECK(!has(clitest::slurp(entry.path()), "PRIVATE KEY"));
    CHECK(!has(clitest::slurp(entry.path()), kPassword));
  }
  CHECK(clitest::mode_of(out / "kmip" / "client.p12") == 0600);
  CHECK(fingerprint_of((out / "kmip" / "client.pem").string()) == fingerprint_of(pki() / "client.crt"));
  // openssl reads the PKCS#12 with the export's passphrase: PBES2 with AES-256, the client key inside.
  Result info = clitest::run_process({"openssl", "pkcs12", "-in", (out / "kmip" / "client.p12").string(), "-info",
                                      "-noout", "-passin", "env:P12_PASS"},
                                     {{"P12_PASS", "export pass"}});
  INFO(info.err);
  CHECK(info.code == 0);
  CHECK(has(info.err, "AES-256-CBC"));
  Result key = clitest::run_process({"openssl", "pkcs12", "-in", (out / "kmip" / "client.p12").string(), "-nocerts",
                                     "-nodes", "-passin", "env:P12_PASS"},
                                    {{"P12_PASS", "export pass"}});
  Result want = clitest::openssl({"pkey", "-in", pki() / "client.key", "-pubout"});
  CHECK(clitest::openssl({"pkey", "-pubout"}, key.out).out == want.out);

  // A new store from the exported directory.
  Appliance b;
  b.env["P12_PASS"] = "export pass";
  Result no_password = b.run({"apply", "-f", (out / "appliance.yaml").string()});
  CHECK(no_password.code == 6);
  CHECK(has(no_password.err, "KMIP_PASSWORD is not set"));
  CHECK(!fs::exists(b.store / "kmip.json"));
  b.env["KMIP_PASSWORD"] = kPassword;
  REQUIRE(b.json({"apply", "-f", (out / "appliance.yaml").string()})["changed"] == true);
  CHECK(kmip_identity(b) == kmip_identity(a));
  CHECK(b.json({"kmip", "test"})["version"] == "2.0");
  CHECK(b.json({"apply", "-f", (out / "appliance.yaml").string()})["changed"] == false);
  CHECK(a.json({"apply", "-f", (out / "appliance.yaml").string()})["changed"] == false);  // back to the source: equal

  // Without -o: one YAML document with the files embedded, through a pipe.
  Result piped = a.run({"export-config", "--passphrase-env", "P12_PASS"});
  REQUIRE(piped.code == 0);
  CHECK(has(piped.err, "KMIP_PASSWORD"));
  CHECK(has(piped.out, "client_p12:"));
  Appliance c;
  c.env = b.env;
  Result applied = c.run({"--json", "apply", "-f", "-"}, piped.out);
  INFO(applied.out << applied.err);
  REQUIRE(applied.code == 0);
  CHECK(kmip_identity(c) == kmip_identity(a));
}
