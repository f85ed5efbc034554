// ACME orders (RFC 8555 section 7.4): newOrder with DNS and IP identifiers (RFC 8738), the
// authorizations and their challenges, polling with a bounded back-off that honours
// Retry-After, finalize with a CSR, and the certificate chain's download.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/codec/codec.hpp"
#include "applctl/x509/names.hpp"
#include "base/ossl.hpp"

namespace applctl::acme {

namespace {

std::string str(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The JSON object of an answer's body; Remote "ACME server: <what>: ..." when it is not one.
nlohmann::json parse_object(std::string_view body, std::string_view what) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) fail(ErrorKind::Remote, fmt::format("ACME server: {}: the answer is not a JSON object", what));
  return j;
}

Order order_of(const nlohmann::json& j, std::string url) {
  Order o;
  o.url = std::move(url);
  o.status = str(j, "status");
  o.finalize = str(j, "finalize");
  o.certificate = str(j, "certificate");
  if (auto a = j.find("authorizations"); a != j.end() && a->is_array())
    for (const auto& u : *a)
      if (u.is_string()) o.authorizations.push_back(u.get<std::string>());
  if (auto e = j.find("error"); e != j.end() && e->is_object()) o.error = parse_problem(e->dump(), 0);
  return o;
}

}  // namespace

Order parse_order(std::string_view body, std::string url, std::string_view what) {
  return order_of(parse_object(body, what.empty() ? std::string_view(url) : what), std::move(url));
}

Authorization parse_authorization(std::string_view body, std::string url) {
  nlohmann::json j = parse_object(body, url);
  Authorization a;
  a.url = std::move(url);
  a.status = str(j, "status");
  if (auto id = j.find("identifier"); id != j.end() && id->is_object()) a.identifier = {str(*id, "type"), str(*id, "value")};
  if (auto cs = j.find("challenges"); cs != j.end() && cs->is_array())
    for (const auto& c : *cs) {
      Challenge ch{str(c, "type"), str(c, "url"), str(c, "token"), str(c, "status"), std::nullopt};
      if (auto e = c.find("error"); e != c.end() && e->is_object()) ch.error = parse_problem(e->dump(), 0);
      a.challenges.push_back(std::move(ch));
    }
  return a;
}

std::string key_authorization(std::string_view token, const PrivateKey& account_key) {
  return std::string(token) + "." + jwk_thumbprint(public_jwk(account_key));
}

std::string dns01_value(std::string_view key_authorization) {
  Bytes digest(32);
  unsigned int len = 0;
  ossl::check(EVP_Digest(key_authorization.data(), key_authorization.size(), digest.data(), &len, EVP_sha256(), nullptr),
              "EVP_Digest");
  return base64url(digest);
}

std::optional<std::chrono::milliseconds> poll_delay(int attempt, std::optional<std::chrono::seconds> retry_after,
                                                    std::chrono::milliseconds remaining) {
  std::chrono::milliseconds wait = kPollFirst;
  for (int i = 0; i < attempt && wait < kPollMax; ++i) wait *= 2;
  wait = std::min(wait, kPollMax);
  if (retry_after) wait = std::max<std::chrono::milliseconds>(*retry_after, kPollFirst);
  if (wait > remaining) return std::nullopt;
  return wait;
}

nlohmann::json new_order_payload(const std::vector<Identifier>& ids, const std::optional<std::string>& replaces) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& id : ids) list.push_back({{"type", id.type}, {"value", id.value}});
  nlohmann::json payload = {{"identifiers", list}};
  if (replaces) payload["replaces"] = *replaces;
  return payload;
}

Order new_order(Client& client, const std::vector<Identifier>& ids, const std::optional<std::string>& replaces) {
  const std::string& url = client.directory().new_order;
  HttpResponse r = client.post(url, new_order_payload(ids, replaces).dump());
  if (r.location().empty()) fail(ErrorKind::Remote, fmt::format("ACME server: POST {}: no order URL (Location)", url));
  return parse_order(r.body, r.location(), "newOrder");
}

Order get_order(Client& client, const std::string& url, HttpResponse* raw) {
  HttpResponse r = client.post(url, std::nullopt);
  Order o = parse_order(r.body, url);
  if (raw) *raw = std::move(r);
  return o;
}

Authorization get_authorization(Client& client, const std::string& url, HttpResponse* raw) {
  HttpResponse r = client.post(url, std::nullopt);
  Authorization a = parse_authorization(r.body, url);
  if (raw) *raw = std::move(r);
  return a;
}

// Polls until done(x) or the deadline, waiting poll_delay() between polls.
template <typename T, typename Get, typename Done>
T poll(Get get, Done done, std::chrono::steady_clock::time_point deadline, std::string_view what) {
  for (int attempt = 0;; ++attempt) {
    HttpResponse raw;
    T x = get(&raw);
    if (done(x)) return x;
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto wait = poll_delay(attempt, retry_after(raw), remaining);
    if (!wait)
      fail(ErrorKind::Remote, fmt::format("ACME server: {}: still not done at the timeout", what),
           "the server is slow or stuck: try again later, or give a longer --timeout");
    std::this_thread::sleep_for(*wait);
  }
}

void authorize(Client& client, const std::string& authz_url, const PrivateKey& account_key, ChallengeSolver& solver,
               std::chrono::steady_clock::time_point deadline) {
  Authorization a = get_authorization(client, authz_url, nullptr);
  if (a.status == "valid") return;
  if (a.status != "pending")
    fail(ErrorKind::Remote, fmt::format("ACME authorization for {} is {}", a.identifier.value, a.status));
  const std::string type = solver.type();
  auto it = std::find_if(a.challenges.begin(), a.challenges.end(), [&](const Challenge& c) { return c.type == type; });
  if (it == a.challenges.end())
    fail(ErrorKind::Remote, fmt::format("the ACME server offers no {} challenge for {}", type, a.identifier.value));
  solver.present(a, *it, key_authorization(it->token, account_key));
  client.post(it->url, std::string("{}"));
  a = poll<Authorization>([&](HttpResponse* raw) { return get_authorization(client, authz_url, raw); },
                          [](const Authorization& x) { return x.status != "pending"; }, deadline,
                          "authorization of " + a.identifier.value);
  if (a.status != "valid") {
    std::string why;
    for (const auto& c : a.challenges)
      if (c.error) why = fmt::format(": {} ({})", c.error->detail, c.error->short_type());
    fail(ErrorKind::Remote, fmt::format("the ACME server did not validate {} (authorization {}){}", a.identifier.value, a.status, why),
         solver.failure_hint());
  }
}

Order finalize_order(Client& client, const Order& order, BytesView csr_der, std::chrono::steady_clock::time_point deadline) {
  Order o = order;
  if (o.status == "pending" || o.status == "ready") {
    o = poll<Order>([&](HttpResponse* raw) { return get_order(client, order.url, raw); },
                    [](const Order& x) { return x.status != "pending"; }, deadline, "order " + order.url);
    if (o.status == "ready") {
      HttpResponse r = client.post(o.finalize, nlohmann::json{{"csr", base64url(csr_der)}}.dump());
      o = parse_order(r.body, order.url, o.finalize);
    }
  }
  o = poll<Order>([&](HttpResponse* raw) { return get_order(client, order.url, raw); },
                  [](const Order& x) { return x.status != "processing" && x.status != "ready"; }, deadline,
                  "order " + order.url);
  if (o.status != "valid" || o.certificate.empty())
    fail(ErrorKind::Remote,
         fmt::format("the ACME order {} is {}{}", order.url, o.status,
                     o.error ? fmt::format(": {} ({})", o.error->detail, o.error->short_type()) : ""));
  return o;
}

std::vector<std::string> alternate_links(const HttpResponse& r) {
  std::vector<std::string> out;
  auto [from, to] = r.headers.equal_range("link");
  for (auto it = from; it != to; ++it) {
    std::string_view v = it->second;
    // link-value *( "," link-value ), link-value = "<" URI ">" *( ";" param ); a URI has no '>'.
    while (true) {
      auto open = v.find('<');
      if (open == std::string_view::npos) break;
      auto close = v.find('>', open);
      if (close == std::string_view::npos) break;
      std::string url(v.substr(open + 1, close - open - 1));
      v.remove_prefix(close + 1);
      auto next = v.find('<');
      std::string params(v.substr(0, next));
      params.erase(std::remove_if(params.begin(), params.end(), [](char c) { return c == ' ' || c == '"' || c == '\t'; }),
                   params.end());
      std::transform(params.begin(), params.end(), params.begin(), [](unsigned char c) { return std::tolower(c); });
      // rel="alternate" among the parameters (rel may list several relation types).
      auto rel = params.find(";rel=");
      if (rel != std::string::npos) {
        std::string_view rels = std::string_view(params).substr(rel + 5);
        rels = rels.substr(0, rels.find_first_of(";,"));
        if (rels == "alternate") out.push_back(std::move(url));
      }
    }
  }
  return out;
}

bool chain_matches(std::string_view pem_chain, std::string_view name) {
  Decoded d = decode_any(as_bytes(pem_chain), "ACME certificate chain", {}, false);
  if (d.certificates.empty()) return false;
  CertInfo top = inspect_certificate(d.certificates.back());
  return top.issued_by == name || top.issued_to == name;
}

std::string download_chain(Client& client, const std::string& url, const std::string& preferred_chain) {
  auto fetch = [&](const std::string& u, HttpResponse* raw) {
    HttpResponse r = client.post(u, std::nullopt);
    if (r.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      fail(ErrorKind::Remote, fmt::format("ACME server: {}: no PEM certificate chain in the answer", u));
    std::string body = r.body;
    if (raw) *raw = std::move(r);
    return body;
  };
  HttpResponse first;
  std::string chain = fetch(url, &first);
  if (preferred_chain.empty() || chain_matches(chain, preferred_chain)) return chain;
  for (const auto& alt : alternate_links(first)) {
    std::string other = fetch(alt, nullptr);
    if (chain_matches(other, preferred_chain)) return other;
  }
  return chain;
}

}  // namespace applctl::acme
