// RFC 3339 times and durations (include/applctl/base/timeutil.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/base/timeutil.hpp"

using applctl::Error;
using applctl::ErrorKind;

namespace {

template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error thrown");
  return Error(ErrorKind::Failed, "unreachable");
}

}  // namespace

TEST_CASE("now() is the system clock in seconds", "[time]") {
  const auto before =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const applctl::UnixTime t = applctl::now();
  CHECK(t >= before);
  CHECK(t <= before + 2);
  CHECK(t > 1'700'000'000);  // after 2023-11
}

TEST_CASE("format_rfc3339 renders UTC with Z and no fraction", "[time]") {
  struct Case {
    applctl::UnixTime t;
    const char* text;
  };
  for (const Case& c :
       {Case{0, "1970-01-01T00:00:00Z"}, Case{1'709'251'200, "2024-03-01T00:00:00Z"},
        Case{1'709'164'799, "2024-02-28T23:59:59Z"}, Case{1'709'208'000, "2024-02-29T12:00:00Z"},
        Case{1'801'396'800, "2027-01-31T12:00:00Z"}, Case{-1, "1969-12-31T23:59:59Z"},
        Case{253'402'300'799, "9999-12-31T23:59:59Z"}, Case{-62'167'219'200, "0000-01-01T00:00:00Z"},
        Case{951'782'400, "2000-02-29T00:00:00Z"}, Case{2'147'483'648, "2038-01-19T03:14:08Z"}}) {
    INFO(c.t);
    CHECK(applctl::format_rfc3339(c.t) == c.text);
    // And back again.
    const applctl::Instant i = applctl::parse_rfc3339(c.text);
    CHECK(i.seconds == c.t);
    CHECK(i.nanos == 0);
  }
  CHECK_THROWS_AS(applctl::format_rfc3339(253'402'300'800), Error);  // year 10000
}

TEST_CASE("parse_rfc3339 keeps fractions and applies offsets", "[time]") {
  struct Case {
    const char* text;
    applctl::UnixTime seconds;
    std::uint32_t nanos;
  };
  for (const Case& c : {
           Case{"2024-03-01T00:00:00Z", 1'709'251'200, 0},
           Case{"2024-03-01t00:00:00z", 1'709'251'200, 0},
           Case{"2024-03-01T00:00:00.999Z", 1'709'251'200, 999'000'000},
           Case{"2024-03-01T00:00:00.5Z", 1'709'251'200, 500'000'000},
           Case{"2024-03-01T00:00:00.000000001Z", 1'709'251'200, 1},
           Case{"2024-03-01T00:00:00.123456789Z", 1'709'251'200, 123'456'789},
           Case{"2024-03-01T00:00:00.0Z", 1'709'251'200, 0},
           Case{"2024-03-01T02:00:00+02:00", 1'709'251'200, 0},
           Case{"2024-02-29T19:30:00-04:30", 1'709'251'200, 0},
           Case{"2024-03-01T00:00:00+00:00", 1'709'251'200, 0},
           Case{"2024-03-01T00:00:00-00:00", 1'709'251'200, 0},
           Case{"2024-03-01T05:45:00.25+05:45", 1'709'251'200, 250'000'000},
           Case{"2024-03-01T00:00:00+23:59", 1'709'251'200 - 86'340, 0},
           Case{"1969-12-31T23:59:59.5Z", -1, 500'000'000},  // floor, fraction kept
           Case{"2024-02-29T23:59:59Z", 1'709'251'199, 0},
           Case{"2000-02-29T00:00:00Z", 951'782'400, 0},
       }) {
    INFO(c.text);
    const applctl::Instant i = applctl::parse_rfc3339(c.text);
    CHECK(i.seconds == c.seconds);
    CHECK(i.nanos == c.nanos);
  }
}

TEST_CASE("parse_rfc3339 refuses anything but strict RFC 3339", "[time]") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"2024-03-01", "expected"},
           Case{"2024-03-01T00:00:00", "missing Z or an offset"},
           Case{"2024-03-01 00:00:00Z", "expected"},
           Case{"2024-03-01T00:00Z", "expected"},
           Case{"2024-3-01T00:00:00Z", "expected"},
           Case{"24-03-01T00:00:00Z", "expected"},
           Case{"+2024-03-01T00:00:00Z", "expected"},
           Case{"2024/03/01T00:00:00Z", "expected"},
           Case{"20240301T000000Z", "expected"},
           Case{" 2024-03-01T00:00:00Z", "expected"},
           Case{"2024-03-01T00:00:00Z ", "unexpected ' '"},
           Case{"2024-03-01T00:00:00ZZ", "unexpected 'Z'"},
           Case{"2024-02-30T00:00:00Z", "day 30 does not exist in 2024-02"},
           Case{"2023-02-29T00:00:00Z", "day 29 does not exist"},
           Case{"1900-02-29T00:00:00Z", "day 29 does not exist"},
           Case{"2024-04-31T00:00:00Z", "day 31 does not exist"},
           Case{"2024-03-00T00:00:00Z", "day 00 does not exist"},
           Case{"2024-13-01T00:00:00Z", "month 13"},
           Case{"2024-00-01T00:00:00Z", "month 00"},
           Case{"2024-03-01T24:00:00Z", "hour 24"},
           Case{"2024-03-01T00:60:00Z", "minute 60"},
           Case{"2016-12-31T23:59:60Z", "leap second"},
           Case{"2024-03-01T00:00:61Z", "second 61"},
           Case{"2024-03-01T00:00:00.Z", "1 to 9 digits"},
           Case{"2024-03-01T00:00:00.1234567890Z", "1 to 9 digits"},
           Case{"2024-03-01T00:00:00,5Z", "expected"},
           Case{"2024-03-01T00:00:00+0200", "offset like"},
           Case{"2024-03-01T00:00:00+02", "offset like"},
           Case{"2024-03-01T00:00:00+2:00", "offset like"},
           Case{"2024-03-01T00:00:00+24:00", "offset is out of range"},
           Case{"2024-03-01T00:00:00+02:60", "offset is out of range"},
           Case{"2024-03-01T00:00:00UTC", "expected"},
       }) {
    INFO(c.text);
    Error e = error_of([&] { applctl::parse_rfc3339(c.text); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_THAT(e.what(), Catch::StartsWith(std::string("invalid time '") + c.text + "': "));
    CHECK_THAT(e.what(), Catch::Contains(c.reason));
    CHECK_THAT(e.hint(), Catch::Contains("RFC 3339"));
  }
}

TEST_CASE("parse_duration reads w d h m s and bare days", "[time]") {
  struct Case {
    const char* text;
    std::int64_t seconds;
  };
  for (const Case& c : {
           Case{"30d", 30 * 86'400},
           Case{"12h", 12 * 3'600},
           Case{"90m", 90 * 60},
           Case{"45s", 45},
           Case{"2w", 14 * 86'400},
           Case{"1d12h", 86'400 + 12 * 3'600},
           Case{"1w2d3h4m5s", 604'800 + 2 * 86'400 + 3 * 3'600 + 4 * 60 + 5},
           Case{"1h30m", 5'400},
           Case{"1d30s", 86'430},
           Case{"30", 30 * 86'400},
           Case{"0", 0},
           Case{"0d", 0},
           Case{"0s", 0},
           Case{"007d", 7 * 86'400},
           Case{"36h", 36 * 3'600},
           Case{"9223372036854775807s", std::numeric_limits<std::int64_t>::max()},
       }) {
    INFO(c.text);
    CHECK(applctl::parse_duration(c.text) == c.seconds);
  }
}

TEST_CASE("parse_duration refuses malformed, negative and overflowing durations", "[time]") {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"-1d", "negative"},
           Case{"-0", "negative"},
           Case{"+1d", "expected a number"},
           Case{"d", "expected a number"},
           Case{"1d-1h", "expected a number"},
           Case{"1x", "unknown unit 'x'"},
           Case{"1y", "unknown unit 'y'"},
           Case{"1D", "unknown unit 'D'"},
           Case{"1.5d", "unknown unit '.'"},
           Case{"1 d", "unknown unit ' '"},
           Case{" 1d", "expected a number"},
           Case{"1d ", "expected a number"},
           Case{"12h1d", "order"},
           Case{"1d1d", "order"},
           Case{"1m1h", "order"},
           Case{"1d12", "without a unit"},
           Case{"1dd", "expected a number"},
           Case{"9223372036854775808s", "too large"},
           Case{"99999999999999999999", "too large"},
           Case{"15250284452472w", "too large"},
           Case{"106751991167301d", "too large"},
           Case{"9223372036854775807s1s", "order"},
           Case{"106751991167300d86400s", "too large"},
       }) {
    INFO(c.text);
    Error e = error_of([&] { applctl::parse_duration(c.text); });
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_THAT(e.what(), Catch::StartsWith(std::string("invalid duration '") + c.text + "': "));
    CHECK_THAT(e.what(), Catch::Contains(c.reason));
    CHECK_THAT(e.hint(), Catch::Contains("like 30d, 12h, 1d12h"));
  }
}

TEST_CASE("format_duration is the shortest exact rendering", "[time]") {
  struct Case {
    std::int64_t seconds;
    const char* text;
  };
  for (const Case& c : {
           Case{0, "0s"},
           Case{1, "1s"},
           Case{59, "59s"},
           Case{60, "1m"},
           Case{90, "1m30s"},
           Case{3'600, "1h"},
           Case{5'400, "1h30m"},
           Case{86'400, "1d"},
           Case{2'592'000, "30d"},
           Case{14 * 86'400, "14d"},
           Case{86'400 + 12 * 3'600, "1d12h"},
           Case{90'061, "1d1h1m1s"},
           Case{86'401, "1d1s"},
           Case{-3'600, "-1h"},
           Case{std::numeric_limits<std::int64_t>::max(), "106751991167300d15h30m7s"},
           Case{std::numeric_limits<std::int64_t>::min(), "-106751991167300d15h30m8s"},
       }) {
    INFO(c.seconds);
    CHECK(applctl::format_duration(c.seconds) == c.text);
  }
  // Every rendering of a non-negative duration parses back to itself.
  for (std::int64_t s : {std::int64_t{0}, std::int64_t{1}, std::int64_t{59}, std::int64_t{3'661},
                         std::int64_t{2'592'000}, std::int64_t{31'536'000 + 7}, std::int64_t{1'234'567'890},
                         std::numeric_limits<std::int64_t>::max()}) {
    INFO(s);
    CHECK(applctl::parse_duration(applctl::format_duration(s)) == s);
  }
}
