// [keys] key specs, key generation, PKCS#8 round trips, key strength.
#include <string>
#include <vector>

#include "applctl/x509/keys.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::kind_of;

namespace {

struct SpecCase {
  const char* text;
  KeyType type;
  int bits;
  const char* curve;
  const char* canonical;
};

}  // namespace

TEST_CASE("KeySpec::parse accepts every spec of cli.md, case-insensitively, with the curve aliases", "[keys]") {
  const std::vector<SpecCase> cases = {
      {"rsa:2048", KeyType::RSA, 2048, "", "rsa:2048"},
      {"rsa:3072", KeyType::RSA, 3072, "", "rsa:3072"},
      {"rsa:4096", KeyType::RSA, 4096, "", "rsa:4096"},
      {"ec:P-256", KeyType::EC, 256, "P-256", "ec:P-256"},
      {"ec:P-384", KeyType::EC, 384, "P-384", "ec:P-384"},
      {"ed25519", KeyType::ED25519, 256, "", "ed25519"},
      {"RSA:2048", KeyType::RSA, 2048, "", "rsa:2048"},
      {"Rsa:4096", KeyType::RSA, 4096, "", "rsa:4096"},
      {"EC:p-256", KeyType::EC, 256, "P-256", "ec:P-256"},
      {"ec:p-384", KeyType::EC, 384, "P-384", "ec:P-384"},
      {"ED25519", KeyType::ED25519, 256, "", "ed25519"},
      {"Ed25519", KeyType::ED25519, 256, "", "ed25519"},
      {"ec:prime256v1", KeyType::EC, 256, "P-256", "ec:P-256"},
      {"EC:PRIME256V1", KeyType::EC, 256, "P-256", "ec:P-256"},
      {"ec:secp384r1", KeyType::EC, 384, "P-384", "ec:P-384"},
      {"ec:SECP384R1", KeyType::EC, 384, "P-384", "ec:P-384"},
  };
  for (const auto& c : cases) {
    INFO("spec " << c.text);
    KeySpec s = KeySpec::parse(c.text);
    CHECK(s.type == c.type);
    CHECK(s.bits == c.bits);
    CHECK(s.curve == c.curve);
    CHECK(s.str() == c.canonical);
    // The canonical spelling parses back to the same spec.
    KeySpec again = KeySpec::parse(s.str());
    CHECK(again.type == s.type);
    CHECK(again.bits == s.bits);
    CHECK(again.curve == s.curve);
  }
}

TEST_CASE("KeySpec default is rsa:3072", "[keys]") {
  KeySpec d = KeySpec::default_spec();
  CHECK(d.type == KeyType::RSA);
  CHECK(d.bits == 3072);
  CHECK(d.str() == "rsa:3072");
}

TEST_CASE("KeySpec::parse refuses weak, unknown and malformed specs as bad input", "[keys]") {
  const std::vector<std::string> bad = {"rsa:1024", "rsa:1000", "rsa:512",  "rsa:abc", "rsa:",     "rsa:2048x",
                                        "rsa:-2048", "rsa:8192", "rsa:2049", "ec:P-521", "ec:P-224", "ec:",
                                        "ec",        "dsa:2048", "",         "rsa",      "ed448",    " rsa:2048",
                                        "rsa:2048 ", "rsa::2048", "ed25519:256", ":2048"};
  for (const auto& text : bad) {
    INFO("spec '" << text << "'");
    auto e = unit_pki::error_of([&] { KeySpec::parse(text); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()).find("'" + text + "'") != std::string::npos);
    CHECK_FALSE(e.hint().empty());
  }
}

TEST_CASE("Generated keys have the KeyInfo of their spec", "[keys]") {
  SECTION("ec:P-256") {
    PrivateKey k = PrivateKey::generate(KeySpec::parse("ec:P-256"));
    KeyInfo i = k.info();
    CHECK(i.type == "EC");
    CHECK(i.bits == 256);
    CHECK(i.curve == "P-256");
    CHECK(i.spec() == "ec:P-256");
    CHECK_FALSE(i.weak());
  }
  SECTION("ec:P-384") {
    KeyInfo i = PrivateKey::generate(KeySpec::parse("ec:P-384")).info();
    CHECK(i.type == "EC");
    CHECK(i.bits == 384);
    CHECK(i.curve == "P-384");
    CHECK(i.spec() == "ec:P-384");
  }
  SECTION("ed25519") {
    KeyInfo i = PrivateKey::generate(KeySpec::parse("ed25519")).info();
    CHECK(i.type == "ED25519");
    CHECK(i.curve.empty());
    CHECK(i.spec() == "ed25519");
    CHECK_FALSE(i.weak());
  }
  SECTION("rsa:2048") {
    KeyInfo i = PrivateKey::generate(KeySpec::parse("rsa:2048")).info();
    CHECK(i.type == "RSA");
    CHECK(i.bits == 2048);
    CHECK(i.curve.empty());
    CHECK(i.spec() == "rsa:2048");
    CHECK(KeySpec::parse(i.spec()).bits == 2048);
  }
}

TEST_CASE("Two generated keys differ", "[keys]") {
  auto spec = KeySpec::parse("ec:P-256");
  PrivateKey a = PrivateKey::generate(spec), b = PrivateKey::generate(spec);
  CHECK(a.spki_sha256() != b.spki_sha256());
  CHECK(a.pkcs8_der() != b.pkcs8_der());
}

TEST_CASE("PKCS#8 round trip keeps the key and its SPKI SHA-256", "[keys]") {
  for (const char* spec : {"ec:P-256", "ec:P-384", "ed25519"}) {
    INFO("spec " << spec);
    PrivateKey k = PrivateKey::generate(KeySpec::parse(spec));
    PrivateKey back = PrivateKey::from_pkcs8_der(k.pkcs8_der());
    CHECK(back.spki_sha256() == k.spki_sha256());
    CHECK(back.spki_der() == k.spki_der());
    CHECK(back.pkcs8_der() == k.pkcs8_der());
    CHECK(back.info().spec() == k.info().spec());
  }
}

TEST_CASE("spki_sha256 is the SHA-256 of the DER SubjectPublicKeyInfo, as openssl computes it", "[keys]") {
  unit_pki::TempDir tmp;
  PrivateKey k = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  const std::string fp = k.spki_sha256();
  CHECK(fp.size() == 64);
  CHECK(fp.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(fp == sha256_hex(k.spki_der()));
  CHECK(fp == spki_sha256(k.get()));
  // Oracle: openssl reads the PKCS#8 DER and writes the public key.
  Bytes p8 = k.pkcs8_der();
  unit_pki::write_text(tmp / "key.der", to_string(p8));
  tmp.sh("openssl pkey -inform DER -in key.der -pubout -outform DER -out pub.der");
  CHECK(sha256_hex(read_file(tmp / "pub.der")) == fp);
}

TEST_CASE("PrivateKey::from_pkcs8_der refuses garbage as bad input", "[keys]") {
  const std::string garbage = "not a key at all";
  CHECK(kind_of([&] { PrivateKey::from_pkcs8_der(as_bytes(garbage)); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { PrivateKey::from_pkcs8_der({}); }) == ErrorKind::BadInput);
  Bytes p8 = PrivateKey::generate(KeySpec::parse("ec:P-256")).pkcs8_der();
  p8.resize(p8.size() / 2);
  CHECK(kind_of([&] { PrivateKey::from_pkcs8_der(p8); }) == ErrorKind::BadInput);
}

TEST_CASE("KeyInfo::weak: RSA below 2048 and EC below 256 bits", "[keys]") {
  CHECK(KeyInfo{"RSA", 1024, ""}.weak());
  CHECK(KeyInfo{"RSA", 2047, ""}.weak());
  CHECK_FALSE(KeyInfo{"RSA", 2048, ""}.weak());
  CHECK_FALSE(KeyInfo{"RSA", 4096, ""}.weak());
  CHECK(KeyInfo{"EC", 224, "P-224"}.weak());
  CHECK_FALSE(KeyInfo{"EC", 256, "P-256"}.weak());
  CHECK_FALSE(KeyInfo{"EC", 384, "P-384"}.weak());
  CHECK_FALSE(KeyInfo{"ED25519", 253, ""}.weak());
}

TEST_CASE("KeyInfo::spec spells known keys as key specs", "[keys]") {
  CHECK(KeyInfo{"RSA", 1024, ""}.spec() == "rsa:1024");
  CHECK(KeyInfo{"EC", 256, "P-256"}.spec() == "ec:P-256");
  CHECK(KeyInfo{"EC", 521, ""}.spec() == "ec:521");
  CHECK(KeyInfo{"ED25519", 253, ""}.spec() == "ed25519");
  CHECK(KeyInfo{"DSA", 2048, ""}.spec() == "dsa:2048");
}
