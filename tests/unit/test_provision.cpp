// [provision] APPLIANCE.yaml: the loader's checks (each error names file:line:column and the key
// path), the planner (create, keep, re-issue, replace, rename, prune, factory default), idempotence,
// and export-config round trips over real stores.
#include <map>
#include <string>
#include <vector>

#include "applctl/appliance.hpp"
#include "applctl/certs.hpp"
#include "applctl/ips.hpp"
#include "applctl/provision.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::error_of;
using unit_pki::Pki;
using unit_pki::ScopedEnv;
using unit_pki::TempDir;

namespace {

ApplianceFile load(const std::string& text, const std::string& base = "/nonexistent") {
  return load_appliance(text, "a.yaml", base);
}

// The message of the BadInput a file gives (fails the test for any other outcome).
std::string load_error(const std::string& text, const std::string& base = "/nonexistent") {
  Error e = error_of([&] { load(text, base); });
  CHECK(e.kind() == ErrorKind::BadInput);
  return e.what();
}

std::vector<std::string> ops(const ApplyResult& r) {
  std::vector<std::string> out;
  for (const auto& a : r.actions) out.push_back(std::string(1, a.op) + " " + a.kind + " " + a.name);
  return out;
}

struct Fixture {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "store", Store::Mode::ReadWrite);
  ApplyResult apply(const std::string& text, bool prune = false, bool dry_run = false) {
    return apply_appliance(store, {load_appliance(text, "a.yaml", tmp.path()), dry_run, prune});
  }
  std::string fp(const std::string& name) const { return store.resolve_cert(name).fingerprint_sha256; }
};

const char* kWeb = R"(version: 1
hostnames: [appl.example.com]
certificates:
  - name: web
    self_signed: {key: "ec:P-256", cn: www.example.com, san: [www.example.com, "IP:192.0.2.10"], days: 90, country: US}
ips:
  - {address: 192.0.2.10, certificate: web}
  - {address: "2001:DB8::10"}
default: web
)";

}  // namespace

TEST_CASE("the loader reads every key of the schema", "[provision]") {
  ApplianceFile f = load(kWeb);
  REQUIRE(f.hostnames);
  CHECK(*f.hostnames == std::vector<std::string>{"appl.example.com"});
  REQUIRE(f.certificates.size() == 1);
  const auto& c = f.certificates[0];
  CHECK(c.name == "web");
  REQUIRE(c.self_signed);
  CHECK(c.self_signed->key.str() == "ec:P-256");
  CHECK(c.self_signed->days == 90);
  CHECK(c.self_signed->subject.country == "US");
  REQUIRE(c.self_signed->sans.size() == 2);
  CHECK(c.self_signed->sans[0].str() == "DNS:www.example.com");
  REQUIRE(f.ips);
  CHECK((*f.ips)[1].address == "2001:db8::10");  // canonical
  CHECK((*f.ips)[1].certificate.empty());
  CHECK(f.default_cert == "web");
}

TEST_CASE("the loader names file, line, column and key path of every error", "[provision]") {
  struct Case {
    const char* text;
    const char* expected;  // part of the message
  };
  const Case cases[] = {
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, contry: US}\n", "a.yaml:4:"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, contry: US}\n", "unknown key 'contry'"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, country: XX}\n",
       "certificates[0].self_signed"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, country: XX}\n", "XX"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {san: [\"*.*.example.com\"]}\n", "*.*.example.com"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, days: soon}\n", "a.yaml:4:"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, days: soon}\n", "whole number"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com, key: rsa:1024}\n", "1024"},
      {"version: 1\ncertificates:\n  - name: a\n    import: {file: x.p12, passphrase: hunter2}\n", "secrets are never written"},
      {"version: 1\ncertificates:\n  - name: a\n    import: {file: x.p12, passphrase_env: APPLCTL_UNSET_VAR_FOR_TEST}\n",
       "APPLCTL_UNSET_VAR_FOR_TEST is not set"},
      {"version: 1\ncertificates:\n  - name: a\n    import: {file: missing.pem}\n", "a.yaml:4:"},
      {"version: 1\ncertificates:\n  - name: a\n    import: {file: missing.pem}\n", "missing.pem"},
      {"version: 1\ncertificates: {name: a}\n", "expected a list"},
      {"version: 1\nhostnames: appl.example.com\n", "hostnames"},
      {"version: 1\nhostnames: [\"bad_host!\"]\n", "bad_host!"},
      {"version: 1\nips:\n  - {address: 300.1.1.1}\n", "a.yaml:3:"},
      {"version: 1\nips:\n  - {address: 10.0.0.1}\n  - {address: 10.0.0.1}\n", "listed twice"},
      {"version: 2\n", "unsupported version 2"},
      {"hostnames: [a.example.com]\n", "missing 'version: 1'"},
      {"version: 1\nversion: 1\n", "duplicate key 'version'"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com}\n  - name: a\n    self_signed: {cn: "
       "b.example.com}\n",
       "used twice"},
      {"version: 1\ncertificates:\n  - name: a\n    self_signed: {cn: a.example.com}\n    import: {file: x}\n",
       "exactly one of self_signed and import"},
      {"version: 1\ncertificates:\n  - name: a\n      self_signed: {cn: a.example.com}\n", "invalid YAML"},
      {"version: 1\ncertificates:\n  - name: a\n    import:\n      pem: \"-----BEGIN PRIVATE KEY-----\"\n",
       "private key is never written"},
      {"version: 1\ncertificates:\n  - name: a\n    factory_default: yes-please\n    self_signed: {cn: a.example.com}\n",
       "true or false"},
      {"", "empty"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    std::string message = load_error(c.text);
    INFO(message);
    CHECK(message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("bad indentation is reported at its line", "[provision]") {
  std::string message = load_error("version: 1\ncertificates:\n  - name: a\n   self_signed: {cn: a.example.com}\n");
  CHECK(message.find("a.yaml:4:") != std::string::npos);
}

TEST_CASE("apply creates, then finds nothing to do", "[provision]") {
  Fixture f;
  ApplyResult first = f.apply(kWeb);
  CHECK(first.changed);
  CHECK(ops(first) == std::vector<std::string>{"+ hostnames appl.example.com", "+ certificate factory-default",
                                               "+ certificate web", "+ ip 192.0.2.10", "+ ip 2001:db8::10",
                                               "+ default web"});
  CertRow web = f.store.resolve_cert("web");
  CHECK(web.alt_names == std::vector<std::string>{"DNS:www.example.com", "IP:192.0.2.10"});
  CHECK(web.not_after - web.not_before == 90 * 86400);
  CHECK(default_cert_id(f.store) == web.id);
  auto ips = list_ip_views(f.store);
  REQUIRE(ips.size() == 2);
  CHECK(ips[0].certificate == "web");
  CHECK(ips[1].certificate == kFactoryName);
  const std::int64_t head = f.store.audit_head();

  ApplyResult again = f.apply(kWeb);
  CHECK_FALSE(again.changed);
  CHECK(again.actions.empty());
  CHECK(f.store.audit_head() == head);  // not even an audit row
  CHECK(f.fp("web") == web.fingerprint_sha256);
}

TEST_CASE("a changed self-signed spec re-issues the certificate in place", "[provision]") {
  Fixture f;
  f.apply(kWeb);
  CertRow before = f.store.resolve_cert("web");
  std::string text = kWeb;
  text.replace(text.find("days: 90"), 8, "days: 30");
  ApplyResult r = f.apply(text);
  REQUIRE(r.actions.size() == 1);
  CHECK(r.actions[0].op == '~');
  CHECK(r.actions[0].detail.find("days 90 -> 30") != std::string::npos);
  CertRow after = f.store.resolve_cert("web");
  CHECK(after.fingerprint_sha256 != before.fingerprint_sha256);
  CHECK(default_cert_id(f.store) == after.id);  // the default and the IP moved with it
  CHECK(list_ip_views(f.store)[0].certificate == "web");
  CHECK(f.store.count_unattached_keys() == 0);  // the old key went with the old certificate
}

TEST_CASE("a dry run plans and changes nothing, not even a missing store", "[provision]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "store", Store::Mode::ReadOnly);
  ApplyResult r = apply_appliance(store, {load_appliance(kWeb, "a.yaml", tmp.path()), true, false});
  CHECK_FALSE(r.changed);
  CHECK(r.actions.size() == 6);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "store"));
}

TEST_CASE("a file the plan rejects leaves no store behind", "[provision]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "store", Store::Mode::ReadWrite);
  const char* text = "version: 1\nips:\n  - {address: 10.0.0.1, certificate: nowhere}\n";
  Error e = error_of([&] { apply_appliance(store, {load_appliance(text, "a.yaml", tmp.path()), false, false}); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK(std::string(e.what()).find("a.yaml:3:5: ips: 'nowhere' is neither in the file nor in the store") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "store"));
}

TEST_CASE("imports: added with the chain, key linked, replaced in place, renamed", "[provision]") {
  const Pki& pki = Pki::get();
  Fixture f;
  unit_pki::write_text(f.tmp / "leaf-chain.pem", pki.text("leaf.pem") + pki.text("int.pem") + pki.text("root.pem"));
  const std::string file = "version: 1\ncertificates:\n  - name: corp\n    import: {file: leaf-chain.pem}\n";
  ApplyResult r = f.apply(file);
  CHECK(ops(r) == std::vector<std::string>{"+ hostnames " + appliance_hostnames(f.store).front(),
                                           "+ certificate factory-default", "+ certificate corp",
                                           "+ certificate Unit Intermediate CA", "+ certificate Unit Root CA"});
  CHECK(f.fp("corp") == pki.fingerprint("leaf"));
  CHECK_FALSE(f.store.resolve_cert("corp").key_id);

  // The key arrives in a second file: linked, nothing else changes.
  unit_pki::write_text(f.tmp / "leaf-key.pem", pki.text("leaf.pem") + pki.text("leaf.key"));
  r = f.apply("version: 1\ncertificates:\n  - name: corp\n    import: {file: leaf-key.pem}\n");
  CHECK(ops(r) == std::vector<std::string>{"~ certificate corp"});
  CHECK(f.store.resolve_cert("corp").key_id);

  // Renamed: the same certificate under another name.
  r = f.apply("version: 1\ncertificates:\n  - name: corp-2027\n    import: {file: leaf-key.pem}\n");
  CHECK(ops(r) == std::vector<std::string>{"~ certificate corp-2027"});
  CHECK(f.fp("corp-2027") == pki.fingerprint("leaf"));
  CHECK_FALSE(f.store.cert_by_name("corp"));
}

TEST_CASE("apply with prune removes what the file does not name, never the factory default", "[provision]") {
  Fixture f;
  f.apply(kWeb);
  create_self_signed(f.store, {"extra", KeySpec::parse("ec:P-256"), Subject{.cn = "extra.example.com"}, {}, 30});
  add_ips(f.store, {"10.9.9.9"});
  ApplyResult plain = f.apply(kWeb);
  CHECK(plain.actions.empty());  // without --prune, extra objects stay
  ApplyResult pruned = f.apply(kWeb, true);
  CHECK(ops(pruned) == std::vector<std::string>{"- ip 10.9.9.9", "- certificate extra"});
  CHECK(f.store.count_certs() == 2);  // web and the factory default
  CHECK(f.apply(kWeb, true).actions.empty());
}

TEST_CASE("export-config then apply to an empty store reproduces it", "[provision]") {
  const Pki& pki = Pki::get();
  Fixture a;
  a.apply(kWeb);
  unit_pki::write_text(a.tmp / "leaf.pem", pki.text("leaf.pem") + pki.text("leaf.key") + pki.text("int.pem"));
  a.apply("version: 1\ncertificates:\n  - name: corp\n    import: {file: leaf.pem}\nips:\n  - {address: 10.1.1.1, "
          "certificate: corp}\n");
  ScopedEnv pass("APPLCTL_UNIT_EXPORT_PASS", "s3cret pass");

  for (bool to_dir : {true, false}) {
    INFO("to a directory: " << to_dir);
    TempDir out;
    ExportConfigRequest req;
    if (to_dir) req.dir = out.path() / "export";
    req.passphrase.env = "APPLCTL_UNIT_EXPORT_PASS";
    ExportConfigResult exported = export_config(a.store, req);
    CHECK(exported.certificates == 4);
    CHECK(exported.keys == 3);
    CHECK(exported.yaml.find("factory_default: true") != std::string::npos);
    CHECK(exported.yaml.find("s3cret") == std::string::npos);
    CHECK(exported.yaml.find("PRIVATE KEY") == std::string::npos);
    std::string base = out.path().string();
    if (to_dir) {
      write_export(*req.dir, exported, false);
      base = req.dir->string();
      CHECK(unit_pki::error_of([&] { write_export(*req.dir, exported, false); }).kind() == ErrorKind::Refused);
    }

    Store b = Store::open(out.path() / "b", Store::Mode::ReadWrite);
    ApplyResult r = apply_appliance(b, {load_appliance(exported.yaml, "export.yaml", base), false, false});
    CHECK(r.changed);
    auto fps = [](const Store& s) {
      std::map<std::string, std::pair<std::string, bool>> m;
      for (const auto& row : s.list_certs()) m[row.friendly_name] = {row.fingerprint_sha256, row.key_id.has_value()};
      return m;
    };
    CHECK(fps(b) == fps(a.store));
    CHECK(b.resolve_cert(kFactoryName).id == *factory_cert_id(b));
    CHECK(b.cert_by_id(*default_cert_id(b))->friendly_name == "web");
    CHECK(appliance_hostnames(b) == appliance_hostnames(a.store));
    auto ip_names = [](const Store& s) {
      std::vector<std::pair<std::string, std::string>> v;
      for (const auto& ip : list_ip_views(s)) v.emplace_back(ip.address, ip.certificate);
      return v;
    };
    CHECK(ip_names(b) == ip_names(a.store));
    CHECK(apply_appliance(b, {load_appliance(exported.yaml, "export.yaml", base), false, false}).actions.empty());
  }
}

TEST_CASE("export-config refuses keys without a passphrase source", "[provision]") {
  Fixture f;
  f.apply(kWeb);
  CHECK(error_of([&] { export_config(f.store, {}); }).kind() == ErrorKind::Refused);
}

TEST_CASE("base64 round trips and rejects garbage", "[provision]") {
  Bytes data = {0, 1, 2, 250, 251, 252, 253};
  for (std::size_t n = 0; n <= data.size(); ++n) {
    Bytes part(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(base64_decode(base64_encode(part)) == part);
  }
  CHECK(base64_decode("AAEC\n+vv8\n/Q==") == data);
  CHECK(error_of([] { base64_decode("abc"); }).kind() == ErrorKind::BadInput);
  CHECK(error_of([] { base64_decode("ab!d"); }).kind() == ErrorKind::BadInput);
}
