// applctl cert renew from the built binary, with the openssl CLI as the oracle and as the CA:
// self-signed re-issue in place (subject, SANs, lifetime, name, IPs, default flag kept; new serial),
// --rekey / --key, nothing due (exit 11, store unchanged), --before, --force, --dry-run, the deploy
// hook, CA-signed renewal through a pending request and `cert import` of what openssl signed, a
// failing renewal recorded while another renews, and --all on 10,000 certificates.
#include <signal.h>

#include <chrono>
#include <thread>
#include <set>

#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::openssl_ok;
using clitest::Result;
using clitest::TestPki;
namespace fs = std::filesystem;

void ok(const Appliance& a, std::vector<std::string> args) {
  Result r = a.run(args);
  INFO("applctl " << args.front() << " ...: " << r.out << r.err);
  REQUIRE(r.code == 0);
}

// Everything the store holds, the renewal state and pending requests included.
std::string dump(const Appliance& a) {
  return a.dump() + clitest::sql(a, "SELECT * FROM renewals; SELECT id, friendly_name, renews_certificate_id FROM requests;");
}

nlohmann::json cert_of(const Appliance& a, const std::string& name) {
  for (const auto& c : a.json({"cert", "list"}))
    if (c["friendly_name"] == name) return c;
  FAIL("no certificate " << name);
  return {};
}

// What openssl says of a certificate applctl exports: subject, SAN line, serial, public key.
struct OpensslView {
  std::string subject, san, serial, pubkey, fingerprint;
};

OpensslView view_of(const Appliance& a, const std::string& name, const fs::path& file) {
  fs::remove(file);
  ok(a, {"cert", "export", name, "--format", "pem", "-o", file.string()});
  OpensslView v;
  v.subject = openssl_ok({"x509", "-in", file.string(), "-noout", "-subject"}).out;
  v.san = openssl_ok({"x509", "-in", file.string(), "-noout", "-ext", "subjectAltName"}).out;
  v.serial = openssl_ok({"x509", "-in", file.string(), "-noout", "-serial"}).out;
  v.pubkey = clitest::openssl_cert_pubkey(file);
  v.fingerprint = clitest::openssl_fingerprint(file);
  return v;
}

// The line after "X509v3 Subject Alternative Name:" in `openssl ... -text` output.
std::string san_line_of_text(const std::string& text) {
  auto pos = text.find("X509v3 Subject Alternative Name:");
  if (pos == std::string::npos) return "";
  auto start = text.find_first_not_of(' ', text.find('\n', pos) + 1);
  return clitest::chomp(text.substr(start, text.find('\n', start) - start));
}

std::int64_t lifetime(const Appliance& a, const std::string& name) {
  return std::stoll(clitest::sql(a, "SELECT not_after - not_before FROM certificates WHERE friendly_name = '" + name + "'"));
}

void make_web(const Appliance& a, const std::string& name = "web", const std::string& key = "ec:P-256") {
  ok(a, {"cert", "self-signed", "--name", name, "--key", key, "--cn", name + ".example.com", "--org", "Acme",
         "--country", "US", "--san", "alt-" + name + ".example.com", "--san", "IP:192.0.2.5", "--days", "90"});
}

}  // namespace

TEST_CASE("cert renew re-issues a self-signed certificate in place with its subject and SANs",
          "[integration][renew]") {
  Appliance a;
  make_web(a);
  ok(a, {"ip", "add", "127.0.0.2"});
  ok(a, {"ip", "assign", "web", "127.0.0.2"});
  ok(a, {"cert", "default", "web"});
  const OpensslView before = view_of(a, "web", a.dir / "old.pem");
  const auto keys = clitest::count_rows(a, "keys");
  const auto life = lifetime(a, "web");
  const auto id = clitest::sql(a, "SELECT id FROM certificates WHERE friendly_name = 'web'");

  nlohmann::json r = a.json({"cert", "renew", "web", "--force"});
  REQUIRE(r["renewed"].size() == 1);
  CHECK(r["failed"].empty());
  const auto& e = r["renewed"][0];
  CHECK(e["friendly_name"] == "web");
  CHECK(e["method"] == "self-signed");
  CHECK(e["rekeyed"] == false);
  CHECK(e["old_fingerprint"] == before.fingerprint);

  const OpensslView after = view_of(a, "web", a.dir / "new.pem");
  CHECK(after.subject == before.subject);
  CHECK(after.san == before.san);
  CHECK(clitest::has(after.san, "IP Address:192.0.2.5"));
  CHECK(after.serial != before.serial);
  CHECK(after.fingerprint != before.fingerprint);
  CHECK(after.fingerprint == e["fingerprint_sha256"]);
  CHECK(after.pubkey == before.pubkey);
  CHECK(lifetime(a, "web") == life);
  CHECK(clitest::sql(a, "SELECT id FROM certificates WHERE friendly_name = 'web'") == id);
  CHECK(clitest::count_rows(a, "keys") == keys);
  // the extensions cert self-signed gives, verified by openssl as a self-signed server certificate
  openssl_ok({"verify", "-CAfile", (a.dir / "new.pem").string(), "-purpose", "sslserver", (a.dir / "new.pem").string()});

  nlohmann::json web = cert_of(a, "web");
  CHECK(web["fingerprint_sha256"] == after.fingerprint);
  CHECK(web["default"] == true);
  CHECK(web["ips"] == nlohmann::json::array({"127.0.0.2"}));
  CHECK(web["renewal"]["last_success"].is_string());
  CHECK(web["renewal"]["last_error"].is_null());
  CHECK(web["renewal"]["method"] == "self-signed");
  CHECK(web["renewal"]["due"].is_string());
  nlohmann::json ips = a.json({"ip", "list"});
  REQUIRE(ips.size() == 1);
  CHECK(ips[0]["certificate"] == "web");
  CHECK(ips[0]["fingerprint_sha256"] == after.fingerprint);
}

TEST_CASE("cert renew --rekey and --key SPEC give a new public key and drop the old key", "[integration][renew]") {
  Appliance a;
  make_web(a);
  const OpensslView before = view_of(a, "web", a.dir / "old.pem");
  const auto keys = clitest::count_rows(a, "keys");

  nlohmann::json r = a.json({"cert", "renew", "web", "--force", "--rekey"});
  REQUIRE(r["renewed"].size() == 1);
  CHECK(r["renewed"][0]["rekeyed"] == true);
  const OpensslView rekeyed = view_of(a, "web", a.dir / "rekeyed.pem");
  CHECK(rekeyed.pubkey != before.pubkey);
  CHECK(clitest::has(openssl_ok({"x509", "-in", (a.dir / "rekeyed.pem").string(), "-noout", "-text"}).out, "256 bit"));
  CHECK(rekeyed.subject == before.subject);
  CHECK(rekeyed.san == before.san);
  CHECK(clitest::count_rows(a, "keys") == keys);  // the old key went with the old certificate

  a.json({"cert", "renew", "web", "--force", "--key", "ec:P-384"});
  const OpensslView p384 = view_of(a, "web", a.dir / "p384.pem");
  CHECK(p384.pubkey != rekeyed.pubkey);
  const std::string text = openssl_ok({"x509", "-in", (a.dir / "p384.pem").string(), "-noout", "-text"}).out;
  CHECK(clitest::has(text, "384 bit"));
  CHECK(clitest::has(text, "secp384r1"));
  CHECK(clitest::count_rows(a, "keys") == keys);
  // the exported key is the certificate's key
  ok(a, {"cert", "export", "web", "--format", "pkcs8", "-o", (a.dir / "web.key").string(), "--no-passphrase",
         "--insecure"});
  CHECK(openssl_ok({"pkey", "-in", (a.dir / "web.key").string(), "-pubout"}).out == p384.pubkey);
}

TEST_CASE("cert renew: nothing due is exit 11 with the store unchanged, --before and --force make it due",
          "[integration][renew]") {
  Appliance a;
  make_web(a);
  const std::string before = dump(a);
  const nlohmann::json list = a.json({"cert", "list"});

  Result none = a.run({"cert", "renew", "--all"});
  CHECK(none.code == 11);
  CHECK(clitest::has(none.out, "not due 'web' until "));
  Result quiet = a.run({"-q", "cert", "renew", "--all"});  // cron: silent when nothing changed
  CHECK(quiet.code == 11);
  CHECK(quiet.out.empty());
  nlohmann::json j = a.json({"cert", "renew", "--all"}, 11);
  CHECK(j["renewed"].empty());
  CHECK(j["failed"].empty());
  REQUIRE(j["not_due"].size() == 2);  // web and the factory default
  for (const auto& n : j["not_due"]) CHECK(n["due"].is_string());
  CHECK(a.json({"cert", "renew", "web", "--before", "30d"}, 11)["not_due"].size() == 1);
  CHECK(dump(a) == before);
  CHECK(a.json({"cert", "list"}) == list);

  // --dry-run: what would be renewed, nothing changed (the database's bytes too), no hook
  const fs::path wal = a.db().string() + "-wal";
  const std::string bytes = clitest::slurp(a.db()) + (fs::exists(wal) ? clitest::slurp(wal) : "");
  nlohmann::json dry = a.json({"cert", "renew", "--all", "--force", "--dry-run", "--deploy-hook",
                               "touch " + (a.dir / "hook-ran").string()});
  CHECK(dry["dry_run"] == true);
  CHECK(dry["renewed"].size() == 2);
  CHECK(a.run({"cert", "renew", "--all", "--dry-run"}).code == 11);
  CHECK(clitest::has(a.run({"cert", "renew", "web", "--before", "1/1", "--dry-run"}).out, "would renew 'web'"));
  CHECK_FALSE(fs::exists(a.dir / "hook-ran"));
  CHECK((clitest::slurp(a.db()) + (fs::exists(wal) ? clitest::slurp(wal) : "")) == bytes);
  CHECK(dump(a) == before);

  // bad input and usage errors change nothing
  for (const char* bad : {"0/3", "4/3", "1/0", "abc", "-1d"}) {
    Result r = a.run({"cert", "renew", "--all", "--before", bad});
    INFO(bad << ": " << r.err);
    CHECK(r.code == 6);
  }
  CHECK(a.run({"cert", "renew", "--all", "--key", "rsa:1024"}).code == 6);
  CHECK(a.run({"cert", "renew"}).code == 2);
  CHECK(a.run({"cert", "renew", "web", "--all"}).code == 2);
  Result missing = a.run({"--json", "cert", "renew", "web", "nope", "--force"});
  CHECK(missing.code == 4);
  CHECK(missing.json()["error"]["code"] == "not-found");
  CHECK(dump(a) == before);

  // a fraction of 1/1 makes a valid certificate due
  nlohmann::json renewed = a.json({"cert", "renew", "web", "--before", "1/1"});
  REQUIRE(renewed["renewed"].size() == 1);
  CHECK(renewed["renewed"][0]["friendly_name"] == "web");
}

TEST_CASE("cert renew refuses a certificate without its key or a CA certificate before any change",
          "[integration][renew]") {
  const TestPki& pki = TestPki::get();
  Appliance a;
  make_web(a);
  ok(a, {"cert", "import", (pki / "root.pem").string()});
  ok(a, {"cert", "import", (pki / "leaf.pem").string(), "--name", "keyless"});
  const std::string before = dump(a);
  const std::string root = cert_of(a, "Test Root CA")["friendly_name"];
  Result ca = a.run({"--json", "cert", "renew", "web", root, "--force"});
  CHECK(ca.code == 5);
  CHECK(clitest::has(ca.err, "CA certificate"));
  CHECK_FALSE(ca.json()["error"]["hint"].get<std::string>().empty());
  Result keyless = a.run({"cert", "renew", "keyless", "--force"});
  CHECK(keyless.code == 5);
  CHECK(clitest::has(keyless.err, "no private key"));
  CHECK(dump(a) == before);
  // --all skips them
  nlohmann::json all = a.json({"cert", "renew", "--all", "--force"});
  std::set<std::string> names;
  for (const auto& e : all["renewed"]) names.insert(e["friendly_name"]);
  CHECK(names == std::set<std::string>{"factory-default", "web"});
}

TEST_CASE("cert renew --deploy-hook runs once per changed certificate with its name, fingerprint and store",
          "[integration][renew]") {
  Appliance a;
  make_web(a);
  const fs::path log = a.dir / "hook.log";
  const std::string hook = "echo \"$APPLCTL_CERT_NAME $APPLCTL_CERT_FINGERPRINT $APPLCTL_STORE\" >> " + log.string() +
                           "; echo hook-stdout";
  nlohmann::json r = a.json({"cert", "renew", "web", "--force", "--deploy-hook", hook});
  REQUIRE(r["renewed"].size() == 1);  // the hook's stdout went to stderr: stdout is one JSON document
  const std::string fp = r["renewed"][0]["fingerprint_sha256"];
  CHECK(clitest::slurp(log) == "web " + fp + " " + a.store.string() + "\n");

  // nothing due: no hook
  CHECK(a.run({"cert", "renew", "--all", "--deploy-hook", hook}).code == 11);
  CHECK(clitest::slurp(log) == "web " + fp + " " + a.store.string() + "\n");

  // a failing hook: the renewal stays, the failure is reported, exit 1
  Result failing = a.run({"--json", "cert", "renew", "web", "--force", "--deploy-hook", "exit 3"});
  CHECK(failing.code == 1);
  nlohmann::json f = failing.json();
  REQUIRE(f["renewed"].size() == 1);
  REQUIRE(f["failed"].size() == 1);
  CHECK(f["failed"][0]["friendly_name"] == "web");
  CHECK(clitest::has(f["failed"][0]["error"], "exit status 3"));
  CHECK(clitest::has(f["renewed"][0]["deploy_hook_error"], "exit status 3"));
  CHECK(cert_of(a, "web")["fingerprint_sha256"] == f["renewed"][0]["fingerprint_sha256"]);
  CHECK(f["renewed"][0]["fingerprint_sha256"] != fp);
}

TEST_CASE("cert renew --hook-timeout: a hung deploy hook is killed with its process group at the deadline",
          "[integration][renew][hook]") {
  Appliance a;
  make_web(a);
  const fs::path pidfile = a.dir / "child.pid";
  // The hook starts a grandchild that would outlive a kill of the shell alone, then hangs; it
  // also reads stdin, which must be /dev/null (a cron job's stdin never blocks it).
  const std::string hook = "cat >/dev/null; sleep 300 & echo $! > " + pidfile.string() + "; wait";
  const auto start = std::chrono::steady_clock::now();
  Result r = a.run({"--json", "cert", "renew", "web", "--force", "--hook-timeout", "2s", "--deploy-hook", hook});
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(30));
  CHECK(r.code == 1);
  nlohmann::json j = r.json();
  REQUIRE(j["renewed"].size() == 1);
  REQUIRE(j["failed"].size() == 1);
  CHECK(j["failed"][0]["code"] == "deploy-failed");
  CHECK(clitest::has(j["failed"][0]["error"], "did not finish within 2s"));
  // The new certificate stays in place.
  CHECK(cert_of(a, "web")["fingerprint_sha256"] == j["renewed"][0]["fingerprint_sha256"]);
  // The grandchild went with the group.
  const std::string pid = clitest::slurp(pidfile);
  REQUIRE(!pid.empty());
  // Gone, or a zombie waiting for init to reap it.
  auto alive = [&] {
    if (::kill(std::stoi(pid), 0) != 0) return false;
    const std::string stat = clitest::slurp(fs::path("/proc") / std::to_string(std::stoi(pid)) / "stat");
    const auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
  };
  for (int i = 0; i < 40 && alive(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(alive());

  // A bad --hook-timeout is a usage error, before any work.
  CHECK(a.run({"cert", "renew", "web", "--force", "--hook-timeout", "soon", "--deploy-hook", "true"}).code == 2);
}

TEST_CASE("cert renew of a CA-signed certificate: a request with its subject and SANs, the signed result replaces it",
          "[integration][renew]") {
  const TestPki& pki = TestPki::get();
  Appliance a;
  const fs::path csr = a.dir / "corp.csr";
  ok(a, {"csr", "create", "--name", "corp", "--key", "ec:P-256", "--cn", "corp.example.com", "--org", "Acme Corp",
         "--country", "DE", "--locality", "Berlin", "--san", "www.corp.example.com", "--san", "IP:192.0.2.7", "-o",
         csr.string()});
  pki.sign_csr(csr, a.dir / "corp.pem");
  ok(a, {"cert", "import", (a.dir / "corp.pem").string()});
  ok(a, {"ip", "add", "127.0.0.3"});
  ok(a, {"ip", "assign", "corp", "127.0.0.3"});
  ok(a, {"cert", "default", "corp"});
  const std::string old_fp = cert_of(a, "corp")["fingerprint_sha256"];

  nlohmann::json r = a.json({"cert", "renew", "corp", "--before", "1/1"});
  REQUIRE(r["renewed"].size() == 1);
  const auto& e = r["renewed"][0];
  CHECK(e["method"] == "ca-request");
  CHECK(e["request"] == "corp-renewal");
  CHECK(e["old_fingerprint"] == old_fp);
  // the certificate itself is unchanged until the CA's answer is imported
  CHECK(cert_of(a, "corp")["fingerprint_sha256"] == old_fp);
  bool listed = false;
  for (const auto& q : a.json({"csr", "list"})) listed = listed || q["friendly_name"] == "corp-renewal";
  CHECK(listed);

  Result shown = a.run({"csr", "show", "corp-renewal"});
  REQUIRE(shown.code == 0);
  const fs::path renewal = a.dir / "renewal.csr";
  clitest::spit(renewal, shown.out);
  openssl_ok({"req", "-in", renewal.string(), "-noout", "-verify"});
  const std::string req_text = openssl_ok({"req", "-in", renewal.string(), "-noout", "-text"}).out;
  const std::string cert_text = openssl_ok({"x509", "-in", (a.dir / "corp.pem").string(), "-noout", "-text"}).out;
  CHECK(openssl_ok({"req", "-in", renewal.string(), "-noout", "-subject"}).out ==
        openssl_ok({"x509", "-in", (a.dir / "corp.pem").string(), "-noout", "-subject"}).out);
  CHECK(san_line_of_text(req_text) == san_line_of_text(cert_text));
  CHECK(clitest::has(san_line_of_text(req_text), "DNS:www.corp.example.com"));
  CHECK(clitest::has(san_line_of_text(req_text), "IP Address:192.0.2.7"));
  // the same key
  CHECK(openssl_ok({"req", "-in", renewal.string(), "-noout", "-pubkey"}).out ==
        clitest::openssl_cert_pubkey(a.dir / "corp.pem"));

  // pending: not requested again, nothing changes
  const std::string pending_state = dump(a);
  nlohmann::json again = a.json({"cert", "renew", "corp", "--force"}, 11);
  REQUIRE(again["pending"].size() == 1);
  CHECK(again["pending"][0]["request"] == "corp-renewal");
  CHECK(dump(a) == pending_state);

  // the CA (openssl) signs the renewal request; importing it replaces corp in place
  pki.sign_csr(renewal, a.dir / "corp-new.pem");
  const std::string new_fp = clitest::openssl_fingerprint(a.dir / "corp-new.pem");
  Result imported = a.run({"--json", "cert", "import", (a.dir / "corp-new.pem").string()});
  REQUIRE(imported.code == 0);
  nlohmann::json imp = imported.json();
  REQUIRE(imp.size() == 1);
  CHECK(imp[0]["friendly_name"] == "corp");
  CHECK(imp[0]["status"] == "added");
  CHECK(imp[0]["replaced"] == old_fp);
  CHECK(imp[0]["replaced_name"] == "corp");
  CHECK(imp[0]["fulfilled_request"] == "corp-renewal");
  nlohmann::json corp = cert_of(a, "corp");
  CHECK(corp["fingerprint_sha256"] == new_fp);
  CHECK(corp["default"] == true);
  CHECK(corp["private_key"] == true);
  CHECK(corp["ips"] == nlohmann::json::array({"127.0.0.3"}));
  CHECK(corp["renewal"]["last_success"].is_string());
  CHECK(corp["renewal"]["method"] == "ca-request");
  CHECK(a.json({"csr", "list"}).empty());
  CHECK(std::stoll(clitest::sql(a, "SELECT count(*) FROM certificates WHERE friendly_name LIKE 'corp%'")) == 1);
}

TEST_CASE("cert renew: a failing renewal is recorded and shown while another certificate renews",
          "[integration][renew]") {
  Appliance a;
  make_web(a);
  make_web(a, "issued");
  // `issued` says it came from an ACME server: this run has no ACME client for it, so it fails
  clitest::sql(a, "INSERT INTO renewals(certificate_id, method, origin) SELECT id, 'acme', "
                  "'{\"server\":\"https://acme.invalid/dir\"}' FROM certificates WHERE friendly_name = 'issued'");
  const std::string issued_fp = cert_of(a, "issued")["fingerprint_sha256"];
  const std::string web_fp = cert_of(a, "web")["fingerprint_sha256"];

  Result r = a.run({"--json", "cert", "renew", "web", "issued", "--force"});
  CHECK(r.code == 1);
  nlohmann::json j = r.json();
  REQUIRE(j["failed"].size() == 1);
  CHECK(j["failed"][0]["friendly_name"] == "issued");
  CHECK(clitest::has(j["failed"][0]["error"], "ACME"));
  REQUIRE(j["renewed"].size() == 1);
  CHECK(j["renewed"][0]["friendly_name"] == "web");
  CHECK(cert_of(a, "web")["fingerprint_sha256"] != web_fp);

  nlohmann::json issued = cert_of(a, "issued");
  CHECK(issued["fingerprint_sha256"] == issued_fp);
  bool warned = false;
  for (const auto& w : issued["warnings"]) warned = warned || w["code"] == "renewal-failed";
  CHECK(warned);
  CHECK(clitest::has(issued["renewal"]["last_error"], "ACME"));
  CHECK(issued["renewal"]["method"] == "acme");
  CHECK(clitest::has(a.run({"cert", "list"}).out, "renewal-failed"));
  nlohmann::json status = a.json({"status"});
  REQUIRE(status["renewal"]["failed"].size() == 1);
  CHECK(status["renewal"]["failed"][0]["friendly_name"] == "issued");
  CHECK(status["renewal"]["next_due"]["friendly_name"].is_string());
  CHECK(clitest::has(a.run({"status"}).out, "renewal failed"));
  // cert check keeps its exit codes
  CHECK(a.run({"cert", "check"}).code == 0);
  CHECK(a.run({"cert", "check", "--expires-in", "100d"}).code == 10);
}

TEST_CASE("cert renew --all on 10,000 certificates with nothing due changes nothing",
          "[integration][renew]") {
  // How long it takes is scripts/bench's row (target 500 ms); here: exit 11 and no change.
  Appliance a;
  make_web(a);
  // 10,000 copies of web's row under other names (the DER is never parsed when nothing is due)
  clitest::sql(a,
               "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)"
               " INSERT INTO certificates(friendly_name, fingerprint_sha256, der, key_id, issued_to, issued_by, subject,"
               " issuer, subject_hash, issuer_hash, subject_key_id, authority_key_id, spki_sha256, serial, not_before,"
               " not_after, alt_names, role, self_signed, warnings, source, chain_mode, created)"
               " SELECT 'bulk-' || i, printf('%064x', i), der, key_id, issued_to, issued_by, subject, issuer,"
               " subject_hash, issuer_hash, subject_key_id, authority_key_id, spki_sha256, serial, not_before,"
               " not_after, alt_names, role, self_signed, warnings, source, chain_mode, created"
               " FROM n, certificates WHERE friendly_name = 'web'");
  REQUIRE(clitest::count_rows(a, "certificates") == 10002);
  const std::string head = clitest::sql(a, "SELECT max(id) FROM audit_log");
  const std::string before = a.dump();
  Result r = a.run({"--json", "cert", "renew", "--all"});
  CHECK(r.code == 11);
  nlohmann::json doc = nlohmann::json::parse(r.out);
  CHECK(doc["renewed"].empty());
  CHECK(doc["failed"].empty());
  CHECK(doc["not_due"].size() >= 10001);  // every leaf with its key
  CHECK(clitest::sql(a, "SELECT max(id) FROM audit_log") == head);
  CHECK(a.dump() == before);
}
