// The order and authorization objects of RFC 8555 section 7.1.3 and 7.1.4 as pebble and Let's
// Encrypt send them, read by the functions every request of acme_order.cpp goes through.
#include "applctl/acme/order.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using unit_pki::kind_of;
}  // namespace

TEST_CASE("acme: parse_order reads status, URLs, authorizations and the error", "[acme]") {
  const char* body = R"({
    "status": "invalid",
    "expires": "2027-01-08T12:00:00Z",
    "identifiers": [{"type": "dns", "value": "www.example.org"}, {"type": "ip", "value": "192.0.2.7"}],
    "authorizations": ["https://ca.test/authz/1", 17, "https://ca.test/authz/2"],
    "finalize": "https://ca.test/order/9/finalize",
    "certificate": "https://ca.test/cert/9",
    "error": {"type": "urn:ietf:params:acme:error:unauthorized", "detail": "no TXT record", "status": 403}
  })";
  acme::Order o = acme::parse_order(body, "https://ca.test/order/9");
  CHECK(o.url == "https://ca.test/order/9");
  CHECK(o.status == "invalid");
  CHECK(o.finalize == "https://ca.test/order/9/finalize");
  CHECK(o.certificate == "https://ca.test/cert/9");
  CHECK(o.authorizations == std::vector<std::string>{"https://ca.test/authz/1", "https://ca.test/authz/2"});
  REQUIRE(o.error);
  CHECK(o.error->short_type() == "unauthorized");
  CHECK(o.error->detail == "no TXT record");
  CHECK(o.error->status == 403);

  // Members of the wrong type are left empty; what is not an object is the server's failure.
  acme::Order odd = acme::parse_order(R"({"status": 3, "authorizations": "x", "error": "bad"})", "u");
  CHECK(odd.status.empty());
  CHECK(odd.authorizations.empty());
  CHECK_FALSE(odd.error);
  for (const char* bad : {"", "[]", "\"valid\"", "{\"status\": ", "null"})
    CHECK(kind_of([&] { acme::parse_order(bad, "https://ca.test/order/9"); }) == ErrorKind::Remote);
  try {
    acme::parse_order("[1]", "https://ca.test/order/9", "newOrder");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "ACME server: newOrder: the answer is not a JSON object");
  }
}

TEST_CASE("acme: parse_authorization reads the identifier and every challenge with its error", "[acme]") {
  const char* body = R"({
    "status": "pending",
    "identifier": {"type": "dns", "value": "www.example.org"},
    "challenges": [
      {"type": "http-01", "url": "https://ca.test/chal/1", "token": "tok-1", "status": "pending"},
      {"type": "dns-01", "url": "https://ca.test/chal/2", "token": "tok-2", "status": "invalid",
       "error": {"type": "urn:ietf:params:acme:error:dns", "detail": "NXDOMAIN"}},
      "not a challenge"
    ],
    "wildcard": false
  })";
  acme::Authorization a = acme::parse_authorization(body, "https://ca.test/authz/1");
  CHECK(a.url == "https://ca.test/authz/1");
  CHECK(a.status == "pending");
  CHECK(a.identifier.type == "dns");
  CHECK(a.identifier.value == "www.example.org");
  REQUIRE(a.challenges.size() == 3);
  CHECK(a.challenges[0].type == "http-01");
  CHECK(a.challenges[0].url == "https://ca.test/chal/1");
  CHECK(a.challenges[0].token == "tok-1");
  CHECK_FALSE(a.challenges[0].error);
  CHECK(a.challenges[1].status == "invalid");
  REQUIRE(a.challenges[1].error);
  CHECK(a.challenges[1].error->short_type() == "dns");
  CHECK(a.challenges[1].error->detail == "NXDOMAIN");
  CHECK(a.challenges[2].type.empty());  // a non-object entry is an empty challenge, never chosen

  CHECK(acme::parse_authorization(R"({"identifier": "www", "challenges": {}})", "u").challenges.empty());
  CHECK(kind_of([] { acme::parse_authorization("<html>", "u"); }) == ErrorKind::Remote);
}
