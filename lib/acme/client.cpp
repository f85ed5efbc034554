// The ACME client: the directory, nonces (HEAD newNonce, then each response's Replay-Nonce),
// signed POSTs that retry on badNonce with the nonce the error came with, and on 503 or
// rateLimited after the Retry-After the server asks for when that ends before the deadline;
// and newAccount.
#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "acme/http.hpp"
#include "applctl/acme/acme.hpp"
#include "applctl/base/timeutil.hpp"

namespace applctl::acme {

namespace {

bool is_problem(const HttpResponse& r) {
  return r.status >= 400 || r.header("content-type").rfind("application/problem+json", 0) == 0;
}

// Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", exactly.
std::optional<std::time_t> parse_imf_fixdate(std::string_view v) {
  static constexpr std::array<const char*, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (v.size() != 29 || v.substr(3, 2) != ", " || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':' ||
      v[22] != ':' || v.substr(25) != " GMT")
    return std::nullopt;
  if (std::find_if(kDays.begin(), kDays.end(), [&](const char* d) { return v.substr(0, 3) == d; }) == kDays.end())
    return std::nullopt;
  auto month = std::find_if(kMonths.begin(), kMonths.end(), [&](const char* m) { return v.substr(8, 3) == m; });
  if (month == kMonths.end()) return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> int {
    int x = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (v[i] < '0' || v[i] > '9') return -1;
      x = x * 10 + (v[i] - '0');
    }
    return x;
  };
  const int day = num(5, 2), year = num(12, 4), h = num(17, 2), mi = num(20, 2), sec = num(23, 2);
  const unsigned m = static_cast<unsigned>(month - kMonths.begin()) + 1;
  if (day < 1 || day > 31 || year < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return std::nullopt;
  // No Feb 30 and the like: the day must come before the next month's first.
  const std::int64_t days = days_from_civil(year, m, static_cast<unsigned>(day));
  const std::int64_t next = m == 12 ? days_from_civil(year + 1, 1, 1) : days_from_civil(year, m + 1, 1);
  if (days >= next) return std::nullopt;
  return static_cast<std::time_t>(days * 86400 + h * 3600 + mi * 60 + sec);
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return std::chrono::seconds(999999999);  // "a long time": the deadline decides
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  auto at = parse_imf_fixdate(value);
  if (!at) return std::nullopt;
  return std::chrono::seconds(*at > now ? *at - now : 0);
}

std::optional<std::chrono::seconds> retry_after(const HttpResponse& r) {
  return parse_retry_after(r.header("retry-after"), std::time(nullptr));
}

Error response_error(std::string_view what, const HttpResponse& r, std::time_t now) {
  Problem p = parse_problem(r.body, r.status);
  Error e = problem_error(what, p);
  auto wait = parse_retry_after(r.header("retry-after"), now);
  if ((p.short_type() == "rateLimited" || r.status == 503) && wait) {
    std::string when = wait->count() < 400LL * 86400 * 365 ? format_rfc3339(now + wait->count()) : "a long time";
    std::string hint = fmt::format("{} (Retry-After): try again after {}",
                                   p.short_type() == "rateLimited" ? "the server's rate limit" : "the server is busy", when);
    return Error(e.kind(), e.what(), hint);
  }
  return e;
}

struct Client::Impl {
  explicit Impl(HttpOptions o) : http(std::move(o)) {}
  detail::Http http;
};

Client::Client(std::string directory_url, PrivateKey account_key, HttpOptions http)
    : directory_url_(std::move(directory_url)),
      key_(std::move(account_key)),
      impl_(std::make_unique<Impl>(std::move(http))) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;

const Directory& Client::directory() {
  if (!directory_) {
    HttpResponse r = impl_->http.request("GET", directory_url_);
    if (r.status != 200) {
      Problem p = parse_problem(r.body, r.status);
      throw problem_error(fmt::format("ACME directory {}", directory_url_), p);
    }
    directory_ = parse_directory(r.body, directory_url_);
  }
  return *directory_;
}

std::string Client::take_nonce() {
  if (nonce_.empty()) {
    const std::string& url = directory().new_nonce;
    HttpResponse r = impl_->http.request("HEAD", url);
    nonce_ = r.header("replay-nonce");
    if ((r.status != 200 && r.status != 204) || nonce_.empty())
      fail(ErrorKind::Remote, fmt::format("ACME server: HEAD {}: no Replay-Nonce (HTTP status {})", url, r.status));
  }
  return std::exchange(nonce_, std::string());
}

HttpResponse Client::get(const std::string& url) { return impl_->http.request("GET", url); }

HttpResponse Client::post(const std::string& url, const std::optional<std::string>& payload, bool raw) {
  int busy_retries = 0, nonce_retries = 0;
  for (;;) {
    JwsHeader h{url, take_nonce(), kid_.empty() ? std::nullopt : std::optional<std::string>(kid_)};
    std::string body = sign_jws(key_, h, payload.value_or("")).dump();
    HttpResponse r = impl_->http.request("POST", url, body);
    // Every response carries a fresh nonce, errors included: keep it for the next request.
    nonce_ = r.header("replay-nonce");
    if (!is_problem(r)) return r;
    Problem p = parse_problem(r.body, r.status);
    if (p.type == "urn:ietf:params:acme:error:badNonce" && nonce_retries < kBadNonceRetries) {
      ++nonce_retries;
      ++bad_nonce_retries_;
      continue;
    }
    if ((p.short_type() == "rateLimited" || r.status == 503) && deadline_ && busy_retries < kBusyRetries) {
      if (auto wait = retry_after(r); wait && std::chrono::steady_clock::now() + *wait < *deadline_) {
        ++busy_retries;
        std::this_thread::sleep_for(std::max<std::chrono::milliseconds>(*wait, std::chrono::milliseconds(100)));
        continue;
      }
    }
    if (raw) return r;
    throw response_error(fmt::format("ACME server: POST {}", url), r, std::time(nullptr));
  }
}

Account new_account(Client& client, const std::vector<std::string>& contact, bool terms_agreed,
                    bool only_existing, const std::optional<nlohmann::json>& eab) {
  nlohmann::json payload = nlohmann::json::object();
  if (only_existing) {
    payload["onlyReturnExisting"] = true;
  } else {
    payload["contact"] = contact;
    if (terms_agreed) payload["termsOfServiceAgreed"] = true;
    if (eab) payload["externalAccountBinding"] = *eab;
  }
  // newAccount is signed with the jwk, never a kid (RFC 8555 section 7.3).
  client.set_account_url({});
  const std::string& url = client.directory().new_account;
  HttpResponse r = client.post(url, payload.dump(), true);
  if (is_problem(r)) {
    Problem p = parse_problem(r.body, r.status);
    Error e = response_error(fmt::format("ACME server: POST {}", url), r, std::time(nullptr));
    if (only_existing && p.short_type() == "accountDoesNotExist") throw Error(ErrorKind::NotFound, e.what(), e.hint());
    throw e;
  }
  Account a;
  a.url = r.location();
  a.created = r.status == 201;
  if (a.url.empty())
    fail(ErrorKind::Remote, fmt::format("ACME server: POST {}: no Location (the account URL) in the answer", url));
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    if (auto s = j.find("status"); s != j.end() && s->is_string()) a.status = s->get<std::string>();
    if (auto c = j.find("contact"); c != j.end() && c->is_array())
      for (const auto& v : *c)
        if (v.is_string()) a.contact.push_back(v.get<std::string>());
  }
  client.set_account_url(a.url);
  return a;
}

}  // namespace applctl::acme
