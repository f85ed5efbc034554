// The KMIP settings file: a round trip of every field, the file's mode, what a damaged file gives,
// restoring the previous settings, and the last-test record.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "applctl/base/error.hpp"
#include "applctl/kmip/config.hpp"

namespace {

using namespace applctl;
namespace fs = std::filesystem;

struct Dir {
  fs::path path;
  Dir() {
    char tmpl[] = "/tmp/applctl-kmip-config-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

KmipConfig sample() {
  KmipConfig c;
  c.host = "kms.example.com";
  c.port = 15696;
  c.ca_pem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
  c.client_cert_pem = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
  c.client_key_pem = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";
  c.credential = kmip::Credential("appliance", "pw");
  c.timeout_seconds = 3;
  c.version = kmip::Version{1, 4};
  c.configured_at = 1798761600;  // 2027-01-01
  c.encryption_key_uid = "42";
  return c;
}

unsigned file_mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("KMIP settings: saved 0600 and read back whole", "[kmip][config]") {
  Dir d;
  CHECK_FALSE(kmip_configured(d.path));
  CHECK_FALSE(load_kmip_config(d.path).has_value());
  save_kmip_config(d.path, sample());
  CHECK(kmip_configured(d.path));
  CHECK(file_mode(kmip_config_path(d.path)) == 0600);
  KmipConfig c = require_kmip_config(d.path);
  CHECK(c.host == "kms.example.com");
  CHECK(c.port == 15696);
  CHECK(c.server() == "kms.example.com:15696");
  CHECK(c.ca_pem == sample().ca_pem);
  CHECK(c.client_cert_pem == sample().client_cert_pem);
  CHECK(c.client_key_pem == sample().client_key_pem);
  REQUIRE(c.credential);
  CHECK(c.credential->username == "appliance");
  CHECK(c.credential->password == "pw");
  CHECK(c.timeout_seconds == 3);
  CHECK(c.version == kmip::Version{1, 4});
  CHECK(c.configured_at == 1798761600);
  CHECK(c.encryption_key_uid == "42");
  kmip::ClientSettings s = c.client_settings();
  CHECK(s.timeout == std::chrono::seconds(3));
  CHECK(s.version == kmip::Version{1, 4});

  KmipConfig bare = sample();
  bare.credential.reset();
  bare.version.reset();
  bare.encryption_key_uid.clear();
  bare.host = "2001:db8::5";
  save_kmip_config(d.path, bare);
  KmipConfig b = require_kmip_config(d.path);
  CHECK_FALSE(b.credential);
  CHECK_FALSE(b.version);
  CHECK(b.encryption_key_uid.empty());
  CHECK(b.server() == "[2001:db8::5]:15696");
}

TEST_CASE("KMIP settings: missing is exit 4, damaged is exit 1 without the contents", "[kmip][config]") {
  Dir d;
  try {
    require_kmip_config(d.path);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::NotFound);
    CHECK(e.hint().find("kmip configure") != std::string::npos);
  }
  for (const char* text : {"{not json", R"({"format": 1, "host": "h"})", R"({"format": 2})",
                           R"({"format": 1, "host": 5, "port": 1, "configured_at": "x", "ca_pem": "secret-ca"})"}) {
    INFO(text);
    std::ofstream(kmip_config_path(d.path)) << text;
    try {
      load_kmip_config(d.path);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Failed);
      CHECK(std::string(e.what()).find("kmip.json") != std::string::npos);
      CHECK(std::string(e.what()).find("secret-ca") == std::string::npos);
    }
  }
}

TEST_CASE("KMIP settings: restore puts back the previous file, or none", "[kmip][config]") {
  Dir d;
  restore_kmip_config(d.path, std::nullopt);
  CHECK_FALSE(kmip_configured(d.path));
  save_kmip_config(d.path, sample());
  KmipConfig other = sample();
  other.host = "other.example.com";
  save_kmip_config(d.path, other);
  restore_kmip_config(d.path, sample());
  CHECK(require_kmip_config(d.path).host == "kms.example.com");
  restore_kmip_config(d.path, std::nullopt);
  CHECK_FALSE(kmip_configured(d.path));
}

TEST_CASE("KMIP settings: the last test is recorded, and a damaged record is none", "[kmip][config]") {
  Dir d;
  CHECK_FALSE(load_kmip_test(d.path));
  KmipTestRecord ok;
  ok.time = 1798761600;
  ok.server = "kms:5696";
  ok.ok = true;
  ok.version = "2.0";
  ok.versions = {"2.0", "1.4"};
  ok.vendor = "V";
  save_kmip_test(d.path, ok);
  CHECK(file_mode(kmip_test_path(d.path)) == 0600);
  auto r = load_kmip_test(d.path);
  REQUIRE(r);
  CHECK(r->ok);
  CHECK(r->versions == ok.versions);
  CHECK(r->vendor == "V");

  KmipTestRecord failed;
  failed.time = 1798761601;
  failed.server = "kms:5696";
  failed.error = "cannot connect";
  save_kmip_test(d.path, failed);
  r = load_kmip_test(d.path);
  REQUIRE(r);
  CHECK_FALSE(r->ok);
  CHECK(r->error == "cannot connect");

  std::ofstream(kmip_test_path(d.path)) << "{";
  CHECK_FALSE(load_kmip_test(d.path));
  // Best effort: a directory that does not exist is no error.
  save_kmip_test(d.path / "missing", ok);
}
