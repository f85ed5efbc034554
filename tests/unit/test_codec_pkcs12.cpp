// decode_any on PKCS#12: modern and legacy algorithms, empty/absent passwords, no MAC, order of
// certificates, key/certificate mismatch, and when the legacy provider gets loaded.
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include "base/ossl.hpp"
#include "test_codec_pki.hpp"

using namespace applctl;
using codec_test::Asker;
using codec_test::decode_file;
using codec_test::error_of;
using codec_test::fingerprints;
using codec_test::Pki;

namespace {

struct P12File {
  std::string name;
  std::string options;  // for `openssl pkcs12 -export`
  std::optional<std::string> passphrase;  // nullopt: must never be asked
  bool legacy;
};

ossl::X509Ptr load_cert(const Pki& pki, const std::string& name) {
  Bytes der = decode_file(pki, name).certificates.at(0);
  return ossl::x509_from_der(der, "test certificate");
}

}  // namespace

TEST_CASE("decode_any reads PKCS#12 files with the end entity first and then the CA certificates", "[codec]") {
  const Pki& pki = Pki::get();
  auto file = GENERATE(P12File{"modern.p12", "-passout pass:s3cret", "s3cret", false},
                       P12File{"legacy.p12", "-legacy -passout pass:s3cret", "s3cret", true},
                       P12File{"3des.p12", "-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -passout pass:s3cret",
                               "s3cret", true},
                       P12File{"empty.p12", "-passout pass:", std::nullopt, false},
                       P12File{"empty-legacy.p12", "-legacy -passout pass:", std::nullopt, true},
                       P12File{"nomac.p12", "-nomac -passout pass:s3cret", "s3cret", false},
                       P12File{"plain.p12", "-keypbe NONE -certpbe NONE -nomac -passout pass:", std::nullopt, false});
  CAPTURE(file.name);
  pki.sh("openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile chain.pem -name 'leaf cert' " + file.options +
         " -out " + file.name);

  Asker ask;
  ask.answer = file.passphrase;
  Decoded d = decode_file(pki, file.name, ask.fn());
  CHECK(d.format == "pkcs12");
  CHECK(fingerprints(d) == std::vector<std::string>{pki.leaf_fp, pki.int_fp, pki.root_fp});
  REQUIRE(d.keys.size() == 1);
  CHECK(d.keys[0].spki_sha256() == pki.leaf_spki);
  CHECK(d.legacy_pkcs12 == file.legacy);
  CHECK(d.friendly_name == "leaf cert");
  CHECK(ask.calls == (file.passphrase ? 1 : 0));

  // A passphrase from a file or the environment is tried first; a file without a password
  // still reads when it is given one.
  Asker given;
  given.answer = file.passphrase.value_or("unused-passphrase");
  Decoded g = applctl::decode_any(pki.bytes(file.name), file.name, given.fn(), true);
  CHECK(fingerprints(g) == fingerprints(d));
  REQUIRE(g.keys.size() == 1);
  CHECK(g.keys[0].spki_sha256() == pki.leaf_spki);
  CHECK(given.calls <= 1);

  if (file.passphrase) {
    Asker none;
    Error e = error_of([&] { decode_file(pki, file.name, none.fn()); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()) == "'" + file.name + "' is encrypted and no passphrase was given");
    CHECK(e.hint() == "use --passphrase-file FILE or --passphrase-env VAR");

    Asker wrong;
    wrong.answer = "Wr0ng-pass";
    Error w = error_of([&] { decode_file(pki, file.name, wrong.fn()); });
    CHECK(w.kind() == ErrorKind::BadInput);
    CHECK_THAT(w.what(), Catch::StartsWith("cannot read '" + file.name + "': wrong passphrase ("));
    CHECK(w.hint() == "check the passphrase");
    CHECK(std::string(w.what()).find("Wr0ng-pass") == std::string::npos);
  }
}

TEST_CASE("decode_any reads a certificates-only PKCS#12 in file order", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("cat root.pem int.pem leaf.pem > reversed.pem");
  pki.sh("openssl pkcs12 -export -nokeys -in reversed.pem -passout pass:x -out certs-only.p12");
  Asker ask;
  ask.answer = "x";
  Decoded d = decode_file(pki, "certs-only.p12", ask.fn());
  CHECK(d.keys.empty());
  CHECK(fingerprints(d) == std::vector<std::string>{pki.root_fp, pki.int_fp, pki.leaf_fp});
}

TEST_CASE("decode_any puts the key's certificate first whatever its place in the PKCS#12", "[codec]") {
  const Pki& pki = Pki::get();
  Decoded key = decode_file(pki, "leaf.key");
  ossl::X509StackPtr certs(sk_X509_new_null());
  for (const char* name : {"root.pem", "int.pem", "leaf.pem"}) {
    ossl::X509Ptr x = load_cert(pki, name);
    REQUIRE(sk_X509_push(certs.get(), x.get()) > 0);
    x.release();
  }
  // No `cert`: the key bag gets no localKeyID and the leaf travels last among the CA certs.
  ossl::Pkcs12Ptr p12(PKCS12_create("pw", nullptr, key.keys.at(0).get(), nullptr, certs.get(), NID_aes_256_cbc,
                                    NID_aes_256_cbc, 2048, 2048, 0));
  REQUIRE(p12);
  Bytes der = ossl::to_der(p12.get(), i2d_PKCS12, "i2d_PKCS12");
  Decoded d = decode_any(der, "leaf-last.p12", [] { return std::optional<std::string>("pw"); });
  CHECK(fingerprints(d) == std::vector<std::string>{pki.leaf_fp, pki.root_fp, pki.int_fp});
}

TEST_CASE("decode_any refuses a PKCS#12 whose key does not match its certificate", "[codec]") {
  const Pki& pki = Pki::get();
  Decoded other = decode_file(pki, "root.key");  // EC key; the leaf certificate is RSA
  ossl::X509Ptr leaf = load_cert(pki, "leaf.pem");
  Bytes der;
  SECTION("paired by localKeyID") {
    STACK_OF(PKCS12_SAFEBAG)* bags = nullptr;
    unsigned char id[] = {1, 2, 3, 4};
    PKCS12_SAFEBAG* kb = PKCS12_add_key(&bags, other.keys.at(0).get(), 0, 2048, NID_aes_256_cbc, "pw");
    PKCS12_SAFEBAG* cb = PKCS12_add_cert(&bags, leaf.get());
    REQUIRE((kb != nullptr && cb != nullptr));
    REQUIRE(PKCS12_add_localkeyid(kb, id, sizeof id) == 1);
    REQUIRE(PKCS12_add_localkeyid(cb, id, sizeof id) == 1);
    STACK_OF(PKCS7)* safes = nullptr;
    REQUIRE(PKCS12_add_safe(&safes, bags, -1, 0, nullptr) == 1);
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    ossl::Pkcs12Ptr p12(PKCS12_add_safes(safes, 0));
    sk_PKCS7_pop_free(safes, PKCS7_free);
    REQUIRE(p12);
    REQUIRE(PKCS12_set_mac(p12.get(), "pw", -1, nullptr, 0, 2048, EVP_sha256()) == 1);
    der = ossl::to_der(p12.get(), i2d_PKCS12, "i2d_PKCS12");
  }
  SECTION("not paired, no certificate has the key") {
    ossl::X509StackPtr ca(sk_X509_new_null());
    REQUIRE(sk_X509_push(ca.get(), leaf.get()) > 0);
    leaf.release();
    ossl::Pkcs12Ptr p12(PKCS12_create("pw", nullptr, other.keys.at(0).get(), nullptr, ca.get(), NID_aes_256_cbc,
                                      NID_aes_256_cbc, 2048, 2048, 0));
    REQUIRE(p12);
    der = ossl::to_der(p12.get(), i2d_PKCS12, "i2d_PKCS12");
  }
  SECTION("made by openssl pkcs12 -export -nocerts -certfile") {
    // The openssl CLI refuses to pair -in/-inkey that differ but adds -certfile without checking.
    pki.sh("openssl pkcs12 -export -nocerts -inkey root.key -certfile leaf.pem -passout pass:pw -out mismatch-cli.p12");
    der = pki.bytes("mismatch-cli.p12");
  }
  Error e = error_of([&] { decode_any(der, "mismatch.p12", [] { return std::optional<std::string>("pw"); }); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK_THAT(e.what(), Catch::StartsWith("cannot read 'mismatch.p12': key does not match its certificate"));
}

TEST_CASE("the legacy provider is loaded only when a legacy PKCS#12 is met and default stays", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl pkcs12 -export -in leaf.pem -inkey leaf.key -passout pass:p -out prov-modern.p12");
  pki.sh("openssl pkcs12 -export -legacy -in leaf.pem -inkey leaf.key -passout pass:p -out prov-legacy.p12");
  auto pw = [] { return std::optional<std::string>("p"); };
  bool loaded_before = OSSL_PROVIDER_available(nullptr, "legacy") == 1;
  if (loaded_before) WARN("an earlier test in this process loaded the legacy provider; run this test alone to check");

  decode_file(pki, "prov-modern.p12", pw);
  if (!loaded_before) CHECK(OSSL_PROVIDER_available(nullptr, "legacy") == 0);

  Decoded d = decode_file(pki, "prov-legacy.p12", pw);
  CHECK(d.legacy_pkcs12);
  CHECK(OSSL_PROVIDER_available(nullptr, "legacy") == 1);
  CHECK(OSSL_PROVIDER_available(nullptr, "default") == 1);
  // Modern algorithms still work after the legacy provider was loaded.
  std::unique_ptr<EVP_CIPHER, ossl::Free<EVP_CIPHER_free>> aes(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
  CHECK(aes != nullptr);
  CHECK(decode_file(pki, "prov-modern.p12", pw).keys.size() == 1);
}
