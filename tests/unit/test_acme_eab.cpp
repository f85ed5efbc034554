// External account binding (RFC 8555 section 7.3.4): the JWS's header, payload and HS256 MAC,
// checked against the openssl CLI; the MAC key from the environment, never in an error.
#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using unit_pki::error_of;
using unit_pki::ScopedEnv;
using unit_pki::TempDir;
}  // namespace

TEST_CASE("acme: external account binding is an HS256 JWS over the account's JWK", "[acme]") {
  PrivateKey key = PrivateKey::generate(KeySpec::parse("ec:P-256"));
  const nlohmann::json jwk = acme::public_jwk(key);
  const Bytes mac_key = acme::base64url_decode("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W");
  nlohmann::json eab = acme::external_account_binding("kid-1", mac_key, "https://acme/new-acct", jwk);
  REQUIRE(eab.size() == 3);
  nlohmann::json prot = nlohmann::json::parse(to_string(acme::base64url_decode(eab["protected"].get<std::string>())));
  CHECK(prot == nlohmann::json({{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://acme/new-acct"}}));
  CHECK(nlohmann::json::parse(to_string(acme::base64url_decode(eab["payload"].get<std::string>()))) == jwk);

  // The MAC, as openssl computes it over "protected.payload".
  TempDir dir;
  unit_pki::write_text(dir / "input", eab["protected"].get<std::string>() + "." + eab["payload"].get<std::string>());
  std::string hex;
  for (auto b : mac_key) hex += fmt::format("{:02x}", b);
  std::string expected = dir.sh("openssl dgst -sha256 -mac HMAC -macopt hexkey:" + hex +
                                " -binary input | base64 -w0 | tr '+/' '-_' | tr -d '='");
  CHECK(eab["signature"] == expected);
}

TEST_CASE("acme: the EAB MAC key comes from the environment and is never shown", "[acme]") {
  {
    ScopedEnv env("APPLCTL_TEST_EAB", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W");
    CHECK(acme::eab_hmac_key_from_env("APPLCTL_TEST_EAB").size() == 48);
  }
  {
    ScopedEnv env("APPLCTL_TEST_EAB", "c2VjcmV0LWtleQ==");  // padded: accepted
    CHECK(to_string(acme::eab_hmac_key_from_env("APPLCTL_TEST_EAB")) == "secret-key");
  }
  {
    ScopedEnv env("APPLCTL_TEST_EAB", "not base64url: s3cr3t!");
    Error e = error_of([] { acme::eab_hmac_key_from_env("APPLCTL_TEST_EAB"); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()).find("APPLCTL_TEST_EAB") != std::string::npos);
    CHECK(std::string(e.what()).find("s3cr3t") == std::string::npos);
    CHECK(e.hint().find("s3cr3t") == std::string::npos);
  }
  ::unsetenv("APPLCTL_TEST_EAB_UNSET");
  CHECK(error_of([] { acme::eab_hmac_key_from_env("APPLCTL_TEST_EAB_UNSET"); }).kind() == ErrorKind::BadInput);
}
