// [renew] when a certificate is due (lib/services/renew_due.cpp): --before as a fraction of the lifetime or
// a duration, ACME renewal windows (RFC 9773), the exit code of a run.
#include <catch2/catch.hpp>

#include "applctl/base/error.hpp"
#include "applctl/services/renew.hpp"
#include "unit_pki.hpp"

using namespace applctl;

namespace {

using unit_pki::kDay;
constexpr UnixTime kStart = 1'800'000'000;  // 2027-01-15T08:00:00Z

ErrorKind kind_of_before(const std::string& text) {
  try {
    parse_renew_before(text);
  } catch (const Error& e) {
    return e.kind();
  }
  FAIL("no error for --before " << text);
  return ErrorKind::Failed;
}

}  // namespace

TEST_CASE("renew: a 90-day certificate is due 30 days before it expires by default", "[renew]") {
  const UnixTime not_after = kStart + 90 * kDay;
  const UnixTime due = due_time(kStart, not_after, RenewBefore{});
  CHECK(due == not_after - 30 * kDay);
  CHECK_FALSE(is_due(due, not_after - 31 * kDay));
  CHECK(is_due(due, not_after - 30 * kDay));
  CHECK(is_due(due, not_after - 29 * kDay));
  CHECK(is_due(due, not_after + kDay));  // expired: due all the more
}

TEST_CASE("renew: the default fraction is floor of a third of odd lifetimes", "[renew]") {
  // 100 s lifetime: a third is 33 s (floored), due at 67 s
  CHECK(due_time(kStart, kStart + 100, RenewBefore{}) == kStart + 67);
  // 47-day certificates (CA/B Forum 2029): due with 15 days 16 hours left
  CHECK(due_time(kStart, kStart + 47 * kDay, RenewBefore{}) == kStart + 47 * kDay - (47 * kDay) / 3);
  CHECK(format_renew_before(RenewBefore{}) == "1/3");
}

TEST_CASE("renew: --before fractions a/b of the lifetime", "[renew]") {
  const UnixTime not_after = kStart + 90 * kDay;
  RenewBefore half = parse_renew_before("1/2");
  CHECK(half.kind == RenewBefore::Kind::Fraction);
  CHECK(due_time(kStart, not_after, half) == kStart + 45 * kDay);
  // 1/1: due as soon as it is valid
  CHECK(due_time(kStart, not_after, parse_renew_before("1/1")) == kStart);
  CHECK(due_time(kStart, not_after, parse_renew_before("2/3")) == kStart + 30 * kDay);
  CHECK(format_renew_before(parse_renew_before("3/4")) == "3/4");
}

TEST_CASE("renew: --before durations like cert check", "[renew]") {
  const UnixTime not_after = kStart + 365 * kDay;
  RenewBefore d = parse_renew_before("30d");
  CHECK(d.kind == RenewBefore::Kind::Duration);
  CHECK(d.seconds == 30 * kDay);
  CHECK(due_time(kStart, not_after, d) == not_after - 30 * kDay);
  CHECK(due_time(kStart, not_after, parse_renew_before("1d12h")) == not_after - 36 * 3600);
  CHECK(format_renew_before(parse_renew_before("2w")) == "14d");
  // longer than the lifetime: due from not_before, never earlier
  CHECK(due_time(kStart, not_after, parse_renew_before("400d")) == kStart);
}

TEST_CASE("renew: invalid --before values are bad input", "[renew]") {
  for (const char* bad : {"0/3", "4/3", "1/0", "-1/2", "1/-2", "a/b", "1/", "/3", "1/2/3", "abc", "", "-5d", "30x",
                          "1.5/2", "10000000000/10000000000"})
    CHECK(kind_of_before(bad) == ErrorKind::BadInput);
}

TEST_CASE("renew: a window picks a time uniformly inside it", "[renew]") {
  const RenewalWindow w{kStart, kStart + 2 * kDay};
  CHECK(window_due_time(w, 0.0) == w.start);
  CHECK(window_due_time(w, 0.5) == kStart + kDay);
  CHECK(window_due_time(w, 0.999999) < w.end);
  CHECK(window_due_time(w, 0.999999) >= w.start);
  // out-of-range picks are clamped, an empty or inverted window gives its start
  CHECK(window_due_time(w, 2.0) == w.end);
  CHECK(window_due_time({kStart, kStart}, 0.7) == kStart);
  CHECK(window_due_time({kStart + 10, kStart}, 0.7) == kStart + 10);
}

TEST_CASE("renew: a window in the past is due now and one in the future is not", "[renew]") {
  const UnixTime now = kStart + 50 * kDay;
  // RFC 9773 4.2: a selected time in the past means renew now
  const RenewalWindow past{now - 3 * kDay, now - kDay};
  CHECK(is_due(window_due_time(past, 0.3), now));
  const RenewalWindow future{now + kDay, now + 3 * kDay};
  CHECK_FALSE(is_due(window_due_time(future, 0.0), now));
  CHECK_FALSE(is_due(window_due_time(future, 0.99), now));
  // straddling now: due depending on where the random time falls
  const RenewalWindow straddling{now - kDay, now + kDay};
  CHECK(is_due(window_due_time(straddling, 0.25), now));
  CHECK(is_due(window_due_time(straddling, 0.5), now));
  CHECK_FALSE(is_due(window_due_time(straddling, 0.75), now));
}

TEST_CASE("renew: the exit code of a run", "[renew]") {
  RenewResult r;
  CHECK(r.exit_code() == 11);  // nothing due
  r.not_due.push_back({"web", kStart});
  r.pending.push_back({"corp", "corp-renewal"});
  CHECK(r.exit_code() == 11);
  r.renewed.push_back({});
  CHECK(r.exit_code() == 0);
  r.failed.push_back({"lab", "boom", 1});
  CHECK(r.exit_code() == 1);
  r.failed.push_back({"acme", "server down", 7});
  CHECK(r.exit_code() == 7);
  RenewResult only_failed;
  only_failed.failed.push_back({"lab", "boom", 4});
  CHECK(only_failed.exit_code() == 1);
}

TEST_CASE("renew: the ACME origin round-trips through its JSON", "[renew]") {
  AcmeOrigin o;
  o.server = "https://acme.example/dir";
  o.identifiers = {"www.example.com", "192.0.2.10"};
  o.challenge = {{"http_port", 8080}};
  AcmeOrigin back = AcmeOrigin::from_json(o.to_json());
  CHECK(back.server == o.server);
  CHECK(back.identifiers == o.identifiers);
  CHECK(back.challenge == o.challenge);
  CHECK(AcmeOrigin::from_json(nlohmann::json("not an object")).server.empty());
  CHECK(method_name(RenewMethod::CaRequest) == "ca-request");
}
