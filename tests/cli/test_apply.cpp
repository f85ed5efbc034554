// applctl apply and export-config through the binary: the commented example file applied to an
// empty store and checked with cert list, ip list, status and openssl; idempotence; plans of an
// edit; dry runs; invalid files (exit 6, file:line:column, store unchanged); the export-config
// round trip of self-signed, imported and CA-signed certificates with IPs and a default.
#include <set>

#include "harness.hpp"
#include "test_pki.hpp"

using namespace clitest;

namespace {

const fs::path kExample = fs::path(APPLCTL_SOURCE_DIR) / "examples" / "appliance.yaml";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) s.replace(pos, from.size(), to);
  return s;
}

// The example file, beside a corp.p12 made by openssl from the test PKI's leaf and intermediate.
struct ExampleDir {
  TempDir dir;
  fs::path file = dir / "appliance.yaml";
  ExampleDir() {
    const TestPki& pki = test_pki();
    spit(file, slurp(kExample));
    openssl_ok({"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey", (pki / "leaf.key").string(),
                "-certfile", (pki / "int.pem").string(), "-passout", "pass:corp pass", "-out", (dir / "corp.p12").string()});
  }
};

// name -> (fingerprint, has_key) of `cert list`.
std::map<std::string, std::pair<std::string, bool>> certs_of(const Appliance& a) {
  std::map<std::string, std::pair<std::string, bool>> out;
  for (const auto& c : a.json({"cert", "list"})) out[c["friendly_name"]] = {c["fingerprint_sha256"], c["private_key"]};
  return out;
}

std::map<std::string, std::string> ips_of(const Appliance& a) {
  std::map<std::string, std::string> out;
  for (const auto& ip : a.json({"ip", "list"})) out[ip["address"]] = ip["certificate"];
  return out;
}

std::vector<std::string> actions_of(const nlohmann::json& doc) {
  std::vector<std::string> out;
  for (const auto& a : doc["actions"])
    out.push_back(a["op"].get<std::string>() + " " + a["kind"].get<std::string>() + " " + a["name"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("apply: the example file on an empty store, checked with list, status and openssl", "[cli][apply]") {
  ExampleDir ex;
  Appliance a;
  a.env["CORP_P12_PASS"] = "corp pass";
  nlohmann::json doc = a.json({"apply", "-f", ex.file.string()});
  CHECK(doc["changed"] == true);
  CHECK(doc["dry_run"] == false);
  std::set<std::string> kinds;
  for (const auto& act : doc["actions"]) {
    CHECK(act["op"] == "create");  // a new store: everything is new, the default too
    kinds.insert(act["kind"]);
  }
  CHECK(kinds == std::set<std::string>{"hostnames", "certificate", "ip", "default"});

  auto certs = certs_of(a);
  REQUIRE(certs.count("web") == 1);
  REQUIRE(certs.count("corp") == 1);
  CHECK(certs.count("factory-default") == 1);
  CHECK(certs["web"].second);
  CHECK(certs["corp"] == std::make_pair(test_pki().fingerprint("leaf"), true));
  CHECK(certs.count("Test Intermediate CA") == 1);  // the p12's chain, under a name of its own

  CHECK(ips_of(a) == std::map<std::string, std::string>{
                         {"192.0.2.10", "web"}, {"2001:db8::10", "corp"}, {"192.0.2.11", "factory-default"}});
  nlohmann::json status = a.json({"status"});
  CHECK(status["default"] == "web");
  CHECK(status["hostnames"] == nlohmann::json({"appl.example.com", "appl-mgmt.example.com"}));

  // openssl reads the self-signed certificate the file describes.
  fs::path web = a.dir / "web.pem";
  REQUIRE(a.run({"cert", "export", "web", "--format", "pem", "-o", web.string()}).code == 0);
  std::string text = openssl_ok({"x509", "-in", web.string(), "-noout", "-text"}).out;
  CHECK(has(text, "C = US, ST = California, L = San Jose, O = Acme, OU = Ops, CN = www.example.com"));
  CHECK(has(text, "DNS:www.example.com, IP Address:192.0.2.10"));
  CHECK(has(text, "prime256v1"));
  std::string dates = openssl_ok({"x509", "-in", web.string(), "-noout", "-startdate", "-enddate"}).out;
  CHECK(openssl({"x509", "-in", web.string(), "-noout", "-checkend", std::to_string(364 * 86400)}).code == 0);
  CHECK(openssl({"x509", "-in", web.string(), "-noout", "-checkend", std::to_string(366 * 86400)}).code != 0);

  // Again: nothing to do, and the store is byte for byte the same (not even an audit row).
  const std::string before = a.dump();
  nlohmann::json again = a.json({"apply", "-f", ex.file.string()});
  CHECK(again["changed"] == false);
  CHECK(again["actions"].empty());
  CHECK(a.dump() == before);
  Result human = a.run({"apply", "-f", ex.file.string()});
  CHECK(human.code == 0);
  CHECK(has(human.out, "no changes"));
}

TEST_CASE("apply: an edit plans exactly that change, --dry-run changes nothing", "[cli][apply]") {
  ExampleDir ex;
  Appliance a;
  a.env["CORP_P12_PASS"] = "corp pass";
  a.json({"apply", "-f", ex.file.string()});
  const std::string web_before = certs_of(a)["web"].first;

  spit(ex.file, replace_all(replace_all(slurp(ex.file), "days: 365", "days: 200"), "default: web", "default: corp"));
  const std::string before = a.dump();
  nlohmann::json plan = a.json({"apply", "-f", ex.file.string(), "--dry-run"});
  CHECK(plan["changed"] == false);
  CHECK(plan["dry_run"] == true);
  CHECK(actions_of(plan) == std::vector<std::string>{"change certificate web", "change default corp"});
  CHECK(has(plan["actions"][0]["detail"].get<std::string>(), "days 365 -> 200"));
  CHECK(a.dump() == before);
  Result human = a.run({"apply", "-f", ex.file.string(), "--dry-run"});
  CHECK(has(human.out, "~ certificate web: re-issued: days 365 -> 200"));
  CHECK(has(human.out, "~ default corp: was web"));
  CHECK(has(human.out, "plan: 0 to create, 2 to change, 0 to remove"));

  nlohmann::json done = a.json({"apply", "-f", ex.file.string()});
  CHECK(done["changed"] == true);
  CHECK(actions_of(done) == actions_of(plan));
  CHECK(certs_of(a)["web"].first != web_before);
  CHECK(ips_of(a)["192.0.2.10"] == "web");  // the re-issued certificate kept its address
  CHECK(a.json({"status"})["default"] == "corp");
}

TEST_CASE("apply --dry-run on a missing store creates nothing", "[cli][apply]") {
  ExampleDir ex;
  Appliance a;
  a.env["CORP_P12_PASS"] = "corp pass";
  nlohmann::json plan = a.json({"apply", "-f", ex.file.string(), "--dry-run"});
  CHECK(plan["actions"].size() >= 6);
  CHECK_FALSE(fs::exists(a.store));
}

TEST_CASE("apply: invalid files exit 6 with file:line:column and change nothing", "[cli][apply]") {
  struct Case {
    std::string name, text, where, what;
  };
  const std::vector<Case> cases = {
      {"bad indentation", "version: 1\ncertificates:\n  - name: a\n   self_signed: {cn: a.example.com}\n", ":4:",
       "invalid YAML"},
      {"unknown key", "version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, contry: US}\n", ":4:",
       "unknown key 'contry'"},
      {"wrong type", "version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, san: a.example.com}\n",
       ":4:", "expected a list"},
      {"missing env var", "version: 1\ncertificates:\n  - name: a\n    import: {file: a.p12, passphrase_env: NOPE_NOT_SET}\n",
       ":4:", "NOPE_NOT_SET is not set"},
      {"inline passphrase", "version: 1\ncertificates:\n  - name: a\n    import: {file: a.p12, passphrase: hunter2}\n", ":4:",
       "secrets are never written"},
      {"invalid country", "version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, country: UK}\n",
       ":4:", "UK"},
      {"invalid SAN", "version: 1\ncertificates:\n  - name: a\n    self_signed: {san: [\"a..example.com\"]}\n", ":4:",
       "a..example.com"},
      {"unknown certificate", "version: 1\nips:\n  - {address: 10.0.0.1, certificate: nothing}\n", ":3:", "nothing"},
  };
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  const std::string before = a.dump();
  for (const auto& c : cases) {
    INFO(c.name);
    fs::path file = a.dir / "bad.yaml";
    spit(file, c.text);
    Result r = a.run({"apply", "-f", file.string()});
    INFO(r.err);
    CHECK(r.code == 6);
    CHECK(has(r.err, file.string() + c.where));
    CHECK(has(r.err, c.what));
    CHECK_FALSE(has(r.err, "hunter2"));
    CHECK(a.dump() == before);
    nlohmann::json err = a.json({"apply", "-f", file.string()}, 6);
    CHECK(err["error"]["code"] == "bad-input");

    Appliance fresh;  // and no store is left behind
    CHECK(fresh.run({"apply", "-f", file.string()}).code == 6);
    CHECK_FALSE(fs::exists(fresh.store));
  }
}

TEST_CASE("export-config round trip: self-signed, imported and CA-signed with IPs and a default", "[cli][apply]") {
  const TestPki& pki = test_pki();
  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com"}).code == 0);
  fs::path p12 = a.dir / "vendor.p12";
  openssl_ok({"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey", (pki / "leaf.key").string(), "-certfile",
              (pki / "int.pem").string(), "-passout", "pass:v", "-out", p12.string()});
  a.env["V"] = "v";
  REQUIRE(a.run({"cert", "import", p12.string(), "--name", "vendor", "--passphrase-env", "V"}).code == 0);
  REQUIRE(a.run({"cert", "import", (pki / "root.pem").string()}).code == 0);
  fs::path csr = a.dir / "api.csr";
  REQUIRE(a.run({"csr", "create", "--name", "api", "--key", "ec:P-256", "--cn", "api.example.com", "-o", csr.string()}).code == 0);
  fs::path signed_cert = pki.sign_csr(csr, a.dir / "api.pem");
  REQUIRE(a.run({"cert", "import", signed_cert.string()}).code == 0);
  REQUIRE(a.run({"ip", "add", "192.0.2.1", "192.0.2.2", "192.0.2.3"}).code == 0);
  REQUIRE(a.run({"ip", "assign", "web", "192.0.2.1"}).code == 0);
  REQUIRE(a.run({"ip", "assign", "api", "192.0.2.2"}).code == 0);
  REQUIRE(a.run({"cert", "default", "vendor"}).code == 0);

  TempDir out;
  fs::path dir = out / "export";
  a.env["EXPORT_PASS"] = "export secret";
  nlohmann::json exported = a.json({"export-config", "-o", dir.string(), "--passphrase-env", "EXPORT_PASS"});
  CHECK(exported["keys"] == 4);  // factory default, web, vendor, api
  CHECK(exported["certificates"] == 6);
  const std::string yaml = slurp(dir / "appliance.yaml");
  CHECK(has(yaml, "passphrase_env: EXPORT_PASS"));
  CHECK(has(yaml, "factory_default: true"));
  CHECK_FALSE(has(yaml, "export secret"));
  CHECK_FALSE(has(yaml, "PRIVATE KEY"));
  int p12s = 0;
  for (const auto& f : fs::directory_iterator(dir / "certs")) {
    INFO(f.path());
    if (f.path().extension() == ".p12") {
      ++p12s;
      CHECK(mode_of(f.path()) == 0600);
      Result info = openssl({"pkcs12", "-in", f.path().string(), "-info", "-noout", "-passin", "pass:export secret"});
      CHECK(info.code == 0);
      CHECK(has(info.err, "AES-256-CBC"));
    } else {
      CHECK(openssl({"x509", "-in", f.path().string(), "-noout"}).code == 0);
    }
  }
  CHECK(p12s == 4);
  Result again = a.run({"export-config", "-o", dir.string(), "--passphrase-env", "EXPORT_PASS"});
  CHECK(again.code == 5);
  CHECK(a.run({"export-config", "-o", (out / "nokey").string()}).code == 5);  // keys need a passphrase source

  Appliance b;
  b.env["EXPORT_PASS"] = "export secret";
  nlohmann::json applied = b.json({"apply", "-f", (dir / "appliance.yaml").string()});
  CHECK(applied["changed"] == true);
  CHECK(certs_of(b) == certs_of(a));
  CHECK(ips_of(b) == ips_of(a));
  nlohmann::json sa = a.json({"status"}), sb = b.json({"status"});
  for (const char* k : {"default", "factory_default", "hostnames", "certificates"}) CHECK(sb[k] == sa[k]);
  CHECK(b.json({"apply", "-f", (dir / "appliance.yaml").string()})["changed"] == false);

  // The same through a pipe: one YAML document with the certificates embedded.
  Result piped = a.run({"export-config", "--passphrase-env", "EXPORT_PASS"});
  REQUIRE(piped.code == 0);
  CHECK_FALSE(has(piped.out, "export secret"));
  Appliance c;
  c.env["EXPORT_PASS"] = "export secret";
  Result from_stdin = c.run({"apply", "-f", "-"}, piped.out);
  INFO(from_stdin.err);
  REQUIRE(from_stdin.code == 0);
  CHECK(certs_of(c) == certs_of(a));
  CHECK(ips_of(c) == ips_of(a));
}
