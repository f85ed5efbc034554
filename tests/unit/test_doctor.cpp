// [doctor] check_store: a healthy store passes every check; each corruption made behind applctl's
// back (with sqlite directly) fails exactly the check that guards that invariant.
#include <algorithm>
#include <string>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/doctor.hpp"
#include "applctl/services/ips.hpp"
#include "applctl/services/requests.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::RawDb;
using unit_pki::TempDir;
namespace fs = std::filesystem;

namespace {

// A store with the factory default, two self-signed certificates, a pending request and an
// address served by one of the certificates.
void build_store(const fs::path& dir) {
  Store s = Store::open(dir, Store::Mode::ReadWrite);
  init_appliance(s, {{"appl.example.com"}});
  for (const char* name : {"web", "mail"}) {
    SelfSignedRequest r;
    r.name = name;
    r.key = KeySpec::parse("ec:P-256");
    r.subject.cn = std::string(name) + ".example.com";
    create_self_signed(s, r);
  }
  CsrRequest csr;
  csr.name = "req";
  csr.key = KeySpec::parse("ec:P-256");
  csr.subject.cn = "req.example.com";
  create_request(s, csr);
  add_ips(s, {"192.0.2.10"});
  assign_ips(s, "web", {"192.0.2.10"});
}

DoctorReport doctor(const fs::path& dir) {
  Store s = Store::open(dir, Store::Mode::ReadOnly);
  return check_store(s);
}

const DoctorCheck& find(const DoctorReport& r, const std::string& name) {
  auto it = std::find_if(r.checks.begin(), r.checks.end(), [&](const DoctorCheck& c) { return c.name == name; });
  REQUIRE(it != r.checks.end());
  return *it;
}

// Only the named check fails, and its detail names the object.
void expect_only(const DoctorReport& r, const std::string& name, const std::string& detail_has) {
  for (const auto& c : r.checks) {
    INFO(c.name << ": " << c.detail);
    CHECK(c.ok == (c.name != name));
  }
  CHECK(r.problems() == 1);
  CHECK_FALSE(r.ok());
  INFO(find(r, name).detail);
  CHECK(find(r, name).detail.find(detail_has) != std::string::npos);
}

std::string id_of(RawDb& db, const std::string& name) {
  return db.rows("SELECT id FROM certificates WHERE friendly_name = '" + name + "'").at(0).at(0);
}

}  // namespace

TEST_CASE("doctor passes a healthy store and an empty one", "[doctor]") {
  TempDir tmp;
  DoctorReport empty = doctor(tmp.path() / "missing");
  CHECK(empty.ok());
  build_store(tmp.path() / "store");
  DoctorReport r = doctor(tmp.path() / "store");
  for (const auto& c : r.checks) {
    INFO(c.name << ": " << c.detail);
    CHECK(c.ok);
  }
  CHECK(r.ok());
  CHECK(r.problems() == 0);
  for (const char* name : {"integrity", "foreign-keys", "schema-version", "certificate-columns", "keys", "certificate-keys",
                           "request-keys", "ip-assignments", "default-certificate", "renewals", "chains", "acme-account-key"})
    CHECK_NOTHROW(find(r, name));
  CHECK(find(r, "certificate-columns").detail.find("3 certificates") != std::string::npos);
}

TEST_CASE("doctor reports each corruption made behind its back", "[doctor]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "store";
  build_store(dir);
  RawDb db(dir);  // foreign keys off: these rows could not be written by applctl
  const std::string web = id_of(db, "web"), mail = id_of(db, "mail");

  SECTION("a wrong fingerprint column") {
    db.exec("UPDATE certificates SET fingerprint_sha256 = '00' || substr(fingerprint_sha256, 3) WHERE id = " + web);
    expect_only(doctor(dir), "certificate-columns", "'web': stored fingerprint_sha256 differ");
  }
  SECTION("a wrong validity and subject column") {
    db.exec("UPDATE certificates SET not_after = not_after + 1, subject = 'CN=evil' WHERE id = " + mail);
    expect_only(doctor(dir), "certificate-columns", "subject, not_after");
  }
  SECTION("a certificate whose DER does not parse") {
    db.exec("UPDATE certificates SET der = x'3003020100' WHERE id = " + mail);
    DoctorReport r = doctor(dir);
    CHECK_FALSE(find(r, "certificate-columns").ok);
    CHECK(find(r, "certificate-columns").detail.find("'mail': its DER does not parse") != std::string::npos);
  }
  SECTION("a dangling IP assignment") {
    db.exec("UPDATE ip_addresses SET certificate_id = 999 WHERE address = '192.0.2.10'");
    DoctorReport r = doctor(dir);
    CHECK_FALSE(find(r, "ip-assignments").ok);
    CHECK(find(r, "ip-assignments").detail.find("192.0.2.10: certificate 999") != std::string::npos);
    CHECK_FALSE(find(r, "foreign-keys").ok);  // SQLite's own check agrees
    CHECK(r.problems() == 2);
  }
  SECTION("a key that does not match its certificate") {
    db.exec("UPDATE certificates SET key_id = (SELECT key_id FROM certificates WHERE id = " + mail + ") WHERE id = " + web);
    expect_only(doctor(dir), "certificate-keys", "'web': its key");
  }
  SECTION("a key whose stored hash is not its own") {
    db.exec("UPDATE keys SET spki_sha256 = 'ff' WHERE id = (SELECT key_id FROM requests)");
    expect_only(doctor(dir), "keys", "stored spki_sha256 differs");
  }
  SECTION("a request whose key is gone") {
    db.exec("DELETE FROM keys WHERE id = (SELECT key_id FROM requests)");
    DoctorReport r = doctor(dir);
    CHECK_FALSE(find(r, "request-keys").ok);
    CHECK(find(r, "request-keys").detail.find("request 1 'req': its key") != std::string::npos);
  }
  SECTION("no default certificate") {
    db.exec("DELETE FROM settings WHERE key = 'default_cert'");
    expect_only(doctor(dir), "default-certificate", "no default certificate");
  }
  SECTION("a default that is not in the store") {
    db.exec("UPDATE settings SET value = '4242' WHERE key = 'default_cert'");
    expect_only(doctor(dir), "default-certificate", "default certificate 4242 is not in the store");
  }
  SECTION("renewal state of a removed certificate") {
    db.exec("INSERT INTO renewals(certificate_id, method) VALUES(777, 'acme')");
    DoctorReport r = doctor(dir);
    CHECK_FALSE(find(r, "renewals").ok);
    CHECK(find(r, "renewals").detail.find("777") != std::string::npos);
  }
  SECTION("a stored chain that does not parse, an unknown chain mode") {
    db.exec("UPDATE certificates SET chain_mode = 'manual', chain_pem = 'garbage' WHERE id = " + web);
    db.exec("UPDATE certificates SET chain_mode = 'sideways' WHERE id = " + mail);
    DoctorReport r = doctor(dir);
    expect_only(r, "chains", "'web': its stored chain does not parse");
    CHECK(find(r, "chains").detail.find("unknown chain mode 'sideways'") != std::string::npos);
  }
  SECTION("an unknown schema version") {
    db.exec("INSERT INTO schema_version(version) VALUES(1)");
    expect_only(doctor(dir), "schema-version", "2 rows");
  }
}
