// decode_any on private keys: PKCS#1, SEC1, PKCS#8 plain and encrypted, legacy PEM encryption,
// PEM and DER, all written by the openssl CLI. A key is right when its public key hashes like the
// certificate's (per openssl).
#include "test_codec_pki.hpp"

using namespace applctl;
using codec_test::Asker;
using codec_test::decode_file;
using codec_test::error_of;
using codec_test::Pki;

namespace {

struct KeyFile {
  std::string name;
  std::string command;  // writes `name` in the PKI directory
  bool encrypted;
  bool leaf;  // leaf (RSA) or root (EC) key
};

}  // namespace

TEST_CASE("decode_any reads private keys in every form", "[codec]") {
  const Pki& pki = Pki::get();
  auto file = GENERATE(
      KeyFile{"rsa.pkcs1.pem", "openssl rsa -in leaf.key -traditional -out rsa.pkcs1.pem", false, true},
      KeyFile{"rsa.pkcs1.der", "openssl rsa -in leaf.key -traditional -outform DER -out rsa.pkcs1.der", false, true},
      KeyFile{"rsa.pkcs1.aes.pem", "openssl rsa -in leaf.key -traditional -aes256 -passout pass:k3y -out rsa.pkcs1.aes.pem",
              true, true},
      KeyFile{"rsa.pkcs1.3des.pem", "openssl rsa -in leaf.key -traditional -des3 -passout pass:k3y -out rsa.pkcs1.3des.pem",
              true, true},
      KeyFile{"ec.sec1.pem", "openssl ec -in root.key -out ec.sec1.pem", false, false},
      KeyFile{"ec.sec1.der", "openssl ec -in root.key -outform DER -out ec.sec1.der", false, false},
      KeyFile{"ec.sec1.aes.pem", "openssl ec -in root.key -aes256 -passout pass:k3y -out ec.sec1.aes.pem", true, false},
      KeyFile{"rsa.p8.pem", "openssl pkcs8 -topk8 -nocrypt -in leaf.key -out rsa.p8.pem", false, true},
      KeyFile{"rsa.p8.der", "openssl pkcs8 -topk8 -nocrypt -in leaf.key -outform DER -out rsa.p8.der", false, true},
      KeyFile{"ec.p8.der", "openssl pkcs8 -topk8 -nocrypt -in root.key -outform DER -out ec.p8.der", false, false},
      KeyFile{"rsa.p8enc.pem", "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:k3y -in leaf.key -out rsa.p8enc.pem",
              true, true},
      KeyFile{"ec.p8enc.der",
              "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:k3y -in root.key -outform DER -out ec.p8enc.der", true,
              false},
      KeyFile{"rsa.p8v1.pem", "openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -passout pass:k3y -in leaf.key -out rsa.p8v1.pem",
              true, true},
      KeyFile{"ec.p8rc2.pem",
              "openssl pkcs8 -topk8 -v1 PBE-SHA1-RC2-40 -provider legacy -provider default -passout pass:k3y"
              " -in root.key -out ec.p8rc2.pem",
              true, false});
  CAPTURE(file.name);
  pki.sh(file.command);

  Asker ask;
  ask.answer = "k3y";
  Decoded d = decode_file(pki, file.name, ask.fn());
  CHECK(d.format == "key");
  CHECK(d.certificates.empty());
  REQUIRE(d.keys.size() == 1);
  CHECK(d.keys[0].spki_sha256() == (file.leaf ? pki.leaf_spki : pki.root_spki));
  CHECK(ask.calls == (file.encrypted ? 1 : 0));  // asked only for encrypted keys

  if (file.encrypted) {
    Asker none;  // no passphrase source
    Error e = error_of([&] { decode_file(pki, file.name, none.fn()); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()) == "'" + file.name + "' is encrypted and no passphrase was given");
    CHECK(e.hint() == "use --passphrase-file FILE or --passphrase-env VAR");
    CHECK(none.calls == 1);

    Asker wrong;
    wrong.answer = "not-the-Passphrase";
    Error w = error_of([&] { decode_file(pki, file.name, wrong.fn()); });
    CHECK(w.kind() == ErrorKind::BadInput);
    CHECK_THAT(w.what(), Catch::StartsWith("cannot read '" + file.name + "': wrong passphrase ("));
    CHECK(w.hint() == "check the passphrase");
    CHECK(std::string(w.what()).find("not-the-Passphrase") == std::string::npos);
  }
}

TEST_CASE("decode_any reads an Ed25519 PKCS#8 key", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl genpkey -algorithm ed25519 -out ed.pem && openssl pkey -in ed.pem -pubout -outform DER -out ed.spki");
  Decoded d = decode_file(pki, "ed.pem");
  REQUIRE(d.keys.size() == 1);
  CHECK(d.keys[0].spki_sha256() == sha256_hex(pki.bytes("ed.spki")));
  CHECK(d.keys[0].info().type == "ED25519");
}

TEST_CASE("decode_any asks once for a file with several encrypted keys", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:two -in leaf.key -out two1.pem");
  pki.sh("openssl ec -in root.key -aes128 -passout pass:two -out two2.pem");
  pki.sh("cat leaf.pem two1.pem two2.pem > two.pem");
  Asker ask;
  ask.answer = "two";
  Decoded d = decode_file(pki, "two.pem", ask.fn());
  CHECK(d.format == "pem");
  REQUIRE(d.keys.size() == 2);
  CHECK(d.keys[0].spki_sha256() == pki.leaf_spki);
  CHECK(d.keys[1].spki_sha256() == pki.root_spki);
  CHECK(ask.calls == 1);
}

TEST_CASE("decode_any reports a key PEM block that does not hold a key", "[codec]") {
  const Pki& pki = Pki::get();
  // A certificate's DER labelled as a private key.
  std::string text = pki.text("leaf.pem");
  for (std::size_t at; (at = text.find("CERTIFICATE-----")) != std::string::npos;)
    text.replace(at, 11, "RSA PRIVATE KEY");
  Error e = error_of([&] { decode_any(as_bytes(text), "mislabelled.pem", {}); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK_THAT(e.what(), Catch::Contains("mislabelled.pem") && Catch::Contains("invalid PKCS#1 RSA private key"));
}
