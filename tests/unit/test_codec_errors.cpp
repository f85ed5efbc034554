// decode_any on bad input: every problem is a BadInput error naming the source and the problem,
// never a crash or a hang (these also run under ASan/UBSan).
#include <openssl/rand.h>

#include "test_codec_pki.hpp"

using namespace applctl;
using codec_test::Asker;
using codec_test::error_of;
using codec_test::Pki;

namespace {

Error bad(const Bytes& data, const std::string& source = "in.bin") {
  Asker ask;
  ask.answer = "pw";
  Error e = error_of([&] { decode_any(data, source, ask.fn()); });
  CHECK(e.kind() == ErrorKind::BadInput);
  CHECK_THAT(e.what(), Catch::StartsWith("cannot read '" + source + "': "));
  return e;
}
Error bad(std::string_view text, const std::string& source = "in.pem") {
  Bytes data(text.begin(), text.end());
  return bad(data, source);
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  REQUIRE(RAND_bytes(out.data(), static_cast<int>(n)) == 1);
  return out;
}

}  // namespace

TEST_CASE("decode_any: empty and blank input", "[codec]") {
  CHECK_THAT(bad(std::string_view{}).what(), Catch::Contains("no certificate or key found"));
  CHECK_THAT(bad(std::string_view{" \r\n\n"}).what(), Catch::Contains("no certificate or key found"));
}

TEST_CASE("decode_any: text without PEM blocks or with only EC PARAMETERS", "[codec]") {
  const Pki& pki = Pki::get();
  CHECK_THAT(bad("Dear customer,\nplease find your certificate attached.\n").what(),
             Catch::Contains("no certificate or key found"));
  pki.sh("openssl ecparam -name prime256v1 -out params.pem");
  CHECK_THAT(bad(pki.text("params.pem")).what(), Catch::Contains("no certificate or key found"));
}

TEST_CASE("decode_any: truncated DER", "[codec]") {
  const Pki& pki = Pki::get();
  Bytes der = pki.bytes("leaf.der");
  for (std::size_t len : {std::size_t{1}, std::size_t{3}, der.size() / 2, der.size() - 1}) {
    CAPTURE(len);
    Bytes cut(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(len));
    CHECK_THAT(bad(cut, "leaf.cer").what(), Catch::Contains("truncated DER"));
  }
}

TEST_CASE("decode_any: trailing data after a DER object", "[codec]") {
  const Pki& pki = Pki::get();
  Bytes der = pki.bytes("leaf.der");
  der.push_back('x');
  CHECK_THAT(bad(der, "leaf.cer").what(), Catch::Contains("trailing data after the certificate"));
  Bytes two = pki.bytes("leaf.der");
  Bytes root = applctl::decode_any(pki.bytes("root.pem"), "root.pem", {}).certificates.at(0);
  two.insert(two.end(), root.begin(), root.end());
  CHECK_THAT(bad(two, "two.cer").what(), Catch::Contains("trailing data after the certificate"));

  pki.sh("openssl crl2pkcs7 -nocrl -certfile chain.pem -outform DER -out trail.p7b");
  Bytes p7 = pki.bytes("trail.p7b");
  p7.push_back(0);
  CHECK_THAT(bad(p7, "trail.p7b").what(), Catch::Contains("trailing data after the PKCS#7"));
}

TEST_CASE("decode_any: unknown and malformed PEM", "[codec]") {
  const Pki& pki = Pki::get();
  std::string leaf = pki.text("leaf.pem");
  CHECK_THAT(bad(leaf + "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n").what(),
             Catch::Contains("unknown PEM label 'FOO'"));
  CHECK_THAT(bad(pki.text("leaf.csr")).what(), Catch::Contains("unknown PEM label 'CERTIFICATE REQUEST'"));
  // Missing END line (a truncated download).
  CHECK_THAT(bad(leaf.substr(0, leaf.size() / 2)).what(), Catch::Contains("has no END line"));
  // END of another label.
  std::string mismatched = leaf;
  mismatched.replace(mismatched.find("END CERTIFICATE"), 15, "END PKCS7");
  CHECK_THAT(bad(mismatched).what(), Catch::Contains("ends with the END line of 'PKCS7'"));
}

TEST_CASE("decode_any: corrupted base64 and DER inside PEM", "[codec]") {
  const Pki& pki = Pki::get();
  std::string leaf = pki.text("leaf.pem");
  std::size_t body = leaf.find('\n') + 10;
  std::string bad_char = leaf;
  bad_char[body] = '!';
  CHECK_THAT(bad(bad_char).what(), Catch::Contains("invalid base64 in PEM block 1 ('CERTIFICATE')"));
  std::string dropped = leaf;
  dropped.erase(body, 1);  // length no longer a multiple of 4
  CHECK_THAT(bad(dropped).what(), Catch::Contains("invalid base64"));
  std::string flipped = leaf;
  flipped[body] = flipped[body] == 'A' ? 'B' : 'A';  // valid base64, broken DER
  CHECK_THAT(bad(flipped).what(), Catch::Contains("PEM block 1 ('CERTIFICATE')"));
}

TEST_CASE("decode_any: random data and oversized input", "[codec]") {
  Bytes noise = random_bytes(1 << 20);
  noise[0] = 0x42;
  CHECK_THAT(bad(noise, "noise.bin").what(), Catch::Contains("no certificate or key found"));
  noise[0] = 0x30;  // looks like a DER SEQUENCE
  bad(noise, "noise.der");
  Bytes huge(16u * 1024u * 1024u + 1, ' ');
  CHECK_THAT(bad(huge, "huge.pem").what(), Catch::Contains("larger than 16 MiB"));
}

TEST_CASE("decode_any: every prefix and many corruptions of real files fail cleanly", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl pkcs12 -export -in leaf.pem -inkey leaf.key -certfile chain.pem -passout pass:pw -out fuzz.p12");
  pki.sh("openssl crl2pkcs7 -nocrl -certfile chain.pem -outform DER -out fuzz.p7b");
  pki.sh("openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:pw -in root.key -outform DER -out fuzz.p8");
  for (const char* name : {"leaf.der", "fuzz.p12", "fuzz.p7b", "fuzz.p8", "full.pem"}) {
    CAPTURE(name);
    Bytes data = pki.bytes(name);
    auto attempt = [&](const Bytes& input) {
      try {
        decode_any(input, name, [] { return std::optional<std::string>("pw"); });
      } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::BadInput);
      }
    };
    for (std::size_t len = 0; len < data.size(); len += 1 + data.size() / 97) {
      Bytes cut(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len));
      attempt(cut);
    }
    Bytes rnd = random_bytes(200);
    for (std::size_t i = 0; i < 100; ++i) {
      Bytes mutated = data;
      std::size_t at = (static_cast<std::size_t>(rnd[2 * i]) << 8 | rnd[2 * i + 1]) % data.size();
      mutated[at] ^= static_cast<std::uint8_t>(1u << (i % 8));
      attempt(mutated);
    }
  }
}

TEST_CASE("decode_any: errors never contain the passphrase", "[codec]") {
  const Pki& pki = Pki::get();
  pki.sh("openssl pkcs12 -export -in leaf.pem -inkey leaf.key -passout pass:right -out secret.p12");
  pki.sh("openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:right -in leaf.key -out secret.p8.pem");
  for (const char* name : {"secret.p12", "secret.p8.pem"}) {
    Error e = error_of([&] {
      decode_any(pki.bytes(name), name, [] { return std::optional<std::string>("SuperSecretPassphrase42"); });
    });
    CHECK(std::string(e.what()).find("SuperSecret") == std::string::npos);
    CHECK(e.hint().find("SuperSecret") == std::string::npos);
  }
}

TEST_CASE("read_file refuses a directory and an endless device by name", "[codec]") {
  Error dir = error_of([] { read_file("/tmp"); });
  CHECK(dir.kind() == ErrorKind::BadInput);
  CHECK_THAT(std::string(dir.what()), Catch::Contains("'/tmp'") && Catch::Contains("directory"));
  Error zero = error_of([] { read_file("/dev/zero"); });  // once read until memory ran out
  CHECK(zero.kind() == ErrorKind::BadInput);
  CHECK_THAT(std::string(zero.what()), Catch::Contains("'/dev/zero'") && Catch::Contains("larger than 16 MiB"));
  Error small = error_of([] { read_file("/dev/urandom", 1000); });
  CHECK_THAT(std::string(small.what()), Catch::Contains("larger than 1000 bytes"));
  CHECK(read_file("/dev/null").empty());
}
