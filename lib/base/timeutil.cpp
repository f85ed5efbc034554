// Times (RFC 3339, UTC) and durations ("30d", "1d12h") as the command line and JSON show them.
#include "applctl/base/timeutil.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>
#include <ctime>
#include <utility>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"

namespace applctl {
namespace {

constexpr std::string_view kTimeHint =
    "RFC 3339, like 2024-03-01T00:00:00Z, 2024-03-01T00:00:00.250Z or 2024-03-01T02:00:00+02:00";
constexpr std::string_view kDurationHint = "like 30d, 12h, 1d12h (units w d h m s; a bare number is days)";

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kWeek = 7 * kDay;

bool is_digit(char c) { return c >= '0' && c <= '9'; }


[[noreturn]] void bad_time(std::string_view text, std::string_view reason) {
  fail(ErrorKind::BadInput, fmt::format("invalid time '{}': {}", printable(text), reason),
       std::string(kTimeHint));
}

[[noreturn]] void bad_duration(std::string_view text, std::string_view reason) {
  fail(ErrorKind::BadInput, fmt::format("invalid duration '{}': {}", printable(text), reason),
       std::string(kDurationHint));
}

// The value of the `width` digits at text[pos], or -1 when they are not all digits.
int digits_at(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!is_digit(text[i])) return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

UnixTime now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(UnixTime t) {
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
    fail(ErrorKind::Failed, fmt::format("cannot format time {}: outside the years 0000..9999", t));
  }
  // Digit by digit: `cert list` formats two of these per certificate, tens of thousands of times.
  char text[] = "0000-00-00T00:00:00Z";
  const auto put = [&text](std::size_t at, int value, std::size_t width) {
    for (std::size_t i = width; i-- > 0; value /= 10) text[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, tm.tm_year + 1900, 4);
  put(5, tm.tm_mon + 1, 2);
  put(8, tm.tm_mday, 2);
  put(11, tm.tm_hour, 2);
  put(14, tm.tm_min, 2);
  put(17, tm.tm_sec, 2);
  return std::string(text, sizeof text - 1);
}

Instant parse_rfc3339(std::string_view text) {
  // date-time = full-date "T" partial-time time-offset (RFC 3339 5.6), fixed positions up to the
  // seconds: YYYY-MM-DDTHH:MM:SS
  constexpr std::string_view kLayout = "expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset";
  if (text.empty()) bad_time(text, "empty");
  const int year = digits_at(text, 0, 4);
  const int month = digits_at(text, 5, 2);
  const int mday = digits_at(text, 8, 2);
  const int hour = digits_at(text, 11, 2);
  const int minute = digits_at(text, 14, 2);
  const int second = digits_at(text, 17, 2);
  if (year < 0 || month < 0 || mday < 0 || hour < 0 || minute < 0 || second < 0 || text[4] != '-' ||
      text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    bad_time(text, kLayout);
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(mday)}};
  if (!date.month().ok()) bad_time(text, fmt::format("month {:02} does not exist", month));
  if (!date.ok()) bad_time(text, fmt::format("day {:02} does not exist in {:04}-{:02}", mday, year, month));
  if (hour > 23) bad_time(text, fmt::format("hour {:02} is out of range", hour));
  if (minute > 59) bad_time(text, fmt::format("minute {:02} is out of range", minute));
  if (second == 60) bad_time(text, "leap seconds (:60) are not supported");
  if (second > 59) bad_time(text, fmt::format("second {:02} is out of range", second));

  std::size_t pos = 19;
  std::uint32_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    const std::size_t count = pos - start;
    if (count == 0 || count > 9) bad_time(text, "a fractional second takes 1 to 9 digits");
    for (std::size_t i = 0; i < 9; ++i) {
      nanos = nanos * 10 + (i < count ? static_cast<std::uint32_t>(text[start + i] - '0') : 0);
    }
  }

  std::int64_t offset = 0;  // seconds east of UTC
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    const int off_hour = digits_at(text, pos + 1, 2);
    const int off_minute = digits_at(text, pos + 4, 2);
    if (off_hour < 0 || off_minute < 0 || text[pos + 3] != ':')
      bad_time(text, "expected an offset like +02:00");
    if (off_hour > 23 || off_minute > 59) bad_time(text, "the offset is out of range");
    offset = sign * (off_hour * kHour + off_minute * kMinute);
    pos += 6;
  } else {
    bad_time(text, pos == text.size() ? "missing Z or an offset like +02:00" : kLayout);
  }
  if (pos != text.size())
    bad_time(text, fmt::format("unexpected '{}' after the time", printable(text.substr(pos))));

  const std::int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  return Instant{days * kDay + hour * kHour + minute * kMinute + second - offset, nanos};
}

std::int64_t parse_duration(std::string_view text) {
  if (text.empty()) bad_duration(text, "empty");
  if (text.front() == '-') bad_duration(text, "negative durations are not allowed");

  struct Unit {
    char name;
    std::int64_t seconds;
  };
  constexpr std::array<Unit, 5> kUnits{{{'w', kWeek}, {'d', kDay}, {'h', kHour}, {'m', kMinute}, {'s', 1}}};

  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units come in descending order, each at most once
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos])) {
      bad_duration(text, fmt::format("expected a number at '{}'", printable(text.substr(pos))));
    }
    std::int64_t number = 0;
    const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), number);
    if (ec != std::errc()) bad_duration(text, "too large");
    const auto digits = static_cast<std::size_t>(end - (text.data() + pos));
    pos += digits;
    Unit unit{'d', kDay};  // a bare number is days
    if (pos < text.size()) {
      const char name = text[pos++];
      std::size_t index = 0;
      while (index < kUnits.size() && kUnits[index].name != name) ++index;
      if (index == kUnits.size()) {
        bad_duration(text, fmt::format("unknown unit '{}'", printable(std::string_view(&name, 1))));
      }
      if (index < next_unit) bad_duration(text, "units must come in the order w d h m s, each at most once");
      next_unit = index + 1;
      unit = kUnits[index];
    } else if (pos != digits) {
      bad_duration(text, "a number without a unit is allowed only alone (days)");
    }
    std::int64_t part = 0;
    if (__builtin_mul_overflow(number, unit.seconds, &part) || __builtin_add_overflow(total, part, &total)) {
      bad_duration(text, "too large");
    }
  }
  return total;
}

std::string format_duration(std::int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out = seconds < 0 ? "-" : "";
  // Magnitude as unsigned so that INT64_MIN has one.
  std::uint64_t rest =
      seconds < 0 ? 0 - static_cast<std::uint64_t>(seconds) : static_cast<std::uint64_t>(seconds);
  constexpr std::array<std::pair<char, std::uint64_t>, 4> kUnits{
      {{'d', kDay}, {'h', kHour}, {'m', kMinute}, {'s', 1}}};
  for (const auto& [name, size] : kUnits) {
    if (rest >= size) {
      out += fmt::format("{}{}", rest / size, name);
      rest %= size;
    }
  }
  return out;
}

}  // namespace applctl
