// decode_any on certificates: DER, PEM as people send it, PKCS#7 DER/PEM. Inputs are made with
// the openssl CLI; expected fingerprints are what `openssl x509 -fingerprint -sha256` says.
#include "test_codec_pki.hpp"

using namespace applctl;
using codec_test::Asker;
using codec_test::decode_file;
using codec_test::fingerprints;
using codec_test::Pki;

TEST_CASE("decode_any reads a DER certificate", "[codec]") {
  const Pki& pki = Pki::get();
  Asker ask;
  Decoded d = decode_file(pki, "leaf.der", ask.fn());
  CHECK(d.format == "der");
  REQUIRE(d.certificates.size() == 1);
  CHECK(sha256_hex(d.certificates[0]) == pki.leaf_fp);
  CHECK(d.certificates[0] == pki.bytes("leaf.der"));
  CHECK(d.keys.empty());
  CHECK_FALSE(d.legacy_pkcs12);
  CHECK(ask.calls == 0);
}

TEST_CASE("decode_any accepts whitespace after a DER certificate", "[codec]") {
  const Pki& pki = Pki::get();
  Bytes data = pki.bytes("leaf.der");
  for (char c : std::string("\r\n \n\t")) data.push_back(static_cast<std::uint8_t>(c));
  Decoded d = decode_any(data, "leaf.cer", {});
  REQUIRE(d.certificates.size() == 1);
  CHECK(d.certificates[0] == pki.bytes("leaf.der"));  // the certificate alone, not the whitespace
}

TEST_CASE("decode_any reads a PEM chain with text around it and CRLF and a key in input order", "[codec]") {
  const Pki& pki = Pki::get();
  std::string text = "Bag Attributes\n    localKeyID: 01 02 03\n    friendlyName: leaf\n"
                     "subject=CN = leaf.codec.test\n\nissuer=CN = Codec Test Intermediate\n" +
                     pki.text("leaf.pem") + "Here is the intermediate:\n" + pki.text("int.pem") +
                     "  and the root, indented and twice:\n" + pki.text("root.pem") + pki.text("root.pem") +
                     pki.text("leaf.key") + "-- \nsent from my appliance\n";
  SECTION("LF") {}
  SECTION("CRLF") { text = codec_test::crlf(text); }
  Asker ask;
  Decoded d = decode_any(as_bytes(text), "bundle.pem", ask.fn());
  CHECK(d.format == "pem");
  CHECK(fingerprints(d) == std::vector<std::string>{pki.leaf_fp, pki.int_fp, pki.root_fp});
  REQUIRE(d.keys.size() == 1);
  CHECK(d.keys[0].spki_sha256() == pki.leaf_spki);
  CHECK(ask.calls == 0);
}

TEST_CASE("decode_any reads what `openssl pkcs12 -nodes` prints (Bag Attributes and subject= lines)", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile chain.pem -passout pass:dump -out dump.p12");
  pki.sh("openssl pkcs12 -in dump.p12 -passin pass:dump -nodes -out dump.pem");
  REQUIRE(pki.text("dump.pem").find("Bag Attributes") != std::string::npos);
  Decoded d = decode_file(pki, "dump.pem");
  CHECK(d.format == "pem");
  CHECK(fingerprints(d) == std::vector<std::string>{pki.leaf_fp, pki.int_fp, pki.root_fp});
  REQUIRE(d.keys.size() == 1);
  CHECK(d.keys[0].spki_sha256() == pki.leaf_spki);
}

TEST_CASE("decode_any reads PKCS#7 PEM and DER in their order", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl crl2pkcs7 -nocrl -certfile full.pem -out full.p7b.pem");
  pki.sh("openssl crl2pkcs7 -nocrl -certfile full.pem -outform DER -out full.p7b");
  REQUIRE(pki.text("full.p7b.pem").find("-----BEGIN PKCS7-----") != std::string::npos);
  const std::vector<std::string> expected{pki.leaf_fp, pki.int_fp, pki.root_fp};

  Decoded pem = decode_file(pki, "full.p7b.pem");
  CHECK(pem.format == "pkcs7-pem");
  CHECK(fingerprints(pem) == expected);
  CHECK(pem.keys.empty());

  Decoded der = decode_file(pki, "full.p7b");
  CHECK(der.format == "pkcs7-der");
  CHECK(fingerprints(der) == expected);
}

TEST_CASE("decode_any reads a PKCS#7 inside BEGIN CERTIFICATE (as some CAs send it)", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl crl2pkcs7 -nocrl -certfile chain.pem | sed 's/PKCS7-----/CERTIFICATE-----/' > chain.p7c");
  REQUIRE(pki.text("chain.p7c").find("-----BEGIN CERTIFICATE-----") != std::string::npos);
  Decoded d = decode_file(pki, "chain.p7c");
  CHECK(d.format == "pkcs7-pem");
  CHECK(fingerprints(d) == std::vector<std::string>{pki.int_fp, pki.root_fp});
}

TEST_CASE("decode_any reads a TRUSTED CERTIFICATE as the bare certificate", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl x509 -in root.pem -trustout -addtrust serverAuth -out root.trusted.pem");
  REQUIRE(pki.text("root.trusted.pem").find("BEGIN TRUSTED CERTIFICATE") != std::string::npos);
  Decoded d = decode_file(pki, "root.trusted.pem");
  REQUIRE(d.certificates.size() == 1);
  CHECK(sha256_hex(d.certificates[0]) == pki.root_fp);
}

TEST_CASE("decode_any removes exact duplicate certificates and keeps the first position", "[codec]") {
  const Pki& pki = Pki::get();
  std::string text = pki.text("int.pem") + pki.text("leaf.pem") + pki.text("int.pem") + pki.text("leaf.pem");
  Decoded d = decode_any(as_bytes(text), "dups.pem", {});
  CHECK(fingerprints(d) == std::vector<std::string>{pki.int_fp, pki.leaf_fp});
}

TEST_CASE("decode_any skips EC PARAMETERS blocks that `openssl ecparam -genkey` writes", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl ecparam -name prime256v1 -genkey -out ecparam.key");
  REQUIRE(pki.text("ecparam.key").find("BEGIN EC PARAMETERS") != std::string::npos);
  Decoded d = decode_file(pki, "ecparam.key");
  CHECK(d.format == "key");
  CHECK(d.certificates.empty());
  REQUIRE(d.keys.size() == 1);
  CHECK(d.keys[0].info().type == "EC");
}
