// [provision] APPLIANCE.yaml: the loader's checks (each error names file:line:column and the key
// path), the planner (create, keep, re-issue, replace, rename, prune, factory default), idempotence,
// and export-config round trips over real stores.
#include <map>
#include <string>
#include <vector>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/ips.hpp"
#include "applctl/provision/provision.hpp"
#include "provision/kmip.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::error_of;
using UnitPki = unit_pki::Pki;
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
  const UnitPki& pki = UnitPki::get();
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
  const UnitPki& pki = UnitPki::get();
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
  CHECK(base64_decode("AAEC\n+vv8\n/Q==", kBase64Text) == data);
  CHECK(error_of([] { base64_decode("abc"); }).kind() == ErrorKind::BadInput);
  CHECK(error_of([] { base64_decode("ab!d"); }).kind() == ErrorKind::BadInput);
}

// ---- the kmip section ---------------------------------------------------------------------------
namespace {

// A directory with the inputs of a kmip section: the unit PKI's root as the CA, its leaf (and key)
// as the client, a key of another certificate, a file that is no certificate and a password file.
struct KmipFiles {
  TempDir tmp;
  KmipFiles() {
    const UnitPki& pki = UnitPki::get();
    unit_pki::write_text(tmp / "ca.pem", pki.text("root.pem"));
    unit_pki::write_text(tmp / "client.pem", pki.text("leaf.pem") + pki.text("int.pem"));
    unit_pki::write_text(tmp / "client.key", pki.text("leaf.key"));
    unit_pki::write_text(tmp / "other.key", pki.text("cn-late.key"));
    unit_pki::write_text(tmp / "garbage.pem", "not a certificate\n");
    unit_pki::write_text(tmp / "password", "kmip-unit-pa55\n");
  }
  ApplianceFile load(const std::string& text) const { return load_appliance(text, "a.yaml", tmp.path()); }
  std::string error(const std::string& text) const {
    Error e = error_of([&] { load(text); });
    CHECK(e.kind() == ErrorKind::BadInput);
    return e.what();
  }
};

// host 127.0.0.1, port 1: nothing listens there, a test is refused at once.
std::string kmip_yaml(const std::string& extra = "", const std::string& key = "client.key") {
  return "version: 1\nkmip:\n  host: 127.0.0.1\n  port: 1\n  ca: ca.pem\n  client_cert: client.pem\n  client_key: " + key +
         "\n" + extra;
}

}  // namespace

TEST_CASE("the kmip section is read and checked as kmip configure checks its inputs", "[provision][kmip]") {
  KmipFiles k;
  ScopedEnv password("APPLCTL_UNIT_KMIP_PASSWORD", "env-pa55");
  ApplianceFile f = k.load(kmip_yaml("  username: appl\n  password_env: APPLCTL_UNIT_KMIP_PASSWORD\n  timeout: 3\n"));
  REQUIRE(f.kmip);
  const KmipConfig& c = f.kmip->config;
  CHECK(c.host == "127.0.0.1");
  CHECK(c.port == 1);
  CHECK(c.timeout_seconds == 3);
  CHECK(c.ca_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(c.client_key_pem.find("PRIVATE KEY") != std::string::npos);
  REQUIRE(c.credential);
  CHECK(c.credential->username == "appl");
  CHECK(c.credential->password == "env-pa55");
  CHECK(f.kmip->client_fingerprint_sha256 == UnitPki::get().fingerprint("leaf"));
  CHECK(f.kmip->client_subject == "CN=leaf.unit.test");
  CHECK(f.kmip->pos.str() == "a.yaml:3:3");
  CHECK(f.kmip->test);

  // The defaults, a password file and the flow style of cli.md.
  ApplianceFile flow = k.load("version: 1\nkmip: {host: kms.example.com, ca: ca.pem, client_cert: client.pem, "
                              "client_key: client.key,\n       username: appl, password_file: password, no_test: true}\n");
  REQUIRE(flow.kmip);
  CHECK(flow.kmip->config.port == 5696);
  CHECK(flow.kmip->config.timeout_seconds == 10);
  CHECK(flow.kmip->config.credential->password == "kmip-unit-pa55");
  CHECK_FALSE(flow.kmip->test);
  CHECK_FALSE(k.load("version: 1\n").kmip);
}

TEST_CASE("the kmip section's errors name file, line, column and key", "[provision][kmip]") {
  KmipFiles k;
  struct Case {
    std::string text;
    const char* expected;  // part of the message
  };
  const Case cases[] = {
      {kmip_yaml("  hots: x\n"), "a.yaml:8:3: kmip: unknown key 'hots'"},
      {kmip_yaml("  password: hunter2\n"), "a.yaml:8:3: kmip: 'password': secrets are never written in the file"},
      {kmip_yaml("  passphrase: hunter2\n"), "secrets are never written"},
      {"version: 1\nkmip:\n  ca: ca.pem\n  client_cert: client.pem\n", "a.yaml:3:3: kmip: missing 'host'"},
      {"version: 1\nkmip:\n  host: h\n  client_cert: client.pem\n", "give exactly one of ca and ca_pem"},
      {"version: 1\nkmip:\n  host: h\n  ca: ca.pem\n", "give exactly one of client_cert and client_p12"},
      {"version: 1\nkmip: kms.example.com\n", "a.yaml:2:7: kmip: expected a mapping"},
      {"version: 1\nkmip:\n  host: [a, b]\n  ca: ca.pem\n  client_cert: client.pem\n", "a.yaml:3:9: kmip.host: expected a string"},
      {"version: 1\nkmip:\n  host: 'bad host'\n  ca: ca.pem\n  client_cert: client.pem\n",
       "a.yaml:3:9: kmip.host: invalid KMIP server host 'bad host'"},
      {kmip_yaml("  timeout: many\n"), "a.yaml:8:12: kmip.timeout: expected a whole number from 1 to 600, not 'many'"},
      {kmip_yaml("  port: 2\n"), "a.yaml:8:3: kmip: duplicate key 'port'"},
      {"version: 1\nkmip:\n  host: h\n  port: 70000\n  ca: ca.pem\n  client_cert: client.pem\n", "a.yaml:4:9: kmip.port:"},
      {kmip_yaml("  timeout: 0\n"), "a.yaml:8:12: kmip.timeout: expected a whole number from 1 to 600"},
      {kmip_yaml("  no_test: maybe\n"), "kmip.no_test: expected true or false"},
      {kmip_yaml("  username: appl\n  password_env: APPLCTL_UNSET_VAR_FOR_TEST\n"),
       "a.yaml:9:17: kmip.password_env: environment variable APPLCTL_UNSET_VAR_FOR_TEST is not set"},
      {kmip_yaml("  username: appl\n  password_file: nowhere\n"), "a.yaml:9:18: kmip.password_file: cannot read"},
      {kmip_yaml("  password_file: password\n"), "a.yaml:8:18: kmip.password_file: a password needs a username"},
      {kmip_yaml("  username: appl\n  password_env: X\n  password_file: password\n"), "give password_env or password_file, not both"},
      {kmip_yaml("  username: ''\n"), "a.yaml:8:13: kmip.username: empty user name"},
      {kmip_yaml("  passphrase_env: APPLCTL_UNSET_VAR_FOR_TEST\n"), "a.yaml:8:19: kmip.passphrase_env:"},
      {"version: 1\nkmip:\n  host: h\n  ca: missing-ca.pem\n  client_cert: client.pem\n  client_key: client.key\n",
       "a.yaml:4:7: kmip.ca: "},
      {"version: 1\nkmip:\n  host: h\n  ca: missing-ca.pem\n  client_cert: client.pem\n  client_key: client.key\n",
       "missing-ca.pem"},
      {"version: 1\nkmip:\n  host: h\n  ca: garbage.pem\n  client_cert: client.pem\n  client_key: client.key\n",
       "a.yaml:4:7: kmip.ca: cannot read '"},
      {"version: 1\nkmip:\n  host: h\n  ca: garbage.pem\n  client_cert: client.pem\n  client_key: client.key\n",
       "garbage.pem': no certificate or key found"},
      {"version: 1\nkmip:\n  host: h\n  ca: client.key\n  client_cert: client.pem\n  client_key: client.key\n",
       "a.yaml:4:7: kmip.ca: cannot read the CA certificate"},
      {"version: 1\nkmip:\n  host: h\n  ca: ca.pem\n  client_cert: garbage.pem\n  client_key: client.key\n",
       "a.yaml:5:16: kmip.client_cert: "},
      {kmip_yaml("", "other.key"), "a.yaml:7:15: kmip.client_key: the key in"},
      {kmip_yaml("", "other.key"), "does not match the client certificate"},
      {kmip_yaml("", "nothing.key"), "a.yaml:7:15: kmip.client_key: "},
      {"version: 1\nkmip:\n  host: h\n  ca: ca.pem\n  client_cert: client.pem\n", "a.yaml:5:16: kmip.client_cert: no private key"},
      {"version: 1\nkmip:\n  host: h\n  ca_pem: \"-----BEGIN PRIVATE KEY-----\"\n  client_cert: client.pem\n",
       "kmip.ca_pem: a private key is never written"},
      {"version: 1\nkmip:\n  host: h\n  ca: ca.pem\n  client_p12: '!!'\n", "a.yaml:5:15: kmip.client_p12:"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    std::string message = k.error(c.text);
    INFO(message);
    CHECK(message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("kmip plan: new settings, equal settings (no action), what changed (never a secret)", "[provision][kmip]") {
  KmipFiles k;
  Fixture f;
  ScopedEnv password("APPLCTL_UNIT_KMIP_PASSWORD", "first-pa55");
  const std::string text = kmip_yaml("  username: appl\n  password_env: APPLCTL_UNIT_KMIP_PASSWORD\n");
  auto apply = [&](const std::string& yaml, bool dry_run) {
    return apply_appliance(f.store, {k.load(yaml), dry_run, false});
  };

  ApplyResult planned = apply(text, true);
  CHECK(ops(planned).back() == "+ kmip 127.0.0.1:1");
  CHECK(planned.actions.size() == 3);  // with the new store's hostnames and factory default
  CHECK(planned.actions.back().detail.find("CN=leaf.unit.test") != std::string::npos);
  CHECK(planned.actions.back().detail.find("user appl") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(kmip_config_path(f.store.dir())));

  // The settings kmip configure (or an earlier apply) saved, equal to the file's: nothing to do.
  KmipConfig saved = k.load(text).kmip->config;
  saved.version = kmip::Version{2, 0};
  saved.encryption_key_uid = "uid-of-the-store-key";
  f.apply("version: 1\n");  // the store itself
  save_kmip_config(f.store.dir(), saved);
  const std::string bytes = unit_pki::read_text(kmip_config_path(f.store.dir()).string());
  const std::int64_t head = f.store.audit_head();
  ApplyResult equal = apply(text, false);  // no dry run: a test would fail (nothing listens on port 1)
  CHECK(equal.actions.empty());
  CHECK_FALSE(equal.changed);
  CHECK(f.store.audit_head() == head);
  CHECK(unit_pki::read_text(kmip_config_path(f.store.dir()).string()) == bytes);
  CHECK(apply(text + "  no_test: true\n", false).actions.empty());  // no_test is no setting

  // Each difference, named; the password only as "changed".
  ScopedEnv other("APPLCTL_UNIT_KMIP_PASSWORD_2", "second-pa55");
  std::string changed = kmip_yaml("  username: operator\n  password_env: APPLCTL_UNIT_KMIP_PASSWORD_2\n  timeout: 20\n");
  changed.replace(changed.find("port: 1"), 7, "port: 2");
  ApplyResult diff = apply(changed, true);
  REQUIRE(diff.actions.size() == 1);
  const PlanAction& a = diff.actions[0];
  CHECK(a.op == '~');
  CHECK(a.kind == "kmip");
  CHECK(a.name == "127.0.0.1:2");
  CHECK(a.detail == "port 1 -> 2; username appl -> operator; password changed; timeout 10 s -> 20 s");
  unit_pki::write_text(k.tmp / "client2.pem", UnitPki::get().text("cn-late.pem"));
  unit_pki::write_text(k.tmp / "ca2.pem", UnitPki::get().text("twin-a.pem"));
  std::string client = kmip_yaml("  username: appl\n  password_env: APPLCTL_UNIT_KMIP_PASSWORD\n", "other.key");
  client.replace(client.find("client.pem"), 10, "client2.pem");
  client.replace(client.find("ca.pem"), 6, "ca2.pem");
  const std::string detail = apply(client, true).actions.at(0).detail;
  CHECK(detail == "CA CN=Unit Root CA -> CN=Twin CA; client certificate " + UnitPki::get().fingerprint("leaf").substr(0, 16) +
                      " -> " + UnitPki::get().fingerprint("cn-late").substr(0, 16));
  for (const auto& r : {diff, apply(client, true)})
    for (const auto& act : r.actions) {
      CHECK(act.detail.find("pa55") == std::string::npos);
      CHECK(act.detail.find("PRIVATE") == std::string::npos);
    }
  CHECK(unit_pki::read_text(kmip_config_path(f.store.dir()).string()) == bytes);  // dry runs
}

TEST_CASE("kmip apply: a failed server test changes nothing, no_test saves and keeps the store key", "[provision][kmip]") {
  KmipFiles k;
  TempDir tmp;
  Store store = Store::open(tmp.path() / "store", Store::Mode::ReadWrite);
  Error e = error_of([&] { apply_appliance(store, {k.load(kmip_yaml()), false, false}); });
  CHECK(e.kind() == ErrorKind::Remote);
  CHECK(std::string(e.what()).find("a.yaml:3:3: kmip: the test of 127.0.0.1:1 failed, nothing changed: ") == 0);
  CHECK_FALSE(std::filesystem::exists(Store::database_path(store.dir())));  // not even the store
  CHECK_FALSE(std::filesystem::exists(kmip_config_path(store.dir())));

  // no_test: saved at once, with an audit row; applied again: nothing to do.
  ApplyResult r = apply_appliance(store, {k.load(kmip_yaml("  no_test: true\n")), false, false});
  CHECK(r.changed);
  auto saved = load_kmip_config(store.dir());
  REQUIRE(saved);
  CHECK(saved->server() == "127.0.0.1:1");
  CHECK_FALSE(saved->version);
  CHECK_FALSE(saved->credential);
  CHECK(apply_appliance(store, {k.load(kmip_yaml("  no_test: true\n")), false, false}).actions.empty());

  // A change keeps the key that encrypts the store; a failed test keeps the settings as they were.
  saved->encryption_key_uid = "uid-of-the-store-key";
  save_kmip_config(store.dir(), *saved);
  const std::string before = unit_pki::read_text(kmip_config_path(store.dir()).string());
  const std::int64_t head = store.audit_head();
  CHECK(error_of([&] { apply_appliance(store, {k.load(kmip_yaml("  timeout: 5\n")), false, false}); }).kind() ==
        ErrorKind::Remote);
  CHECK(unit_pki::read_text(kmip_config_path(store.dir()).string()) == before);
  CHECK(store.audit_head() == head);
  r = apply_appliance(store, {k.load(kmip_yaml("  timeout: 5\n  no_test: true\n")), false, false});
  CHECK(ops(r) == std::vector<std::string>{"~ kmip 127.0.0.1:1"});
  CHECK(load_kmip_config(store.dir())->timeout_seconds == 5);
  CHECK(load_kmip_config(store.dir())->encryption_key_uid == "uid-of-the-store-key");
  CHECK(store.audit_head() > head);

  // A store transaction that does not commit (a trigger refuses its audit row): the settings saved
  // inside it are put back.
  {
    unit_pki::RawDb raw(store.dir());
    raw.exec("CREATE TRIGGER refuse_apply BEFORE INSERT ON audit_log WHEN NEW.command = 'apply' "
             "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  }
  const std::string saved_bytes = unit_pki::read_text(kmip_config_path(store.dir()).string());
  Error refused = error_of([&] { apply_appliance(store, {k.load(kmip_yaml("  timeout: 6\n  no_test: true\n")), false, false}); });
  CHECK(std::string(refused.what()).find("injected failure") != std::string::npos);
  CHECK(unit_pki::read_text(kmip_config_path(store.dir()).string()) == saved_bytes);
  unit_pki::RawDb(store.dir()).exec("DROP TRIGGER refuse_apply");

  // --prune without a kmip section leaves the settings alone.
  CHECK(apply_appliance(store, {k.load("version: 1\ncertificates: []\nips: []\n"), false, true}).actions.empty());
  CHECK(load_kmip_config(store.dir()));
}

TEST_CASE("export-config writes the kmip section, apply reads it back as equal", "[provision][kmip]") {
  KmipFiles k;
  TempDir tmp;
  Store store = Store::open(tmp.path() / "store", Store::Mode::ReadWrite);
  ScopedEnv password("APPLCTL_UNIT_KMIP_PASSWORD", "kmip-unit-pa55");
  const std::string text = kmip_yaml("  username: appl\n  password_env: APPLCTL_UNIT_KMIP_PASSWORD\n  no_test: true\n");
  apply_appliance(store, {k.load(text), false, false});
  ScopedEnv pass("APPLCTL_UNIT_EXPORT_PASS", "export pass");
  ScopedEnv kmip_password(kKmipPasswordEnv, "kmip-unit-pa55");

  for (bool to_dir : {true, false}) {
    INFO("to a directory: " << to_dir);
    TempDir out;
    ExportConfigRequest req;
    if (to_dir) req.dir = out.path() / "export";
    CHECK(error_of([&] { export_config(store, req); }).kind() == ErrorKind::Refused);  // the client key needs it
    req.passphrase.env = "APPLCTL_UNIT_EXPORT_PASS";
    ExportConfigResult exported = export_config(store, req);
    CHECK(exported.kmip);
    CHECK(exported.kmip_password_env == kKmipPasswordEnv);
    CHECK(exported.yaml.find("password_env: KMIP_PASSWORD") != std::string::npos);
    CHECK(exported.yaml.find("kmip-unit-pa55") == std::string::npos);
    CHECK(exported.yaml.find("PRIVATE KEY") == std::string::npos);
    std::string base = out.path().string();
    if (to_dir) {
      std::map<std::string, bool> files;
      for (const auto& file : exported.files)
        if (file.path.starts_with("kmip/")) files[file.path] = file.secret;
      CHECK(files == std::map<std::string, bool>{{"kmip/ca.pem", false}, {"kmip/client.pem", false}, {"kmip/client.p12", true}});
      CHECK(exported.yaml.find("client_cert: kmip/client.p12") != std::string::npos);
      CHECK(exported.yaml.find("client_key") == std::string::npos);
      write_export(*req.dir, exported, false);
      base = req.dir->string();
      const auto mode = std::filesystem::status(*req.dir / "kmip" / "client.p12").permissions() & std::filesystem::perms::all;
      CHECK(mode == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    } else {
      CHECK(exported.files.empty());
      CHECK(exported.yaml.find("client_p12: ") != std::string::npos);
      CHECK(exported.yaml.find("ca_pem: |") != std::string::npos);
    }
    ApplianceFile back = load_appliance(exported.yaml, "export.yaml", base);
    REQUIRE(back.kmip);
    CHECK(kmip_differences(*load_kmip_config(store.dir()), back.kmip->config).empty());
    // Applied to the store it came from: nothing to do, so nothing is contacted.
    CHECK(apply_appliance(store, {std::move(back), false, false}).actions.empty());
  }
}
