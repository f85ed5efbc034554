// [service] appliance services over a real store: init, self-signed, rename/remove/default, check,
// requests, import with key linking and request fulfilment, chains; [lint] the warnings that
// depend on time, keys, the store's chains and hostnames (summarize()).
#include <map>
#include <string>
#include <vector>

#include "applctl/services/appliance.hpp"
#include "applctl/services/status.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/chains.hpp"
#include "applctl/services/import.hpp"
#include "applctl/services/requests.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::codes;
using unit_pki::has_code;
using unit_pki::kind_of;
using UnitPki = unit_pki::Pki;
using unit_pki::TempDir;

namespace {

using unit_pki::kDay;

struct ServiceFixture {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "store", Store::Mode::ReadWrite);
  explicit ServiceFixture(std::vector<std::string> hostnames = {"appl.example.com"}) {
    init_appliance(store, {std::move(hostnames)});
  }
  std::int64_t rows(const std::string& table) const { return unit_pki::count_rows(store.dir(), table); }
  ImportResult import(std::vector<std::string> files, std::optional<std::string> name = {}) {
    ImportRequest r;
    r.files = std::move(files);
    r.name = std::move(name);
    return import_files(store, r);
  }
  // Writes the concatenation of PKI files (or literal text) into the temp dir, returns its path.
  std::string file(const std::string& name, const std::string& text) const {
    unit_pki::write_text(tmp / name, text);
    return tmp / name;
  }
};

SelfSignedRequest signed_request_for(const std::string& name, const std::string& cn, std::vector<std::string> sans = {}) {
  SelfSignedRequest r;
  r.name = name;
  r.key = KeySpec::parse("ec:P-256");
  r.subject.cn = cn;
  r.sans = std::move(sans);
  return r;
}

// Stores a self-signed certificate for host with the given validity, with or without its key.
CertRow put_cert(Store& store, const std::string& name, const std::string& host, UnixTime not_before, int days,
                 bool with_key = true) {
  PrivateKey key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  NewCertificate spec;
  spec.subject.cn = host;
  spec.sans = {{SanType::DNS, host}};
  spec.days = days;
  spec.not_before = not_before;
  Bytes der = make_self_signed(key, spec);
  auto tx = store.write("test put");
  std::optional<std::int64_t> key_id;
  if (with_key) key_id = store.insert_key(key);
  std::int64_t id = store.insert_cert(inspect_certificate(der), der, name, key_id, "self-signed");
  tx.commit();
  return *store.cert_by_id(id);
}

std::string fp_of(const std::string& pki_base) { return UnitPki::get().fingerprint(pki_base); }

}  // namespace

// ---- init and the certificate verbs --------------------------------------------------------

TEST_CASE("init_appliance makes the factory default once, hostnames can change", "[service]") {
  TempDir tmp;
  Store store = Store::open(tmp.path(), Store::Mode::ReadWrite);
  InitResult first = init_appliance(store, {{"appl.example.com", "APPL.example.com", "b.example.com"}});
  CHECK(first.created);
  CHECK(first.hostnames == std::vector<std::string>{"appl.example.com", "b.example.com"});
  CHECK(first.factory.row.friendly_name == kFactoryName);
  CHECK(first.factory.factory_default);
  CHECK(first.factory.is_default);
  CHECK(first.factory.has_key);
  CHECK(first.factory.row.alt_names == std::vector<std::string>{"DNS:appl.example.com", "DNS:b.example.com"});
  CHECK(first.factory.row.issued_to == "appl.example.com");
  CHECK(first.factory.row.source == "factory");
  CHECK(default_cert_id(store) == first.factory.row.id);
  CHECK(factory_cert_id(store) == first.factory.row.id);
  const auto audits = unit_pki::count_rows(tmp.path(), "audit_log");
  CHECK(audits == 1);

  InitResult second = init_appliance(store, {});
  CHECK_FALSE(second.created);
  CHECK_FALSE(second.hostnames_changed);
  CHECK(second.hostnames == first.hostnames);
  CHECK(second.factory.row.fingerprint_sha256 == first.factory.row.fingerprint_sha256);
  CHECK(unit_pki::count_rows(tmp.path(), "audit_log") == audits);  // nothing changed, nothing audited
  ensure_initialized(store);
  CHECK(store.count_certs() == 1);

  InitResult third = init_appliance(store, {{"new.example.com"}});
  CHECK_FALSE(third.created);
  CHECK(third.hostnames_changed);
  CHECK(appliance_hostnames(store) == std::vector<std::string>{"new.example.com"});
  // New hostnames: the factory certificate is made again for them, in its place.
  CHECK(third.factory_reissued);
  CHECK(third.factory.row.fingerprint_sha256 != first.factory.row.fingerprint_sha256);
  CHECK(third.factory.row.id == first.factory.row.id);
  CHECK(third.factory.row.alt_names == std::vector<std::string>{"DNS:new.example.com"});
  CHECK(store.count_certs() == 1);
  CHECK(unit_pki::count_rows(tmp.path(), "audit_log") == audits + 1);

  CHECK(kind_of([&] { init_appliance(store, {{"*.example.com"}}); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { init_appliance(store, {{"10.0.0.1"}}); }) == ErrorKind::BadInput);
  CHECK(appliance_hostnames(store) == std::vector<std::string>{"new.example.com"});
}

TEST_CASE("ensure_initialized creates the factory default in a new store", "[service]") {
  TempDir tmp;
  Store store = Store::open(tmp.path(), Store::Mode::ReadWrite);
  CHECK_FALSE(factory_cert_id(store));
  ensure_initialized(store);
  REQUIRE(factory_cert_id(store));
  CHECK(store.cert_by_id(*factory_cert_id(store))->friendly_name == kFactoryName);
  CHECK(appliance_hostnames(store).size() == 1);
  StatusResult st = appliance_status(store);
  CHECK(st.initialized);
  CHECK(st.certificates == 1);
  REQUIRE(st.default_cert);
  CHECK(st.default_cert->row.friendly_name == kFactoryName);
}

TEST_CASE("create_self_signed stores the certificate and its key, duplicates are refused", "[service]") {
  ServiceFixture f;
  CertSummary web = create_self_signed(f.store, signed_request_for("web", "www.example.com", {"api.example.com"}));
  CHECK(web.row.friendly_name == "web");
  CHECK(web.has_key);
  CHECK_FALSE(web.is_default);
  CHECK(web.row.source == "self-signed");
  CHECK(web.row.alt_names == std::vector<std::string>{"DNS:www.example.com", "DNS:api.example.com"});
  CHECK(f.store.load_key(*web.row.key_id).spki_sha256() == web.row.spki_sha256);
  CHECK(inspect_certificate(f.store.cert_der(web.row.id)).fingerprint_sha256 == web.row.fingerprint_sha256);

  const auto certs = f.store.count_certs(), keys = f.rows("keys"), audits = f.rows("audit_log");
  auto e = unit_pki::error_of([&] { create_self_signed(f.store, signed_request_for("web", "other.example.com")); });
  CHECK(e.kind() == ErrorKind::Refused);
  CHECK(std::string(e.what()).find("'web'") != std::string::npos);
  CHECK(f.store.count_certs() == certs);
  CHECK(f.rows("keys") == keys);
  CHECK(f.rows("audit_log") == audits);
  CHECK(f.store.cert_by_name("web")->fingerprint_sha256 == web.row.fingerprint_sha256);
}

TEST_CASE("create_self_signed validates everything before it touches the store", "[service]") {
  TempDir tmp;
  Store store = Store::open(tmp.path(), Store::Mode::ReadWrite);
  SelfSignedRequest bad_country = signed_request_for("a", "a.example.com");
  bad_country.subject.country = "XX";
  CHECK(kind_of([&] { create_self_signed(store, bad_country); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { create_self_signed(store, signed_request_for("", "a.example.com")); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { create_self_signed(store, signed_request_for(" a", "a.example.com")); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { create_self_signed(store, signed_request_for("a", "a.example.com", {"bad..name"})); }) ==
        ErrorKind::BadInput);
  SelfSignedRequest bad_days = signed_request_for("a", "a.example.com");
  bad_days.days = 0;
  CHECK(kind_of([&] { create_self_signed(store, bad_days); }) == ErrorKind::BadInput);
  // Not even the factory default certificate was made.
  CHECK(store.count_certs() == 0);
  CHECK(unit_pki::count_rows(tmp.path(), "audit_log") == 0);
}

TEST_CASE("remove, default and rename follow the appliance rules", "[service]") {
  ServiceFixture f;
  const std::int64_t factory = *factory_cert_id(f.store);
  create_self_signed(f.store, signed_request_for("web", "www.example.com"));

  SECTION("the factory default certificate cannot be removed") {
    CHECK(kind_of([&] { remove_certificate(f.store, kFactoryName, true); }) == ErrorKind::Refused);
    CHECK(f.store.cert_by_id(factory));
  }
  SECTION("a certificate without its private key cannot be the default") {
    f.import({UnitPki::get().path("leaf.pem")});
    auto e = unit_pki::error_of([&] { set_default_certificate(f.store, "leaf.unit.test"); });
    CHECK(e.kind() == ErrorKind::Refused);
    CHECK_FALSE(e.hint().empty());
    CHECK(default_cert_id(f.store) == factory);
  }
  SECTION("the default moves to a keyed certificate, and back to the factory when it is removed") {
    CertSummary d = set_default_certificate(f.store, "web");
    CHECK(d.is_default);
    CHECK(default_cert_id(f.store) == d.row.id);
    const auto keys = f.rows("keys");
    RemoveResult r = remove_certificate(f.store, "web", false);
    CHECK(r.was_default);
    CHECK(r.removed.friendly_name == "web");
    CHECK(default_cert_id(f.store) == factory);
    CHECK_FALSE(f.store.cert_by_name("web"));
    CHECK(f.rows("keys") == keys - 1);  // its key went with it
    CHECK(kind_of([&] { remove_certificate(f.store, "web", false); }) == ErrorKind::NotFound);
  }
  SECTION("a certificate serving addresses is removed only with force, its addresses go to the factory") {
    {
      auto tx = f.store.write("test ip");
      f.store.add_ip("192.0.2.10", f.store.cert_by_name("web")->id);
      tx.commit();
    }
    CHECK(kind_of([&] { remove_certificate(f.store, "web", false); }) == ErrorKind::Refused);
    CHECK(f.store.cert_by_name("web"));
    RemoveResult r = remove_certificate(f.store, "web", true);
    CHECK(r.moved_ips == std::vector<std::string>{"192.0.2.10"});
    REQUIRE(f.store.list_ips().size() == 1);
    CHECK(f.store.list_ips()[0].cert_id == factory);
  }
  SECTION("rename") {
    const std::string fp = f.store.cert_by_name("web")->fingerprint_sha256;
    CertSummary r = rename_certificate(f.store, "web", "web-2027");
    CHECK(r.row.friendly_name == "web-2027");
    CHECK_FALSE(f.store.cert_by_name("web"));
    CHECK(f.store.cert_by_name("web-2027")->fingerprint_sha256 == fp);
    CHECK(rename_certificate(f.store, fp.substr(0, 10), "web").row.friendly_name == "web");
    CHECK(kind_of([&] { rename_certificate(f.store, "web", kFactoryName); }) == ErrorKind::Refused);
    CHECK(kind_of([&] { rename_certificate(f.store, "web", "bad\tname"); }) == ErrorKind::BadInput);
    CHECK(kind_of([&] { rename_certificate(f.store, "nope", "x"); }) == ErrorKind::NotFound);
    CHECK(f.store.cert_by_name("web"));
  }
}

TEST_CASE("check_certificates: statuses per certificate and whether anything needs attention", "[service]") {
  ServiceFixture f;
  const UnixTime t = now();
  put_cert(f.store, "expired", "expired.example.com", t - 10 * kDay, 1);
  put_cert(f.store, "soon", "soon.example.com", t - 350 * kDay, 365);
  put_cert(f.store, "fine", "fine.example.com", t - kDay, 365);
  put_cert(f.store, "future", "future.example.com", t + 10 * kDay, 365);

  CheckResult all = check_certificates(f.store, {});
  std::map<std::string, std::string> status;
  for (const auto& e : all.entries) status[e.row.friendly_name] = e.status;
  CHECK(status == std::map<std::string, std::string>{{"expired", "expired"}, {"soon", "expires-soon"},
                                                     {"fine", "ok"}, {"future", "not-yet-valid"},
                                                     {kFactoryName, "ok"}});
  CHECK(all.attention);
  CHECK(all.window == 30 * kDay);

  CheckResult fine = check_certificates(f.store, {{"fine"}, 30 * kDay});
  REQUIRE(fine.entries.size() == 1);
  CHECK(fine.entries[0].status == "ok");
  CHECK(std::abs(fine.entries[0].seconds_left - 364 * kDay) < 60);
  CHECK_FALSE(fine.attention);
  CHECK(check_certificates(f.store, {{"fine"}, 400 * kDay}).entries[0].status == "expires-soon");
  CHECK(check_certificates(f.store, {{"fine"}, 400 * kDay}).attention);
  CHECK_FALSE(check_certificates(f.store, {{"future"}, 30 * kDay}).attention);
  CHECK(check_certificates(f.store, {{"soon"}, 10 * kDay}).entries[0].status == "ok");
  // Every named certificate is reported, an unknown one too (the CLI then exits 4).
  CheckResult mixed = check_certificates(f.store, {{"fine", "nope"}, 30 * kDay});
  CHECK(mixed.unresolved);
  REQUIRE(mixed.entries.size() == 2);
  CHECK(mixed.entries[0].status == "not-found");
  CHECK(mixed.entries[0].row.friendly_name == "nope");
  CHECK(mixed.entries[1].status == "ok");
}

// ---- requests -----------------------------------------------------------------------------------

TEST_CASE("create_request and show_request give the same PEM, remove_request takes its unused key", "[service]") {
  ServiceFixture f;
  CsrRequest req;
  req.name = "shop";
  req.key = KeySpec::parse("ec:P-256");
  req.subject.cn = "shop.example.com";
  req.subject.country = "de";
  req.sans = {"www.shop.example.com"};
  const auto keys = f.rows("keys");
  CsrCreated made = create_request(f.store, req);
  CHECK(made.pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
  CHECK(made.row.friendly_name == "shop");
  CHECK(made.row.subject == "CN=shop.example.com,C=DE");
  CHECK(made.row.alt_names == std::vector<std::string>{"DNS:shop.example.com", "DNS:www.shop.example.com"});
  CHECK(made.row.key_spec == "ec:P-256");
  CHECK(f.rows("keys") == keys + 1);
  CHECK(f.store.load_key(made.row.key_id).spki_sha256() == made.row.spki_sha256);

  CHECK(show_request(f.store, "shop").pem == made.pem);
  CHECK(show_request(f.store, std::to_string(made.row.id)).pem == made.pem);
  CHECK(list_requests(f.store).size() == 1);
  CHECK(kind_of([&] { create_request(f.store, req); }) == ErrorKind::Refused);
  CHECK(f.rows("keys") == keys + 1);  // the refused request left no key behind
  CHECK(kind_of([&] { show_request(f.store, "nope"); }) == ErrorKind::NotFound);

  RequestRow gone = remove_request(f.store, "shop");
  CHECK(gone.id == made.row.id);
  CHECK(list_requests(f.store).empty());
  CHECK(f.rows("keys") == keys);
  CHECK(kind_of([&] { remove_request(f.store, "shop"); }) == ErrorKind::NotFound);
}

TEST_CASE("remove_request keeps a key that a certificate uses", "[service]") {
  ServiceFixture f;
  CsrRequest req;
  req.name = "renewal";
  req.key = KeySpec::parse("ec:P-256");
  req.subject.cn = "r.example.com";
  CsrCreated made = create_request(f.store, req);
  {
    // As `cert renew` does for a CA-signed certificate: the old certificate and the new request share a key.
    NewCertificate spec;
    spec.subject.cn = "r.example.com";
    Bytes der = make_self_signed(f.store.load_key(made.row.key_id), spec);
    auto tx = f.store.write("test share");
    f.store.insert_cert(inspect_certificate(der), der, "r", made.row.key_id, "imported");
    tx.commit();
  }
  remove_request(f.store, "renewal");
  CHECK(f.store.find_key(made.row.spki_sha256) == made.row.key_id);
  CHECK(summarize(f.store, *f.store.cert_by_name("r")).has_key);
}

// ---- import -------------------------------------------------------------------------------------

TEST_CASE("import_files: a CA-signed request's certificate takes the request's key and name", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f({"shop.example.com"});
  CsrRequest req;
  req.name = "shop";
  req.key = KeySpec::parse("ec:P-256");
  req.subject.cn = "shop.example.com";
  req.sans = {"www.shop.example.com"};
  CsrCreated csr = create_request(f.store, req);
  f.file("shop.csr", csr.pem);
  pki.sign_leaf(f.tmp / "shop.csr", f.tmp / "shop.pem");
  const std::string chain = f.file("chain.pem", unit_pki::read_text(f.tmp / "shop.pem") + pki.text("int.pem") +
                                                    pki.text("root.pem"));
  const auto keys = f.rows("keys");

  ImportResult r = f.import({chain});
  REQUIRE(r.certificates.size() == 3);
  const ImportedCert& leaf = r.certificates[0];
  CHECK(leaf.status == "added");
  CHECK(leaf.summary.row.friendly_name == "shop");
  CHECK(leaf.summary.has_key);
  CHECK(leaf.summary.row.key_id == csr.row.key_id);
  CHECK(leaf.fulfilled_request == "shop");
  CHECK(leaf.summary.row.alt_names == std::vector<std::string>{"DNS:shop.example.com", "DNS:www.shop.example.com"});
  CHECK(codes(leaf.summary.warnings).empty());  // CA-signed, keyed, chain complete, covers the hostname
  CHECK(r.certificates[1].summary.row.friendly_name == "Unit Intermediate CA");
  CHECK(r.certificates[1].summary.row.role == Role::Intermediate);
  CHECK(r.certificates[2].summary.row.friendly_name == "Unit Root CA");
  CHECK(r.certificates[2].summary.row.role == Role::Root);
  CHECK_FALSE(r.certificates[2].summary.has_key);
  CHECK_FALSE(has_code(r.certificates[2].summary.warnings, "no-private-key"));  // leaf only
  CHECK(r.keys_added == 0);
  CHECK(list_requests(f.store).empty());  // fulfilled
  CHECK(f.rows("keys") == keys);          // the request's key now belongs to the certificate

  SECTION("importing the same files again changes nothing") {
    const auto certs = f.store.count_certs(), audits = f.rows("audit_log");
    ImportResult again = f.import({chain});
    REQUIRE(again.certificates.size() == 3);
    for (const auto& c : again.certificates) CHECK(c.status == "exists");
    CHECK(again.certificates[0].summary.row.friendly_name == "shop");
    CHECK(again.certificates[0].summary.has_key);
    CHECK(f.store.count_certs() == certs);
    CHECK(f.rows("audit_log") <= audits + 1);
  }
  SECTION("chain show follows the imported chain") {
    ChainReport c = show_chain(f.store, "shop");
    CHECK(c.mode == "automatic");
    CHECK(c.complete);
    REQUIRE(c.links.size() == 3);
    CHECK(c.links[0].role == Role::Leaf);
    CHECK(c.links[1].role == Role::Intermediate);
    CHECK(c.links[2].role == Role::Root);
    CHECK(c.links[2].fingerprint_sha256 == fp_of("root"));
  }
}

TEST_CASE("import_files: a key imported first is linked to its certificate imported later", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  f.tmp.sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.key -out k.csr"
           " -subj /CN=k.unit.test -addext subjectAltName=DNS:k.unit.test");
  pki.sign_leaf(f.tmp / "k.csr", f.tmp / "k.pem");

  ImportResult keyonly = f.import({f.tmp / "k.key"});
  CHECK(keyonly.certificates.empty());
  CHECK(keyonly.keys_added == 1);
  REQUIRE(keyonly.unattached_keys.size() == 1);
  CHECK(f.store.count_unattached_keys() == 1);

  ImportResult cert = f.import({f.tmp / "k.pem"});
  REQUIRE(cert.certificates.size() == 1);
  CHECK(cert.certificates[0].status == "added");
  CHECK(cert.certificates[0].summary.has_key);
  CHECK(cert.certificates[0].summary.row.spki_sha256 == keyonly.unattached_keys[0]);
  CHECK(cert.unattached_keys.empty());
  CHECK(f.store.count_unattached_keys() == 0);
}

TEST_CASE("import_files: a stored certificate gets its key when imported again with it (linked)", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  ImportResult bare = f.import({pki.path("leaf.pem")});
  REQUIRE(bare.certificates.size() == 1);
  CHECK_FALSE(bare.certificates[0].summary.has_key);
  ImportResult linked = f.import({f.file("both.pem", pki.text("leaf.pem") + pki.text("leaf.key"))});
  REQUIRE(linked.certificates.size() == 1);
  CHECK(linked.certificates[0].status == "linked");
  CHECK(linked.certificates[0].summary.has_key);
  CHECK(linked.keys_added == 1);
  CHECK(f.store.cert_by_name("leaf.unit.test")->key_id.has_value());
}

// The hint of `cert default` / `ip assign` says "import its private key (applctl cert import
// KEY.pem)": a key imported alone is linked to the certificate already stored.
TEST_CASE("import_files: a key imported alone after its certificate is linked to it", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  f.import({pki.path("leaf.pem")});
  ImportResult key = f.import({pki.path("leaf.key")});
  CHECK(key.keys_added == 1);
  REQUIRE(key.certificates.size() == 1);
  CHECK(key.certificates[0].status == "linked");
  CHECK(key.certificates[0].summary.has_key);
  CHECK(f.store.cert_by_name("leaf.unit.test")->key_id.has_value());
  // The import reports the key as attached (a certificate has its public key), the store does not.
  CHECK(key.unattached_keys.empty());
  CHECK(f.store.count_unattached_keys() == 0);
}

TEST_CASE("import_files: a certificate with a key that is not its own is bad input, nothing stored", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  const auto certs = f.store.count_certs(), keys = f.rows("keys"), audits = f.rows("audit_log");
  std::string bad = f.file("bad.pem", pki.text("leaf.pem") + pki.text("twin-leaf.key"));
  auto e = unit_pki::error_of([&] { f.import({pki.path("root.pem"), bad}); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK(std::string(e.what()).find("bad.pem") != std::string::npos);
  CHECK(f.store.count_certs() == certs);
  CHECK(f.rows("keys") == keys);
  CHECK(f.rows("audit_log") == audits);
  // A file that is not a certificate at all, among good ones: nothing stored either.
  std::string junk = f.file("junk.pem", "hello\n");
  CHECK(kind_of([&] { f.import({pki.path("root.pem"), junk}); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { f.import({f.tmp / "missing.pem"}); }) == ErrorKind::BadInput);
  CHECK(f.store.count_certs() == certs);
}

// ---- chains -------------------------------------------------------------------------------------

TEST_CASE("chain modes: automatic, current (frozen), manual (checked)", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  f.import({pki.path("leaf.pem"), pki.path("int.pem"), pki.path("root.pem")});
  const std::string leaf = "leaf.unit.test";

  ChainReport automatic = show_chain(f.store, leaf);
  CHECK(automatic.mode == "automatic");
  CHECK(automatic.complete);
  REQUIRE(automatic.links.size() == 3);
  CHECK(automatic.links[1].friendly_name == "Unit Intermediate CA");

  ChainReport current = set_chain(f.store, leaf, ChainMode::Current);
  CHECK(current.mode == "current");
  CHECK(current.complete);
  CHECK(current.links.size() == 3);
  // Removing the root from the store does not change a frozen chain...
  remove_certificate(f.store, "Unit Root CA", false);
  ChainReport frozen = show_chain(f.store, leaf);
  CHECK(frozen.mode == "current");
  CHECK(frozen.complete);
  REQUIRE(frozen.links.size() == 3);
  CHECK(frozen.links[2].fingerprint_sha256 == fp_of("root"));
  CHECK(frozen.links[2].friendly_name.empty());  // no longer in the store
  CHECK(show_certificate(f.store, leaf).chain.certificates.size() == 3);
  // ...but the automatic chain now misses it.
  ChainReport back = set_chain(f.store, leaf, ChainMode::Automatic);
  CHECK(back.mode == "automatic");
  CHECK_FALSE(back.complete);
  CHECK(back.links.size() == 2);
  CHECK(back.missing == "CN=Unit Root CA");
  CHECK(has_code(summarize(f.store, *f.store.cert_by_name(leaf)).warnings, "chain-incomplete"));

  ChainReport manual = set_chain(f.store, leaf, ChainMode::Manual,
                                 f.file("manual.pem", pki.text("leaf.pem") + pki.text("int.pem") + pki.text("root.pem")));
  CHECK(manual.mode == "manual");
  CHECK(manual.complete);
  REQUIRE(manual.links.size() == 3);
  CHECK(manual.links[0].fingerprint_sha256 == fp_of("leaf"));
  CHECK(manual.links[1].fingerprint_sha256 == fp_of("int"));
  CHECK(manual.links[2].fingerprint_sha256 == fp_of("root"));
  CHECK(show_chain(f.store, leaf).mode == "manual");
  CHECK(show_certificate(f.store, leaf).chain.complete);

  // A manual chain must issue itself in order; a refused one leaves the mode as it was.
  std::string reversed = f.file("reversed.pem", pki.text("root.pem") + pki.text("int.pem"));
  CHECK(kind_of([&] { set_chain(f.store, leaf, ChainMode::Manual, reversed); }) == ErrorKind::BadInput);
  std::string unrelated = f.file("unrelated.pem", pki.text("twin-a.pem"));
  CHECK(kind_of([&] { set_chain(f.store, leaf, ChainMode::Manual, unrelated); }) == ErrorKind::BadInput);
  CHECK(show_chain(f.store, leaf).mode == "manual");
  CHECK(show_chain(f.store, leaf).links.size() == 3);
  CHECK(kind_of([&] { set_chain(f.store, "nope", ChainMode::Automatic); }) == ErrorKind::NotFound);
}

TEST_CASE("store_chain picks, among same-name issuers, the one whose key id matches", "[service]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  // twin-a lives longer, so only the key identifier can make twin-b win.
  f.import({pki.path("twin-a.pem"), pki.path("twin-b.pem"), pki.path("twin-leaf.pem")});
  CertRow leaf = *f.store.cert_by_name("twin.unit.test");
  StoreChain chain = store_chain(f.store, leaf, now());
  REQUIRE(chain.certificates.size() == 2);
  CHECK(chain.certificates[1].fingerprint_sha256 == fp_of("twin-b"));
  CHECK(chain.certificates[1].subject_key_id == leaf.authority_key_id);
  CHECK(chain.complete);
  CHECK(show_chain(f.store, "twin.unit.test").links.at(1).fingerprint_sha256 == fp_of("twin-b"));
}

TEST_CASE("walk_chain ranks candidate issuers: key id match, then valid now, then latest expiry", "[service]") {
  CertRow leaf;
  leaf.fingerprint_sha256 = "L";
  leaf.issuer = "CN=I";
  leaf.issuer_hash = "I";
  leaf.authority_key_id = "k2";
  auto root = [](const char* fp, const char* ski, UnixTime nb, UnixTime na) {
    CertRow r;
    r.fingerprint_sha256 = fp;
    r.subject_hash = r.issuer_hash = "I";
    r.subject_key_id = ski;
    r.self_signed = true;
    r.not_before = nb;
    r.not_after = na;
    return r;
  };
  auto pick = [&](std::vector<CertRow> candidates, UnixTime at) {
    IssuerLookup lookup = [&](const std::string& hash) {
      std::vector<const CertRow*> out;
      for (const auto& c : candidates)
        if (c.subject_hash == hash) out.push_back(&c);
      return out;
    };
    StoreChain ch = walk_chain(leaf, lookup, at);
    return ch.certificates.size() > 1 ? ch.certificates[1].fingerprint_sha256 : "(" + ch.missing + ")";
  };
  // The key id match wins over a longer-lived candidate without a key id.
  CHECK(pick({root("A", "", 0, 2000), root("B", "k2", 0, 1000)}, 500) == "B");
  // A candidate with another key id is not an issuer at all.
  CHECK(pick({root("A", "k9", 0, 2000)}, 500) == "(CN=I)");
  // Without key ids: valid at `at` first, then the latest expiry.
  CHECK(pick({root("A", "", 700, 2000), root("B", "", 0, 600)}, 500) == "B");
  CHECK(pick({root("A", "", 0, 900), root("B", "", 0, 800)}, 500) == "A");
  CHECK(pick({}, 500) == "(CN=I)");
  // A self-issued certificate that is not self-signed does not loop on itself.
  CertRow self = root("S", "", 0, 1000);
  self.self_signed = false;
  self.issuer = "CN=I";
  IssuerLookup only_self = [&](const std::string&) { return std::vector<const CertRow*>{&self}; };
  StoreChain loop = walk_chain(self, only_self, 500);
  CHECK(loop.certificates.size() == 1);
  CHECK_FALSE(loop.complete);
}

// ---- [lint] warnings from time, keys, chains and hostnames ----------------------------------------

TEST_CASE("lint expired, expires-soon and not-yet-valid come from the validity period", "[lint]") {
  ServiceFixture f;
  const UnixTime t = now();
  auto warnings = [&](const CertRow& r) { return summarize(f.store, r).warnings; };
  auto expired = warnings(put_cert(f.store, "expired", "appl.example.com", t - 10 * kDay, 1));
  CHECK(has_code(expired, "expired"));
  CHECK_FALSE(has_code(expired, "expires-soon"));
  auto soon = warnings(put_cert(f.store, "soon", "appl.example.com", t - 350 * kDay, 365));
  CHECK(has_code(soon, "expires-soon"));
  CHECK_FALSE(has_code(soon, "expired"));
  auto future = warnings(put_cert(f.store, "future", "appl.example.com", t + 10 * kDay, 365));
  CHECK(has_code(future, "not-yet-valid"));
  CHECK_FALSE(has_code(future, "expires-soon"));
  auto fresh = warnings(put_cert(f.store, "fresh", "appl.example.com", t, 365));
  CHECK(codes(fresh) == std::vector<std::string>{"self-signed"});
  // The list form gives each certificate the same warnings.
  for (const auto& s : list_certificates(f.store))
    CHECK(codes(s.warnings) == codes(summarize(f.store, s.row).warnings));
}

TEST_CASE("lint hostname-not-covered and no-private-key", "[lint]") {
  ServiceFixture f({"appl.example.com"});
  const UnixTime t = now();
  auto other = summarize(f.store, put_cert(f.store, "other", "www.example.com", t, 365)).warnings;
  CHECK(has_code(other, "hostname-not-covered"));
  CHECK_FALSE(has_code(other, "no-private-key"));
  auto wildcard = summarize(f.store, put_cert(f.store, "wild", "*.example.com", t, 365)).warnings;
  CHECK_FALSE(has_code(wildcard, "hostname-not-covered"));
  auto keyless = summarize(f.store, put_cert(f.store, "keyless", "appl.example.com", t, 365, false)).warnings;
  CHECK(has_code(keyless, "no-private-key"));
  CHECK_FALSE(has_code(keyless, "hostname-not-covered"));
  // A root is not served: neither warning applies to it.
  f.import({UnitPki::get().path("root.pem")});
  auto root = summarize(f.store, *f.store.cert_by_name("Unit Root CA")).warnings;
  CHECK_FALSE(has_code(root, "no-private-key"));
  CHECK_FALSE(has_code(root, "hostname-not-covered"));
  // Without appliance hostnames nothing can be "not covered".
  TempDir tmp;
  Store bare = Store::open(tmp.path(), Store::Mode::ReadWrite);
  CHECK_FALSE(has_code(summarize(bare, put_cert(bare, "x", "www.example.com", t, 365)).warnings,
                       "hostname-not-covered"));
}

TEST_CASE("lint chain-incomplete: a leaf imported without its issuer", "[lint]") {
  const UnitPki& pki = UnitPki::get();
  ServiceFixture f;
  f.import({pki.path("leaf.pem")});
  auto alone = summarize(f.store, *f.store.cert_by_name("leaf.unit.test")).warnings;
  CHECK(has_code(alone, "chain-incomplete"));
  CHECK(has_code(alone, "no-private-key"));
  f.import({pki.path("int.pem")});
  CHECK(has_code(summarize(f.store, *f.store.cert_by_name("leaf.unit.test")).warnings, "chain-incomplete"));
  f.import({pki.path("root.pem")});
  CHECK_FALSE(has_code(summarize(f.store, *f.store.cert_by_name("leaf.unit.test")).warnings, "chain-incomplete"));
  CHECK_FALSE(has_code(summarize(f.store, *f.store.cert_by_name("Unit Root CA")).warnings, "chain-incomplete"));
}
