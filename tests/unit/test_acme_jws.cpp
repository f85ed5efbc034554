// ACME's pure parts: base64url (RFC 4648 section 5 vectors, and the standard alphabet as oracle),
// the RFC 7638 thumbprint (the RFC's own example), the account key's JWK (against the key's
// SubjectPublicKeyInfo) and ES256 JWS (header fields, and a signature that `openssl dgst -verify`
// accepts with the public key).
#include <openssl/ec.h>
#include <openssl/rand.h>

#include <algorithm>

#include "applctl/acme/acme.hpp"
#include "base/ossl.hpp"
#include "unit_pki.hpp"

namespace {

using namespace applctl;
using unit_pki::kind_of;
using unit_pki::TempDir;

// The standard alphabet of the existing encoder, turned into base64url by hand: the oracle.
std::string url_of_standard(BytesView b) {
  std::string s = base64_encode(b);
  s.erase(std::remove(s.begin(), s.end(), '='), s.end());
  std::replace(s.begin(), s.end(), '+', '-');
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

PrivateKey p256() { return PrivateKey::generate(KeySpec::parse("ec:P-256")); }

nlohmann::json decode_json(const std::string& b64) {
  return nlohmann::json::parse(to_string(acme::base64url_decode(b64)));
}

// r||s back to a DER ECDSA-Sig-Value, as `openssl dgst -verify` wants it.
Bytes der_signature(const Bytes& raw) {
  REQUIRE(raw.size() == 64);
  std::unique_ptr<ECDSA_SIG, ossl::Free<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  REQUIRE(ECDSA_SIG_set0(sig.get(), r, s) == 1);
  unsigned char* out = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &out);
  REQUIRE(len > 0);
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

}  // namespace

TEST_CASE("acme: base64url: the RFC 4648 vectors, the URL alphabet, no padding", "[acme]") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    INFO(plain);
    CHECK(acme::base64url(as_bytes(plain)) == encoded);
    CHECK(to_string(acme::base64url_decode(encoded)) == plain);
  }
  const Bytes high = {0xfb, 0xff, 0xbf};
  CHECK(acme::base64url(high) == "-_-_");
  CHECK(acme::base64url_decode("-_-_") == high);
}

TEST_CASE("acme: base64url agrees with the standard encoder on random data of every length to 100", "[acme]") {
  for (std::size_t n = 0; n <= 100; ++n) {
    Bytes b(n);
    if (n > 0) REQUIRE(RAND_bytes(b.data(), static_cast<int>(n)) == 1);
    INFO("length " << n);
    std::string enc = acme::base64url(b);
    CHECK(enc == url_of_standard(b));
    CHECK(acme::base64url_decode(enc) == b);
  }
}

TEST_CASE("acme: base64url decoding refuses padding, the standard alphabet, bad lengths and stray bits", "[acme]") {
  for (const char* bad : {"Zg==", "Zm9v+A", "Zm9v/A", "Z", "Zm9vY", "Zh", "Zm9 v", "Zm9v\n"}) {
    INFO(bad);
    CHECK(kind_of([&] { acme::base64url_decode(bad); }) == ErrorKind::BadInput);
  }
}

TEST_CASE("acme: JWK thumbprint: the example of RFC 7638 section 3.1", "[acme]") {
  nlohmann::json jwk = {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
       "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
       "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
  CHECK(acme::jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  jwk.erase("n");
  CHECK(kind_of([&] { acme::jwk_thumbprint(jwk); }) == ErrorKind::BadInput);
  CHECK(kind_of([&] { acme::jwk_thumbprint({{"kty", "oct"}, {"k", "AAAA"}}); }) == ErrorKind::BadInput);
}

TEST_CASE("acme: the account key's JWK is its public point, and its thumbprint hashes the sorted members", "[acme]") {
  PrivateKey key = p256();
  nlohmann::json jwk = acme::public_jwk(key);
  CHECK(jwk.size() == 4);
  CHECK(jwk["kty"] == "EC");
  CHECK(jwk["crv"] == "P-256");
  Bytes x = acme::base64url_decode(jwk["x"].get<std::string>());
  Bytes y = acme::base64url_decode(jwk["y"].get<std::string>());
  REQUIRE(x.size() == 32);
  REQUIRE(y.size() == 32);
  // A P-256 SubjectPublicKeyInfo ends with the uncompressed point 04 || x || y.
  Bytes spki = key.spki_der();
  Bytes point(spki.end() - 65, spki.end());
  CHECK(point[0] == 0x04);
  CHECK(Bytes(point.begin() + 1, point.begin() + 33) == x);
  CHECK(Bytes(point.begin() + 33, point.end()) == y);

  // The canonical form of RFC 7638, written out by hand, hashed by the openssl CLI.
  TempDir dir;
  std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + jwk["x"].get<std::string>() + R"(","y":")" +
                          jwk["y"].get<std::string>() + R"("})";
  unit_pki::write_text(dir / "jwk.json", canonical);
  std::string digest = dir.sh("openssl dgst -sha256 -binary jwk.json | openssl base64 -A | tr '+/' '-_' | tr -d '='");
  CHECK(acme::jwk_thumbprint(jwk) == digest);

  CHECK(kind_of([] { acme::public_jwk(PrivateKey::generate(KeySpec::parse("ec:P-384"))); }) == ErrorKind::BadInput);
  CHECK(kind_of([] { acme::public_jwk(PrivateKey::generate(KeySpec::parse("ed25519"))); }) == ErrorKind::BadInput);
}

TEST_CASE("acme: JWS: protected header with jwk or kid, payload, and an ES256 r||s signature openssl verifies", "[acme]") {
  PrivateKey key = p256();
  TempDir dir;
  unit_pki::write_text(dir / "pub.der", to_string(key.spki_der()));
  dir.sh("openssl pkey -pubin -inform DER -in pub.der -out pub.pem");

  SECTION("newAccount: jwk, no kid") {
    nlohmann::json jws = acme::sign_jws(key, {"https://acme.test/new-acct", "nonce-1", std::nullopt},
                                        R"({"termsOfServiceAgreed":true})");
    CHECK(jws.size() == 3);
    nlohmann::json prot = decode_json(jws["protected"]);
    CHECK(prot["alg"] == "ES256");
    CHECK(prot["nonce"] == "nonce-1");
    CHECK(prot["url"] == "https://acme.test/new-acct");
    CHECK(prot["jwk"] == acme::public_jwk(key));
    CHECK_FALSE(prot.contains("kid"));
    CHECK(decode_json(jws["payload"])["termsOfServiceAgreed"] == true);

    Bytes sig = acme::base64url_decode(jws["signature"].get<std::string>());
    CHECK(sig.size() == 64);
    unit_pki::write_text(dir / "input", jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>());
    unit_pki::write_text(dir / "sig.der", to_string(der_signature(sig)));
    CHECK(dir.sh("openssl dgst -sha256 -verify pub.pem -signature sig.der input").find("Verified OK") != std::string::npos);

    // One changed byte of the signed input: openssl refuses it.
    unit_pki::write_text(dir / "input", jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>() + "x");
    CHECK_THROWS(dir.sh("openssl dgst -sha256 -verify pub.pem -signature sig.der input"));
  }

  SECTION("POST-as-GET with a kid: empty payload, no jwk") {
    nlohmann::json jws = acme::sign_jws(key, {"https://acme.test/order/1", "nonce-2", "https://acme.test/acct/7"}, "");
    nlohmann::json prot = decode_json(jws["protected"]);
    CHECK(prot["kid"] == "https://acme.test/acct/7");
    CHECK_FALSE(prot.contains("jwk"));
    CHECK(jws["payload"] == "");
    Bytes sig = acme::base64url_decode(jws["signature"].get<std::string>());
    unit_pki::write_text(dir / "input", jws["protected"].get<std::string>() + ".");
    unit_pki::write_text(dir / "sig.der", to_string(der_signature(sig)));
    CHECK(dir.sh("openssl dgst -sha256 -verify pub.pem -signature sig.der input").find("Verified OK") != std::string::npos);
  }

  SECTION("every signature is 64 bytes, also when r or s has leading zero bytes") {
    // About 1 in 128 signatures has r or s below 2^248: 500 signatures meet some.
    for (int i = 0; i < 500; ++i) {
      nlohmann::json jws = acme::sign_jws(key, {"u", std::to_string(i), std::nullopt}, "{}");
      REQUIRE(acme::base64url_decode(jws["signature"].get<std::string>()).size() == 64);
    }
  }

  CHECK(kind_of([] {
          acme::sign_jws(PrivateKey::generate(KeySpec::parse("rsa:2048")), {"u", "n", std::nullopt}, "");
        }) == ErrorKind::BadInput);
}
