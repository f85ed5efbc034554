// ACME problem documents (RFC 7807 / RFC 8555 section 6.7) and directories, as servers send them.
#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using unit_pki::error_of;
using unit_pki::kind_of;
}  // namespace

TEST_CASE("acme: problem documents: type, detail, status and subproblems", "[acme]") {
  // pebble 2.4's answer to a rejected nonce.
  acme::Problem p = acme::parse_problem(
      R"({"type": "urn:ietf:params:acme:error:badNonce", "detail": "JWS has an invalid anti-replay nonce: \"abc\"", "status": 400})",
      400);
  CHECK(p.type == "urn:ietf:params:acme:error:badNonce");
  CHECK(p.short_type() == "badNonce");
  CHECK(p.detail == "JWS has an invalid anti-replay nonce: \"abc\"");
  CHECK(p.status == 400);

  acme::Problem sub = acme::parse_problem(
      R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Some identifiers were rejected","status":400,
          "subproblems":[{"type":"urn:ietf:params:acme:error:malformed","detail":"Invalid underscore in DNS name \"_example.org\"",
                          "identifier":{"type":"dns","value":"_example.org"}}]})",
      400);
  REQUIRE(sub.subproblems.size() == 1);
  CHECK(sub.subproblems[0].short_type() == "malformed");
  Error e = acme::problem_error("ACME server: POST https://acme.test/new-order", sub);
  CHECK(e.kind() == ErrorKind::Remote);
  CHECK(e.exit_code() == 7);
  std::string msg = e.what();
  CHECK(msg.find("ACME server: POST https://acme.test/new-order") == 0);
  CHECK(msg.find("Some identifiers were rejected (rejectedIdentifier)") != std::string::npos);
  CHECK(msg.find("Invalid underscore in DNS name \"_example.org\" (malformed)") != std::string::npos);
}

TEST_CASE("acme: a body that is no problem document still gives a problem with the HTTP status", "[acme]") {
  for (const char* body : {"", "<html>502 Bad Gateway</html>", "[1,2]", R"({"type": 5})"}) {
    INFO(body);
    acme::Problem p = acme::parse_problem(body, 502);
    CHECK(p.type == "about:blank");
    CHECK(p.detail == "HTTP status 502");
    CHECK(p.status == 502);
  }
  // Another namespace keeps its whole type.
  CHECK(acme::parse_problem(R"({"type":"https://example.com/probs/x","detail":"d"})", 403).short_type() ==
        "https://example.com/probs/x");
}

TEST_CASE("acme: problem errors carry a hint where the operator can act", "[acme]") {
  auto hint_of = [](const char* type) {
    nlohmann::json doc = {{"type", fmt::format("urn:ietf:params:acme:error:{}", type)}, {"detail", "x"}};
    return acme::problem_error("w", acme::parse_problem(doc.dump(), 400)).hint();
  };
  CHECK(hint_of("userActionRequired").find("--accept-tos") != std::string::npos);
  CHECK(hint_of("externalAccountRequired").find("--eab-kid") != std::string::npos);
  CHECK(hint_of("invalidContact").find("--email") != std::string::npos);
  CHECK(hint_of("serverInternal").empty());
}

TEST_CASE("acme: directories: pebble 2.4's, and ones that are not usable", "[acme]") {
  const char* pebble = R"({
    "keyChange": "https://127.0.0.1:14000/rollover-account-key",
    "meta": {"externalAccountRequired": false, "termsOfService": "data:text/plain,Do%20what%20thou%20wilt"},
    "newAccount": "https://127.0.0.1:14000/sign-me-up",
    "newNonce": "https://127.0.0.1:14000/nonce-plz",
    "newOrder": "https://127.0.0.1:14000/order-plz",
    "revokeCert": "https://127.0.0.1:14000/revoke-cert"})";
  acme::Directory d = acme::parse_directory(pebble, "https://127.0.0.1:14000/dir");
  CHECK(d.new_nonce == "https://127.0.0.1:14000/nonce-plz");
  CHECK(d.new_account == "https://127.0.0.1:14000/sign-me-up");
  CHECK(d.new_order == "https://127.0.0.1:14000/order-plz");
  CHECK(d.revoke_cert == "https://127.0.0.1:14000/revoke-cert");
  CHECK(d.key_change == "https://127.0.0.1:14000/rollover-account-key");
  CHECK(d.renewal_info.empty());
  CHECK(d.terms_of_service == "data:text/plain,Do%20what%20thou%20wilt");
  CHECK_FALSE(d.external_account_required);

  CHECK(acme::parse_directory(R"({"newNonce":"a","newAccount":"b","newOrder":"c","renewalInfo":"r",
                                  "meta":{"externalAccountRequired":true}})", "u")
            .external_account_required);
  for (const char* bad : {"", "not json", "[]", R"({"newNonce":"a","newAccount":"b"})"}) {
    INFO(bad);
    Error e = error_of([&] { acme::parse_directory(bad, "https://acme.test/dir"); });
    CHECK(e.kind() == ErrorKind::Remote);
    CHECK(std::string(e.what()).find("https://acme.test/dir") != std::string::npos);
  }
}
