// `acme account --account-key FILE`: which key files are taken as an ACME account key (EC P-256,
// PKCS#8 or SEC1 PEM, unencrypted) and how every other one is refused: bad input naming the file
// and the problem, never quoting the file. The keys are made by the openssl CLI.
#include <unistd.h>

#include "applctl/acme/acme.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using unit_pki::error_of;
using unit_pki::TempDir;

std::string message_of(const std::string& file) {
  Error e = error_of([&] { acme::read_account_key(file); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK(std::string(e.what()).find(file) != std::string::npos);
  return e.what();
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("acme account key: an EC P-256 key in PKCS#8 and in SEC1 PEM is the same account key", "[acme]") {
  TempDir dir;
  dir.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p8.pem");
  dir.sh("openssl ec -in p8.pem -outform PEM -out sec1.pem");
  dir.sh("openssl pkey -in p8.pem -pubout -outform DER -out pub.der");
  REQUIRE(has(unit_pki::read_text(dir / "p8.pem"), "-----BEGIN PRIVATE KEY-----"));
  REQUIRE(has(unit_pki::read_text(dir / "sec1.pem"), "-----BEGIN EC PRIVATE KEY-----"));

  PrivateKey a = acme::read_account_key(dir / "p8.pem");
  PrivateKey b = acme::read_account_key(dir / "sec1.pem");
  CHECK(to_string(a.spki_der()) == unit_pki::read_text(dir / "pub.der"));
  CHECK(a.spki_sha256() == b.spki_sha256());
  CHECK(a.info().spec() == "ec:P-256");
  // It signs: the JWK is the ES256 one.
  nlohmann::json jwk = acme::public_jwk(a);
  CHECK(jwk["crv"] == "P-256");
  CHECK(acme::jwk_thumbprint(jwk) == acme::jwk_thumbprint(acme::public_jwk(b)));
}

TEST_CASE("acme account key: a certificate before the key in one PEM file still gives the key", "[acme]") {
  TempDir dir;
  dir.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem "
         "-subj /CN=acct -days 1 && cat c.pem k.pem > both.pem");
  CHECK(acme::read_account_key(dir / "both.pem").spki_sha256() == acme::read_account_key(dir / "k.pem").spki_sha256());
}

TEST_CASE("acme account key: files that hold no usable key are bad input naming the file", "[acme]") {
  TempDir dir;
  SECTION("missing") { CHECK(has(message_of(dir / "nope.key"), "no such file")); }
  SECTION("a directory") { CHECK(has(message_of(dir.path().string()), "directory")); }
  SECTION("unreadable") {
    if (::geteuid() == 0) return;  // root reads it anyway
    dir.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem && chmod 000 k.pem");
    CHECK(has(message_of(dir / "k.pem"), "cannot be read"));
  }
  SECTION("a certificate") {
    dir.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem "
           "-subj /CN=acct -days 1");
    CHECK(has(message_of(dir / "c.pem"), "not a private key: the file holds a certificate"));
  }
  SECTION("a public key") {
    dir.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkey -pubout -out pub.pem");
    CHECK(has(message_of(dir / "pub.pem"), "holds a public key"));
  }
  SECTION("garbage, and an empty file") {
    unit_pki::write_text(dir / "junk.key", "this is no key\n\x01\x02\x03");
    CHECK(has(message_of(dir / "junk.key"), "no PEM private key found"));
    unit_pki::write_text(dir / "empty.key", "");
    CHECK(has(message_of(dir / "empty.key"), "no PEM private key found"));
  }
  SECTION("a DER key (PEM only)") {
    dir.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out k.der");
    CHECK(has(message_of(dir / "k.der"), "no PEM private key found"));
  }
}

TEST_CASE("acme account key: an encrypted key is refused as such without asking for a passphrase", "[acme]") {
  TempDir dir;
  dir.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:x -out p8.pem");
  dir.sh("openssl ec -in p8.pem -passin pass:x -aes256 -passout pass:x -out sec1.pem");
  REQUIRE(has(unit_pki::read_text(dir / "p8.pem"), "ENCRYPTED PRIVATE KEY"));
  REQUIRE(has(unit_pki::read_text(dir / "sec1.pem"), "Proc-Type: 4,ENCRYPTED"));
  for (const char* f : {"p8.pem", "sec1.pem"}) {
    INFO(f);
    Error e = error_of([&] { acme::read_account_key(dir / f); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(has(e.what(), dir / f));
    CHECK(has(e.what(), "encrypted"));
    CHECK(has(e.hint(), "openssl pkey"));
  }
}

TEST_CASE("acme account key: RSA P-384 and Ed25519 keys are refused: only EC P-256 (ES256)", "[acme]") {
  TempDir dir;
  dir.sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem");
  dir.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem");
  dir.sh("openssl ec -in p384.pem -outform PEM -out p384-sec1.pem");
  dir.sh("openssl genpkey -algorithm ed25519 -out ed.pem");
  const std::string only = "only EC P-256 (ES256) account keys are supported";
  for (const auto& [file, what] : std::vector<std::pair<std::string, std::string>>{
           {"rsa.pem", "RSA key"}, {"p384.pem", "curve P-384"}, {"p384-sec1.pem", "curve P-384"}, {"ed.pem", "Ed25519 key"}}) {
    INFO(file);
    std::string m = message_of(dir / file);
    CHECK(has(m, only));
    CHECK(has(m, what));
    // Nothing of the key's body in the message.
    std::string body = unit_pki::read_text(dir / file);
    std::string line = body.substr(body.find('\n') + 1, 40);
    CHECK_FALSE(has(m, line));
    CHECK_FALSE(has(m, "BEGIN"));
  }
}
