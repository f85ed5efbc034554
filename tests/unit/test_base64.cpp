// The one base64 codec (applctl/base/bytes.hpp): RFC 4648's test vectors in both alphabets, round
// trips at every length, and what each set of rules refuses.
#include <catch2/catch.hpp>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"

using namespace applctl;

namespace {

Bytes bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

std::string refusal(std::string_view text, const Base64Rules& rules) {
  std::string why;
  CHECK_FALSE(base64_try_decode(text, rules, &why).has_value());
  return why;
}

}  // namespace

TEST_CASE("base64: RFC 4648 section 10 vectors, padded and unpadded", "[bytes][base64]") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(as_bytes(plain)) == encoded);
    CHECK(base64_decode(encoded) == bytes_of(plain));
    std::string unpadded = encoded;
    unpadded.erase(unpadded.find_last_not_of('=') + 1);
    CHECK(base64url(as_bytes(plain)) == unpadded);
    CHECK(base64url_decode(unpadded) == bytes_of(plain));
  }
}

TEST_CASE("base64: the two alphabets differ in two characters only", "[bytes][base64]") {
  const Bytes data = {0xfb, 0xff, 0xbf};
  CHECK(base64_encode(data) == "+/+/");
  CHECK(base64url(data) == "-_-_");
  CHECK(base64_decode("+/+/") == data);
  CHECK(base64url_decode("-_-_") == data);
  CHECK(refusal("-_-_", kBase64) == "unexpected character '-'");
  CHECK(refusal("+/+/", kBase64Url) == "unexpected character '+'");
}

TEST_CASE("base64: round trips at every length and every byte value", "[bytes][base64]") {
  Bytes data;
  for (int n = 0; n < 300; ++n) {
    for (const Base64Rules& rules : {kBase64, kBase64Text, kBase64Url}) {
      const std::string text = base64_encode(data, rules);
      CHECK(text.size() == (rules.padded ? (data.size() + 2) / 3 * 4 : (data.size() * 4 + 2) / 3));
      CHECK(base64_decode(text, rules) == data);
    }
    data.push_back(static_cast<std::uint8_t>(n * 37 + 11));
  }
}

TEST_CASE("base64: what each set of rules refuses", "[bytes][base64]") {
  // Strict (PEM bodies): padding required, nothing after it, no white space.
  CHECK(refusal("Zg", kBase64) == "the length is not a multiple of 4");
  CHECK(refusal("Zg=", kBase64) == "the length is not a multiple of 4");
  CHECK(refusal("Zg==Zg==", kBase64) == "data after '=' padding");
  CHECK(refusal("Zm9v=", kBase64) == "the length is not a multiple of 4");
  CHECK(refusal("Zm9v====", kBase64) == "wrong '=' padding");
  CHECK(refusal("Zm 9v", kBase64) == "unexpected character ' '");
  CHECK(refusal("Z===", kBase64) == "impossible length");
  // Text (YAML values): white space anywhere is ignored, the rest as strict.
  CHECK(base64_decode("Zm9v\n YmFy\r\n", kBase64Text) == bytes_of("foobar"));
  CHECK(refusal("Zm9vY", kBase64Text) == "impossible length");
  // URL (JOSE): no padding, canonical trailing bits.
  CHECK(refusal("Zg==", kBase64Url) == "unexpected character '='");
  CHECK(refusal("Zh", kBase64Url) == "non-zero trailing bits");
  CHECK(refusal("Z", kBase64Url) == "impossible length");
  CHECK(refusal("Zm9v\n", kBase64Url) == "unexpected character '\\x0a'");
  // The throwing form names the alphabet.
  try {
    base64url_decode("Zh");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "invalid base64url: non-zero trailing bits");
    CHECK(e.kind() == ErrorKind::BadInput);
  }
  try {
    base64_decode("ab!d");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "invalid base64: unexpected character '!'");
  }
}
