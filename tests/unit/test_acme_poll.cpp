// How acme issue waits: Retry-After (delay-seconds and IMF-fixdate), the bounded back-off
// between polls that never sleeps past the deadline, and the hint of a rate-limited answer.
#include "applctl/acme/order.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-12-01T18:00:00Z
constexpr std::time_t kNow = 1796148000;
}  // namespace

TEST_CASE("acme: Retry-After in seconds and as an HTTP date", "[acme]") {
  CHECK(acme::parse_retry_after("3", kNow) == seconds(3));
  CHECK(acme::parse_retry_after(" 120 ", kNow) == seconds(120));
  CHECK(acme::parse_retry_after("0", kNow) == seconds(0));
  CHECK(acme::parse_retry_after("Tue, 01 Dec 2026 18:00:30 GMT", kNow) == seconds(30));
  CHECK(acme::parse_retry_after("Tue, 01 Dec 2026 19:00:00 GMT", kNow) == seconds(3600));
  // A date in the past: now.
  CHECK(acme::parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", kNow) == seconds(0));
  CHECK(acme::parse_retry_after("Mon, 01 Feb 2027 00:00:00 GMT", kNow) == seconds(61 * 86400 + 6 * 3600));
  // Not Retry-After values.
  CHECK_FALSE(acme::parse_retry_after("", kNow));
  CHECK_FALSE(acme::parse_retry_after("-1", kNow));
  CHECK_FALSE(acme::parse_retry_after("1.5", kNow));
  CHECK_FALSE(acme::parse_retry_after("soon", kNow));
  CHECK_FALSE(acme::parse_retry_after("Tue, 30 Feb 2027 00:00:00 GMT", kNow));
  CHECK_FALSE(acme::parse_retry_after("Tue, 01 Dec 2026 24:00:00 GMT", kNow));
  CHECK_FALSE(acme::parse_retry_after("Tue, 01 Dec 2026 18:00:00 UTC", kNow));
  CHECK_FALSE(acme::parse_retry_after("Tuesday, 01-Dec-26 18:00:00 GMT", kNow));

  acme::HttpResponse r;
  CHECK_FALSE(acme::retry_after(r));
  r.headers.emplace("retry-after", "7");
  CHECK(acme::retry_after(r) == seconds(7));
}

TEST_CASE("acme: polls back off from 150 ms to 3 s and honour Retry-After", "[acme]") {
  const milliseconds lots(600000);
  CHECK(acme::poll_delay(0, std::nullopt, lots) == milliseconds(150));
  CHECK(acme::poll_delay(1, std::nullopt, lots) == milliseconds(300));
  CHECK(acme::poll_delay(2, std::nullopt, lots) == milliseconds(600));
  CHECK(acme::poll_delay(4, std::nullopt, lots) == milliseconds(2400));
  CHECK(acme::poll_delay(5, std::nullopt, lots) == milliseconds(3000));
  CHECK(acme::poll_delay(1000, std::nullopt, lots) == milliseconds(3000));
  // Retry-After wins, longer or shorter; 0 is not a busy loop.
  CHECK(acme::poll_delay(0, seconds(10), lots) == milliseconds(10000));
  CHECK(acme::poll_delay(6, seconds(1), lots) == milliseconds(1000));
  CHECK(acme::poll_delay(3, seconds(0), lots) == milliseconds(150));
  // Never past the deadline.
  CHECK_FALSE(acme::poll_delay(0, std::nullopt, milliseconds(100)));
  CHECK_FALSE(acme::poll_delay(0, seconds(10), milliseconds(9999)));
  CHECK(acme::poll_delay(0, seconds(10), milliseconds(10000)) == milliseconds(10000));
  CHECK_FALSE(acme::poll_delay(5, std::nullopt, milliseconds(-5)));
}

TEST_CASE("acme: a rateLimited answer says when to try again", "[acme]") {
  acme::HttpResponse r;
  r.status = 429;
  r.headers.emplace("content-type", "application/problem+json");
  r.body = R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many certificates","status":429})";
  r.headers.emplace("retry-after", "3600");
  Error e = acme::response_error("ACME server: POST https://acme/new-order", r, kNow);
  CHECK(e.kind() == ErrorKind::Remote);
  CHECK(std::string(e.what()).find("too many certificates (rateLimited)") != std::string::npos);
  CHECK(e.hint().find("try again after 2026-12-01T19:00:00Z") != std::string::npos);

  r.headers.erase("retry-after");
  r.headers.emplace("retry-after", "Wed, 02 Dec 2026 00:00:00 GMT");
  CHECK(acme::response_error("x", r, kNow).hint().find("2026-12-02T00:00:00Z") != std::string::npos);

  // Without Retry-After: the plain rate-limit hint; a 503 with one: busy, and when.
  r.headers.erase("retry-after");
  CHECK(acme::response_error("x", r, kNow).hint() == "the server's rate limit: try again later");
  acme::HttpResponse busy;
  busy.status = 503;
  busy.headers.emplace("retry-after", "60");
  Error b = acme::response_error("x", busy, kNow);
  CHECK(b.kind() == ErrorKind::Remote);
  CHECK(b.hint().find("busy") != std::string::npos);
  CHECK(b.hint().find("2026-12-01T18:01:00Z") != std::string::npos);
}
