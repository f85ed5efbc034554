// The ACME client: the directory, nonces (HEAD newNonce, then each response's Replay-Nonce),
// signed POSTs that retry once on badNonce with the nonce the error came with, and newAccount.
#include <fmt/format.h>

#include "acme_http.hpp"
#include "applctl/acme.hpp"

namespace applctl::acme {

namespace {

bool is_problem(const HttpResponse& r) {
  return r.status >= 400 || r.header("content-type").rfind("application/problem+json", 0) == 0;
}

}  // namespace

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

HttpResponse Client::post(const std::string& url, const std::optional<std::string>& payload, bool raw) {
  for (int attempt = 0;; ++attempt) {
    JwsHeader h{url, take_nonce(), kid_.empty() ? std::nullopt : std::optional<std::string>(kid_)};
    std::string body = sign_jws(key_, h, payload.value_or("")).dump();
    HttpResponse r = impl_->http.request("POST", url, body);
    // Every response carries a fresh nonce, errors included: keep it for the next request.
    nonce_ = r.header("replay-nonce");
    if (!is_problem(r)) return r;
    Problem p = parse_problem(r.body, r.status);
    if (p.type == "urn:ietf:params:acme:error:badNonce" && attempt < kBadNonceRetries) {
      ++bad_nonce_retries_;
      continue;
    }
    if (raw) return r;
    throw problem_error(fmt::format("ACME server: POST {}", url), p);
  }
}

Account new_account(Client& client, const std::vector<std::string>& contact, bool terms_agreed,
                    bool only_existing) {
  nlohmann::json payload = nlohmann::json::object();
  if (only_existing) {
    payload["onlyReturnExisting"] = true;
  } else {
    payload["contact"] = contact;
    if (terms_agreed) payload["termsOfServiceAgreed"] = true;
  }
  // newAccount is signed with the jwk, never a kid (RFC 8555 section 7.3).
  client.set_account_url({});
  const std::string& url = client.directory().new_account;
  HttpResponse r = client.post(url, payload.dump(), true);
  if (is_problem(r)) {
    Problem p = parse_problem(r.body, r.status);
    Error e = problem_error(fmt::format("ACME server: POST {}", url), p);
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
