// When a certificate is due for renewal: --before (a duration or a fraction of the lifetime),
// ACME renewal windows (RFC 9773), and the small value types of renew.hpp. Pure functions
// (see applctl/services/renew_due.hpp).
#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "applctl/services/renew_due.hpp"
#include "applctl/services/renew.hpp"

namespace applctl {

namespace {

// 1 to 9 decimal digits, nothing else.
std::optional<std::int64_t> small_number(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

RenewBefore parse_renew_before(std::string_view text) {
  RenewBefore b;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto num = small_number(text.substr(0, slash));
    auto den = small_number(text.substr(slash + 1));
    if (!num || !den || *num <= 0 || *den <= 0 || *num > *den)
      fail(ErrorKind::BadInput, fmt::format("invalid --before '{}': a fraction must be a/b with 0 < a/b <= 1", text),
           "e.g. --before 1/3 (the default), --before 1/2, or a duration such as --before 30d");
    b.kind = RenewBefore::Kind::Fraction;
    b.numerator = *num;
    b.denominator = *den;
    return b;
  }
  try {
    b.seconds = parse_duration(text);
  } catch (const Error& e) {
    fail(ErrorKind::BadInput, fmt::format("invalid --before '{}': {}", text, e.what()),
         "a duration such as 30d or 12h, or a fraction of the lifetime such as 1/3");
  }
  b.kind = RenewBefore::Kind::Duration;
  return b;
}

std::string format_renew_before(const RenewBefore& before) {
  if (before.kind == RenewBefore::Kind::Duration) return format_duration(before.seconds);
  return fmt::format("{}/{}", before.numerator, before.denominator);
}

UnixTime due_time(UnixTime not_before, UnixTime not_after, const RenewBefore& before) {
  const std::int64_t lifetime = std::max<std::int64_t>(0, not_after - not_before);
  std::int64_t ahead = 0;
  if (before.kind == RenewBefore::Kind::Duration) {
    ahead = before.seconds;
  } else {
    // floor(lifetime * a / b) without overflow: a <= b < 10^9 and lifetime < 2^40.
    const std::int64_t a = before.numerator, b = before.denominator;
    ahead = (lifetime / b) * a + (lifetime % b) * a / b;
  }
  return std::max(not_before, not_after - ahead);
}

UnixTime window_due_time(const RenewalWindow& window, double pick) {
  if (window.end <= window.start) return window.start;
  pick = std::clamp(pick, 0.0, 1.0);
  const auto span = static_cast<double>(window.end - window.start);
  return window.start + std::min<std::int64_t>(window.end - window.start, static_cast<std::int64_t>(std::floor(span * pick)));
}

std::string_view method_name(RenewMethod m) {
  switch (m) {
    case RenewMethod::SelfSigned: return "self-signed";
    case RenewMethod::CaRequest: return "ca-request";
    case RenewMethod::Acme: return "acme";
  }
  return "self-signed";
}

AcmeOrigin AcmeOrigin::from_json(const nlohmann::json& j) {
  AcmeOrigin o;
  if (!j.is_object()) return o;
  o.server = j.value("server", "");
  if (auto it = j.find("identifiers"); it != j.end() && it->is_array())
    for (const auto& id : *it)
      if (id.is_string()) o.identifiers.push_back(id.get<std::string>());
  if (auto it = j.find("challenge"); it != j.end()) o.challenge = *it;
  o.preferred_chain = j.value("preferred_chain", "");
  return o;
}

nlohmann::json AcmeOrigin::to_json() const {
  nlohmann::json j = {{"server", server},
                      {"identifiers", identifiers},
                      {"challenge", challenge.is_null() ? nlohmann::json::object() : challenge}};
  if (!preferred_chain.empty()) j["preferred_chain"] = preferred_chain;
  return j;
}

int RenewResult::exit_code() const {
  if (!failed.empty()) {
    bool remote = std::any_of(failed.begin(), failed.end(), [](const RenewFailure& f) { return f.exit_code == 7; });
    return remote ? 7 : 1;
  }
  for (const auto& r : renewed)
    if (!r.hook_error.empty()) return 1;
  return renewed.empty() ? 11 : 0;
}

}  // namespace applctl
