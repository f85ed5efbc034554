// The writers: what they produce is checked with the openssl CLI (algorithms, order, keys), then
// read back with decode_any.
#include "test_codec_pki.hpp"

using namespace applctl;
using codec_test::Asker;
using codec_test::decode_file;
using codec_test::error_of;
using codec_test::fingerprints;
using codec_test::Pki;

namespace {

struct Material {
  Bytes leaf, inter, root;
  PrivateKey leaf_key;
};

Material material(const Pki& pki) {
  Decoded full = decode_file(pki, "full.pem");
  Decoded key = decode_file(pki, "leaf.key");
  REQUIRE(full.certificates.size() == 3);
  return {full.certificates[0], full.certificates[1], full.certificates[2], key.keys.at(0)};
}

void save(const Pki& pki, const std::string& name, BytesView data) { codec_test::write(pki.path(name), to_string(data)); }

// The "subject=" lines of `openssl pkcs7 -print_certs`, in order.
std::vector<std::string> p7_subjects(const Pki& pki, const std::string& name) {
  std::string out = pki.sh("openssl pkcs7 -inform DER -print_certs -noout -in " + name);
  std::vector<std::string> subjects;
  for (std::size_t at = out.find("subject="); at != std::string::npos; at = out.find("subject=", at + 1))
    subjects.push_back(out.substr(at, out.find('\n', at) - at));
  return subjects;
}

}  // namespace

TEST_CASE("encode_p7b writes the certificates in the given order", "[codec]") {
  const Pki& pki = Pki::get();
  Material m = material(pki);
  save(pki, "out.p7b", encode_p7b({m.leaf, m.inter, m.root}));
  auto subjects = p7_subjects(pki, "out.p7b");
  REQUIRE(subjects.size() == 3);
  CHECK_THAT(subjects[0], Catch::Contains("leaf.codec.test"));
  CHECK_THAT(subjects[1], Catch::Contains("Codec Test Intermediate"));
  CHECK_THAT(subjects[2], Catch::Contains("Codec Test Root"));

  Decoded back = decode_file(pki, "out.p7b");
  CHECK(back.format == "pkcs7-der");
  CHECK(fingerprints(back) == std::vector<std::string>{pki.leaf_fp, pki.int_fp, pki.root_fp});

  save(pki, "rev.p7b", encode_p7b({m.root, m.leaf}));
  CHECK(fingerprints(decode_file(pki, "rev.p7b")) == std::vector<std::string>{pki.root_fp, pki.leaf_fp});

  CHECK(error_of([] { encode_p7b({}); }).kind() == ErrorKind::Usage);
  CHECK(error_of([] { encode_p7b({Bytes{0x30, 0x00}}); }).kind() == ErrorKind::BadInput);
}

TEST_CASE("encode_pkcs8_encrypted_pem writes PBES2 AES-256-CBC with PBKDF2-HMAC-SHA256 that openssl reads", "[codec]") {
  const Pki& pki = Pki::get();
  auto key = GENERATE(as<std::string>{}, "leaf", "ec:P-384", "ed25519");
  CAPTURE(key);
  PrivateKey k = key == "leaf" ? material(pki).leaf_key : PrivateKey::generate(KeySpec::parse(key));
  std::string pem = encode_pkcs8_encrypted_pem(k, "pa55 word");
  CHECK_THAT(pem, Catch::StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
  codec_test::write(pki.path("enc.p8.pem"), pem);

  std::string parsed = pki.sh("openssl asn1parse -in enc.p8.pem");
  for (const char* what : {"PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc", "INTEGER           :0800"}) {
    CAPTURE(what);
    CHECK_THAT(parsed, Catch::Contains(what));
  }
  pki.sh("openssl pkey -in enc.p8.pem -passin 'pass:pa55 word' -pubout -outform DER -out enc.p8.spki");
  CHECK(sha256_hex(pki.bytes("enc.p8.spki")) == k.spki_sha256());
  CHECK_THROWS(pki.sh("openssl pkey -in enc.p8.pem -passin pass:wrong -noout"));

  Asker ask;
  ask.answer = "pa55 word";
  Decoded back = decode_any(as_bytes(pem), "enc.p8.pem", ask.fn());
  REQUIRE(back.keys.size() == 1);
  CHECK(back.keys[0].spki_sha256() == k.spki_sha256());
  CHECK(ask.calls == 1);

  CHECK(error_of([&] { encode_pkcs8_encrypted_pem(k, ""); }).kind() == ErrorKind::Usage);
}

TEST_CASE("encode_pkcs8_plain_pem writes an unencrypted PKCS#8 key", "[codec]") {
  const Pki& pki = Pki::get();
  Material m = material(pki);
  std::string pem = encode_pkcs8_plain_pem(m.leaf_key);
  CHECK_THAT(pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  codec_test::write(pki.path("plain.p8.pem"), pem);
  pki.sh("openssl pkey -in plain.p8.pem -passin pass:unused -pubout -outform DER -out plain.p8.spki");
  CHECK(sha256_hex(pki.bytes("plain.p8.spki")) == pki.leaf_spki);
  Asker ask;
  Decoded back = decode_any(as_bytes(pem), "plain.p8.pem", ask.fn());
  REQUIRE(back.keys.size() == 1);
  CHECK(back.keys[0].spki_sha256() == pki.leaf_spki);
  CHECK(ask.calls == 0);
}

TEST_CASE("encode_pkcs12 writes default or legacy algorithms with the friendly name and chain order", "[codec]") {
  const Pki& pki = Pki::get();
  Material m = material(pki);
  bool legacy = GENERATE(false, true);
  CAPTURE(legacy);
  Bytes p12 = encode_pkcs12(m.leaf, m.leaf_key, {m.inter, m.root}, "web server", "p12 pass", legacy);
  save(pki, "out.p12", p12);

  std::string info = pki.sh(std::string("openssl pkcs12 -info -nodes -in out.p12 -passin 'pass:p12 pass'") +
                            (legacy ? " -legacy" : "") + " -out out.p12.dump");
  CHECK_THAT(pki.text("out.p12.dump"), Catch::Contains("friendlyName: web server"));
  if (legacy) {
    CHECK_THAT(info, Catch::Contains("MAC: sha1"));
    CHECK_THAT(info, Catch::Contains("PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 2048"));
    CHECK_THAT(info, Catch::Contains("Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048"));
  } else {
    CHECK_THAT(info, Catch::Contains("MAC: sha256"));
    CHECK_THAT(info, Catch::Contains("PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256"));
    CHECK_THAT(info, Catch::Contains("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256"));
    CHECK_THAT(info, !Catch::Contains("RC2") && !Catch::Contains("TripleDES"));
  }
  // openssl's own dump of the file, read back: same certificates and key.
  pki.sh("openssl pkcs12 -in out.p12 -passin 'pass:p12 pass' -nokeys -clcerts" + std::string(legacy ? " -legacy" : "") +
         " -out out.p12.leaf.pem");
  CHECK(pki.fingerprint("out.p12.leaf.pem") == pki.leaf_fp);

  Asker ask;
  ask.answer = "p12 pass";
  Decoded back = decode_any(p12, "out.p12", ask.fn());
  CHECK(back.format == "pkcs12");
  CHECK(back.legacy_pkcs12 == legacy);
  CHECK(fingerprints(back) == std::vector<std::string>{pki.leaf_fp, pki.int_fp, pki.root_fp});
  REQUIRE(back.keys.size() == 1);
  CHECK(back.keys[0].spki_sha256() == pki.leaf_spki);
}

TEST_CASE("encode_pkcs12 refuses an empty passphrase and a key of another certificate", "[codec]") {
  const Pki& pki = Pki::get();
  Material m = material(pki);
  CHECK(error_of([&] { encode_pkcs12(m.leaf, m.leaf_key, {}, "x", "", false); }).kind() == ErrorKind::Usage);
  Error e = error_of([&] { encode_pkcs12(m.root, m.leaf_key, {}, "x", "pw", false); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK_THAT(e.what(), Catch::Contains("does not match"));
  // Without a friendly name the file is still fine.
  Bytes p12 = encode_pkcs12(m.leaf, m.leaf_key, {}, "", "pw", false);
  CHECK(decode_any(p12, "noname.p12", [] { return std::optional<std::string>("pw"); }).certificates.size() == 1);
}
