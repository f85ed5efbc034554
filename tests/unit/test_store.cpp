// [store] the SQLite store: creation and modes, schema, transactions and their audit rows,
// injected failures (all or nothing), name resolution, two processes' worth of connections.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "applctl/services/appliance.hpp"
#include "applctl/services/status.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/import.hpp"
#include "base/ossl.hpp"
#include "unit_pki.hpp"
#include "x509/util.hpp"

using namespace applctl;
using unit_pki::kind_of;
using unit_pki::RawDb;
using unit_pki::TempDir;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

const PrivateKey& store_key() {
  static const PrivateKey key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  return key;
}

// A self-signed certificate for name.example.com, inspected.
std::pair<Bytes, CertInfo> make_cert(const std::string& host) {
  NewCertificate spec;
  spec.subject.cn = host;
  spec.sans = {{SanType::DNS, host}};
  Bytes der = make_self_signed(store_key(), spec);
  CertInfo info = inspect_certificate(der);
  return {der, info};
}

std::int64_t add_cert(Store& store, const std::string& name, const std::string& host, std::string command = "test add") {
  auto [der, info] = make_cert(host);
  auto tx = store.write(std::move(command));
  std::int64_t id = store.insert_cert(info, der, name, std::nullopt, "self-signed");
  tx.touch("cert:" + name);
  tx.commit();
  return id;
}

SelfSignedRequest self_signed_request(const std::string& name, const std::string& host) {
  SelfSignedRequest r;
  r.name = name;
  r.key = KeySpec::parse("ec:P-256");
  r.subject.cn = host;
  return r;
}

std::string user_name() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "uid:" + std::to_string(::geteuid());
}

}  // namespace

TEST_CASE("Store::open ReadOnly on a missing store creates nothing and lists empty", "[store]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "missing" / "store";
  Store s = Store::open(dir, Store::Mode::ReadOnly);
  CHECK_FALSE(s.exists());
  CHECK(s.list_certs().empty());
  CHECK(s.count_certs() == 0);
  CHECK(s.list_requests().empty());
  CHECK(s.list_ips().empty());
  CHECK_FALSE(s.setting("hostnames"));
  CHECK_FALSE(s.soonest_expiry());
  CHECK(kind_of([&] { s.resolve_cert("web"); }) == ErrorKind::NotFound);
  CHECK(appliance_status(s).certificates == 0);
  CHECK_FALSE(fs::exists(dir));
  CHECK_FALSE(fs::exists(tmp.path() / "missing"));
}

TEST_CASE("Store::open ReadWrite creates a 0700 directory and a 0600 database with the current schema", "[store]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "a" / "store";
  {
    Store s = Store::open(dir, Store::Mode::ReadWrite);
    // Created on first use, so a command that fails before touching the store leaves none.
    CHECK_FALSE(s.exists());
    CHECK_FALSE(fs::exists(tmp.path() / "a"));
    CHECK(s.count_certs() == 0);
    CHECK(s.exists());
    CHECK(s.dir() == dir);
    add_cert(s, "web", "web.example.com");  // the -wal file exists now
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(Store::database_path(dir)) == 0600);
    fs::path wal = Store::database_path(dir).string() + "-wal";
    if (fs::exists(wal)) CHECK(mode_of(wal) == 0600);
  }
  CHECK(Store::database_path(dir) == dir / "applctl.db");
  RawDb db(dir);
  CHECK(db.rows("SELECT version FROM schema_version") == std::vector<std::vector<std::string>>{{"4"}});
  CHECK(db.rows("PRAGMA journal_mode")[0][0] == "wal");
  // Reopening neither migrates again nor duplicates the version row.
  Store again = Store::open(dir, Store::Mode::ReadWrite);
  CHECK(again.count_certs() == 1);
  CHECK(db.count("schema_version") == 1);
  // Read-only opening of an existing store sees the same data.
  Store ro = Store::open(dir, Store::Mode::ReadOnly);
  CHECK(ro.exists());
  CHECK(ro.cert_by_name("web"));
}

TEST_CASE("Store::open upgrades a version 1 store: its data stays and the key indexes and renewal tables appear", "[store]") {
  TempDir tmp;
  {
    Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
    add_cert(s, "web", "web.example.com");
  }
  {
    RawDb old(tmp.path());
    // Back to schema 1: without the indexes of 2 and what 3 added (renewals, the requests column,
    // which SQLite cannot drop while it is a foreign key: the table is rebuilt as 1 made it).
    old.exec("DROP INDEX certificates_key; DROP INDEX requests_key; DROP INDEX ip_addresses_certificate;"
             "DROP TABLE renewals; DROP INDEX requests_renews; DROP TABLE requests;"
             "CREATE TABLE requests(id INTEGER PRIMARY KEY, friendly_name TEXT NOT NULL UNIQUE,"
             " key_id INTEGER NOT NULL REFERENCES keys(id), der BLOB NOT NULL, subject TEXT NOT NULL,"
             " alt_names TEXT NOT NULL, fingerprint_sha256 TEXT NOT NULL, spki_sha256 TEXT NOT NULL,"
             " key_spec TEXT NOT NULL, created INTEGER NOT NULL);"
             "UPDATE schema_version SET version = 1");
  }
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  CHECK(s.cert_by_name("web"));
  CHECK(s.list_requests().empty());
  CHECK_FALSE(s.renewal_state(s.cert_by_name("web")->id));
  RawDb db(tmp.path());
  CHECK(db.rows("SELECT version FROM schema_version") == std::vector<std::vector<std::string>>{{"4"}});
  CHECK(db.rows("SELECT name FROM sqlite_master WHERE name IN ('renewals', 'requests_renews') ORDER BY name") ==
        std::vector<std::vector<std::string>>{{"renewals"}, {"requests_renews"}});
  CHECK(db.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('certificates_key', 'requests_key',"
                " 'ip_addresses_certificate') ORDER BY name") ==
        std::vector<std::vector<std::string>>{{"certificates_key"}, {"ip_addresses_certificate"}, {"requests_key"}});
  // The plan for counting unattached keys uses the index, not a scan per key.
  auto plan = db.rows("EXPLAIN QUERY PLAN SELECT count(*) FROM keys k WHERE NOT EXISTS "
                      "(SELECT 1 FROM certificates c WHERE c.key_id = k.id)");
  bool uses_index = false;
  for (const auto& row : plan)
    for (const auto& col : row) uses_index = uses_index || col.find("certificates_key") != std::string::npos;
  CHECK(uses_index);
}

TEST_CASE("Store::open upgrades a version 3 store: SANs joined by newlines become a JSON array, raw text is escaped",
          "[store][hostile]") {
  TempDir tmp;
  // A certificate whose SAN holds a newline and whose CN holds ESC (made through the C API: the
  // builder refuses such SANs).
  auto key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  Bytes der;
  {
    ossl::X509Ptr x(X509_new());
    X509_set_version(x.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    const std::string cn = "evil\x1b[2J";
    X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING, reinterpret_cast<const unsigned char*>(cn.data()),
                               static_cast<int>(cn.size()), -1, 0);
    X509_set_issuer_name(x.get(), name);
    GENERAL_NAMES* gens = x509util::make_general_names({"DNS:a\nb.example.com"});
    X509_add1_ext_i2d(x.get(), NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
    GENERAL_NAMES_free(gens);
    REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) != 0);
    der = ossl::to_der(x.get(), i2d_X509, "i2d_X509");
  }
  {
    Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
    auto tx = s.write("test add");
    s.insert_cert(inspect_certificate(der), der, "hostile", std::nullopt, "imported");
    tx.commit();
  }
  {
    RawDb old(tmp.path());
    // What version 3 stored: the SANs joined by newlines, the CN as it is.
    old.exec("UPDATE certificates SET alt_names = 'DNS:a' || char(10) || 'b.example.com',"
             " issued_to = 'evil' || char(27) || '[2J', friendly_name = 'evil' || char(27) || '[2J';"
             " UPDATE schema_version SET version = 3");
  }
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  // The friendly name an older import took from the CN as it was is escaped too.
  REQUIRE(s.cert_by_name("evil\\x1b[2J"));
  const CertRow row = *s.cert_by_name("evil\\x1b[2J");
  CHECK(row.alt_names == std::vector<std::string>{"DNS:a\\x0ab.example.com"});
  CHECK(row.issued_to == "evil\\x1b[2J");
  RawDb db(tmp.path());
  CHECK(db.rows("SELECT version FROM schema_version") == std::vector<std::vector<std::string>>{{"4"}});
  CHECK(db.rows("SELECT alt_names FROM certificates") ==
        std::vector<std::vector<std::string>>{{"[\"DNS:a\\\\x0ab.example.com\"]"}});
}

TEST_CASE("Store::open refuses a store with a newer schema", "[store]") {
  TempDir tmp;
  { Store::open(tmp.path(), Store::Mode::ReadWrite).count_certs(); }
  RawDb(tmp.path()).exec("UPDATE schema_version SET version = 99");
  auto e = unit_pki::error_of([&] { Store::open(tmp.path(), Store::Mode::ReadWrite); });
  CHECK(e.kind() == ErrorKind::Failed);
  CHECK(std::string(e.what()).find("99") != std::string::npos);
}

TEST_CASE("A transaction destroyed without commit rolls back", "[store]") {
  TempDir tmp;
  {
    Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
    {
      auto [der, info] = make_cert("gone.example.com");
      auto tx = s.write("test rollback");
      s.insert_cert(info, der, "gone", s.insert_key(store_key()), "self-signed");
      s.set_setting("marker", "1");
      CHECK(s.cert_by_name("gone"));  // visible inside the transaction
    }
    CHECK_FALSE(s.cert_by_name("gone"));
    CHECK_FALSE(s.setting("marker"));
  }
  Store s = Store::open(tmp.path(), Store::Mode::ReadOnly);
  CHECK(s.count_certs() == 0);
  RawDb db(tmp.path());
  CHECK(db.count("keys") == 0);
  CHECK(db.count("audit_log") == 0);
}

TEST_CASE("A commit writes exactly one audit row: command, user, objects, never a PEM", "[store]") {
  TempDir tmp;
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  add_cert(s, "web", "web.example.com", "cert test-add");
  RawDb db(tmp.path());
  auto rows = db.rows("SELECT time, user, command, objects FROM audit_log");
  REQUIRE(rows.size() == 1);
  CHECK(std::abs(std::stoll(rows[0][0]) - now()) < 60);
  CHECK(rows[0][1] == user_name());
  CHECK(rows[0][2] == "cert test-add");
  CHECK(nlohmann::json::parse(rows[0][3]) == nlohmann::json::array({"cert:web"}));

  // A whole service command: one more row, naming the certificate, without key or certificate data.
  create_self_signed(s, self_signed_request("shop", "shop.example.com"));
  auto all = db.rows("SELECT command, objects FROM audit_log ORDER BY id");
  std::vector<std::string> commands;
  for (const auto& r : all) {
    commands.push_back(r[0]);
    CHECK(r[1].find("-----BEGIN") == std::string::npos);
    CHECK(r[1].find("PRIVATE") == std::string::npos);
    CHECK(r[1].size() < 200);
  }
  // ensure_initialized made the factory certificate in its own transaction ("init").
  CHECK(commands == std::vector<std::string>{"cert test-add", "init", "cert self-signed"});
  CHECK(all.back()[1].find("cert:shop:") != std::string::npos);
}

TEST_CASE("Injected failure: the audit row cannot be written, so create_self_signed changes nothing", "[store]") {
  TempDir tmp;
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  init_appliance(s, {{"appl.example.com"}});
  const auto certs = s.count_certs();
  const auto keys = unit_pki::count_rows(tmp.path(), "keys");
  RawDb(tmp.path()).exec("DROP TABLE audit_log");
  CHECK(kind_of([&] { create_self_signed(s, self_signed_request("web", "web.example.com")); }) == ErrorKind::Failed);
  CHECK_FALSE(s.cert_by_name("web"));
  CHECK(s.count_certs() == certs);
  CHECK(unit_pki::count_rows(tmp.path(), "keys") == keys);
  // The store is still usable once the table is back (no transaction left open).
  RawDb(tmp.path()).exec("CREATE TABLE audit_log(id INTEGER PRIMARY KEY, time INTEGER NOT NULL, user TEXT NOT NULL,"
                         " command TEXT NOT NULL, objects TEXT NOT NULL)");
  create_self_signed(s, self_signed_request("web", "web.example.com"));
  CHECK(Store::open(tmp.path(), Store::Mode::ReadOnly).cert_by_name("web"));
}

TEST_CASE("Injected failure: a duplicate friendly name mid-import rolls back the whole import", "[store]") {
  const auto& pki = unit_pki::Pki::get();
  TempDir tmp;
  Store s = Store::open(tmp.path() / "store", Store::Mode::ReadWrite);
  create_self_signed(s, self_signed_request("web", "web.example.com"));
  const auto certs = s.count_certs();
  const auto keys = unit_pki::count_rows(s.dir(), "keys");
  const auto audits = unit_pki::count_rows(s.dir(), "audit_log");
  // The root and the intermediate come first and would be added; the leaf's key too; then the
  // leaf's name is taken.
  unit_pki::write_text(tmp / "bundle.pem",
                       pki.text("root.pem") + pki.text("int.pem") + pki.text("leaf.pem") + pki.text("leaf.key"));
  ImportRequest req;
  req.files = {tmp / "bundle.pem"};
  req.name = "web";
  CHECK(kind_of([&] { import_files(s, req); }) == ErrorKind::Refused);
  CHECK(s.count_certs() == certs);
  CHECK_FALSE(s.cert_by_name("Unit Root CA"));
  CHECK_FALSE(s.cert_by_name("Unit Intermediate CA"));
  CHECK(unit_pki::count_rows(s.dir(), "keys") == keys);
  CHECK(unit_pki::count_rows(s.dir(), "audit_log") == audits);
  // Under a free name the same import goes through.
  req.name = "leaf";
  CHECK(import_files(s, req).certificates.size() == 3);
  CHECK(s.cert_by_name("leaf")->key_id.has_value());
}

TEST_CASE("Injected failure: a locked store refuses a write after the lock timeout and nothing changes", "[store]") {
  TempDir tmp;
  {
    Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
    add_cert(s, "web", "web.example.com");
  }
  unit_pki::ScopedEnv timeout("APPLCTL_LOCK_TIMEOUT", "1");
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  RawDb holder(tmp.path());
  holder.exec("BEGIN EXCLUSIVE");
  const auto start = std::chrono::steady_clock::now();
  auto e = unit_pki::error_of([&] { add_cert(s, "other", "other.example.com"); });
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(e.kind() == ErrorKind::Refused);
  CHECK_FALSE(e.hint().empty());
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(10));
  // A whole service command fails the same way.
  CHECK(kind_of([&] { rename_certificate(s, "web", "web2"); }) == ErrorKind::Refused);
  holder.exec("ROLLBACK");
  CHECK(s.count_certs() == 1);
  CHECK(s.cert_by_name("web"));
  CHECK(unit_pki::count_rows(tmp.path(), "audit_log") == 1);
  // The lock is gone: the same write works now.
  add_cert(s, "other", "other.example.com");
  CHECK(s.count_certs() == 2);
}

TEST_CASE("Injected failure: a read-only store cannot be opened for writing and keeps its data", "[store]") {
  if (::geteuid() == 0) {
    WARN("running as root, which ignores file modes: see the locked-store test for this injection");
    return;
  }
  TempDir tmp;
  {
    Store s = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
    add_cert(s, "web", "web.example.com");
  }
  const fs::path dir = tmp.path() / "s";
  REQUIRE(::chmod(Store::database_path(dir).c_str(), 0400) == 0);
  REQUIRE(::chmod(dir.c_str(), 0500) == 0);
  CHECK(kind_of([&] { Store::open(dir, Store::Mode::ReadWrite); }) == ErrorKind::Failed);
  Store ro = Store::open(dir, Store::Mode::ReadOnly);
  CHECK(ro.count_certs() == 1);
  CHECK(ro.cert_by_name("web"));
  ::chmod(dir.c_str(), 0700);
  ::chmod(Store::database_path(dir).c_str(), 0600);
}

TEST_CASE("resolve_cert: friendly name, fingerprint prefix of 8+ hex digits, colons and case ignored", "[store]") {
  TempDir tmp;
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  add_cert(s, "web", "web.example.com");
  add_cert(s, "api", "api.example.com");
  const CertRow web = *s.cert_by_name("web");
  const std::string fp = web.fingerprint_sha256;

  CHECK(s.resolve_cert("web").id == web.id);
  CHECK(s.resolve_cert(fp).id == web.id);
  CHECK(s.resolve_cert(fp.substr(0, 8)).id == web.id);
  std::string colons, upper;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i != 0 && i % 2 == 0) colons += ':';
    colons += static_cast<char>(std::toupper(static_cast<unsigned char>(fp[i])));
  }
  for (char ch : fp.substr(0, 12)) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(s.resolve_cert(colons).id == web.id);  // "AB:CD:..."
  CHECK(s.resolve_cert(upper).id == web.id);

  CHECK(kind_of([&] { s.resolve_cert("nope"); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { s.resolve_cert(fp.substr(0, 7)); }) == ErrorKind::NotFound);
  CHECK(kind_of([&] { s.resolve_cert(""); }) == ErrorKind::NotFound);
  // A prefix of nobody's fingerprint.
  std::string other = fp.substr(0, 8);
  other[0] = other[0] == '0' ? '1' : '0';
  if (!s.cert_by_name("api")->fingerprint_sha256.starts_with(other))
    CHECK(kind_of([&] { s.resolve_cert(other); }) == ErrorKind::NotFound);
}

TEST_CASE("resolve_cert: an ambiguous prefix is refused, naming the candidates", "[store]") {
  TempDir tmp;
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  auto [der1, info1] = make_cert("one.example.com");
  auto [der2, info2] = make_cert("two.example.com");
  // Stored rows carry the fingerprint column; forge two that share 10 hex digits.
  info1.fingerprint_sha256 = "deadbeef00" + info1.fingerprint_sha256.substr(10);
  info2.fingerprint_sha256 = "deadbeef01" + info2.fingerprint_sha256.substr(10);
  {
    auto tx = s.write("test forge");
    s.insert_cert(info1, der1, "one", std::nullopt, "imported");
    s.insert_cert(info2, der2, "two", std::nullopt, "imported");
    tx.commit();
  }
  auto e = unit_pki::error_of([&] { s.resolve_cert("deadbeef"); });
  CHECK(e.kind() == ErrorKind::Refused);
  CHECK(std::string(e.what()).find("one") != std::string::npos);
  CHECK(std::string(e.what()).find("two") != std::string::npos);
  CHECK(s.resolve_cert("DEADBEEF:00").friendly_name == "one");
  CHECK(s.resolve_cert("deadbeef01").friendly_name == "two");
}

TEST_CASE("Keys: stored once per public key, loaded back, removed only when unused", "[store]") {
  TempDir tmp;
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  auto tx = s.write("test keys");
  PrivateKey k = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  std::int64_t id = s.insert_key(k);
  CHECK(s.insert_key(k) == id);
  CHECK(s.find_key(k.spki_sha256()) == id);
  CHECK(s.load_key(id).spki_sha256() == k.spki_sha256());
  CHECK(kind_of([&] { s.load_key(id + 100); }) == ErrorKind::NotFound);
  CHECK(s.count_unattached_keys() == 1);

  auto [der, info] = make_cert("k.example.com");
  std::int64_t used = s.insert_key(store_key());
  std::int64_t cert = s.insert_cert(info, der, "k", used, "self-signed");
  CHECK(s.count_unattached_keys() == 1);
  s.remove_key_if_unused(used);
  CHECK(s.find_key(store_key().spki_sha256()) == used);
  s.remove_key_if_unused(id);
  CHECK_FALSE(s.find_key(k.spki_sha256()));
  s.remove_cert(cert);
  s.remove_key_if_unused(used);
  CHECK_FALSE(s.find_key(store_key().spki_sha256()));
  std::int64_t again = s.insert_key(k);
  tx.commit();
  RawDb db(tmp.path());
  CHECK(db.rows("SELECT id, key_type FROM keys") ==
        std::vector<std::vector<std::string>>{{std::to_string(again), "ec:P-256"}});
}

TEST_CASE("Two Store objects on one directory: a write waits for the other's transaction", "[store]") {
  TempDir tmp;
  { Store::open(tmp.path(), Store::Mode::ReadWrite).count_certs(); }
  Store waiting = Store::open(tmp.path(), Store::Mode::ReadWrite);
  std::promise<void> locked;
  auto holder = std::async(std::launch::async, [&] {
    Store first = Store::open(tmp.path(), Store::Mode::ReadWrite);
    auto [der, info] = make_cert("first.example.com");
    auto tx = first.write("test first");
    first.insert_cert(info, der, "first", std::nullopt, "self-signed");
    locked.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    tx.commit();
  });
  locked.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  add_cert(waiting, "second", "second.example.com");
  const auto waited = std::chrono::steady_clock::now() - start;
  holder.get();
  CHECK(waited >= std::chrono::milliseconds(250));
  // Both commands' changes are there: nothing lost.
  CHECK(waiting.cert_by_name("first"));
  CHECK(waiting.cert_by_name("second"));
  CHECK(unit_pki::count_rows(tmp.path(), "audit_log") == 2);
}

TEST_CASE("Settings, requests and IP addresses in the store", "[store]") {
  TempDir tmp;
  Store s = Store::open(tmp.path(), Store::Mode::ReadWrite);
  auto tx = s.write("test misc");
  s.set_setting("k", "v1");
  s.set_setting("k", "v2");
  CHECK(s.setting("k") == "v2");
  s.erase_setting("k");
  CHECK_FALSE(s.setting("k"));

  RequestRow r;
  r.friendly_name = "req";
  r.subject = "CN=req.example.com";
  r.alt_names = {"DNS:req.example.com", "IP:10.0.0.1"};
  r.key_id = s.insert_key(store_key());
  r.key_spec = "ec:P-256";
  std::int64_t id = s.insert_request(r, as_bytes("der"));
  CHECK(kind_of([&] { s.insert_request(r, as_bytes("der")); }) == ErrorKind::Refused);
  CHECK(s.resolve_request("req").id == id);
  CHECK(s.resolve_request(std::to_string(id)).friendly_name == "req");
  CHECK(s.resolve_request("req").alt_names == r.alt_names);
  CHECK(kind_of([&] { s.resolve_request("nope"); }) == ErrorKind::NotFound);
  CHECK(to_string(s.request_der(id)) == "der");
  s.remove_request(id);
  CHECK(s.count_requests() == 0);

  auto [der, info] = make_cert("c.example.com");
  std::int64_t a = s.insert_cert(info, der, "a", std::nullopt, "self-signed");
  auto [der2, info2] = make_cert("d.example.com");
  std::int64_t b = s.insert_cert(info2, der2, "b", std::nullopt, "self-signed");
  s.add_ip("10.0.0.2", a);
  s.add_ip("10.0.0.1", std::nullopt);
  s.assign_ip("10.0.0.1", a);
  auto ips = s.list_ips();
  REQUIRE(ips.size() == 2);
  CHECK(ips[0].address == "10.0.0.1");  // sorted by address
  CHECK(ips[0].cert_id == a);
  s.move_ips(a, b);
  for (const auto& ip : s.list_ips()) CHECK(ip.cert_id == b);
  s.remove_ip("10.0.0.1");
  CHECK(s.list_ips().size() == 1);
  tx.commit();
}
