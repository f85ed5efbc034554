// ACME orders (RFC 8555 section 7.4): newOrder with DNS and IP identifiers (RFC 8738), the
// authorizations and their http-01 challenges, polling with a bounded back-off that honours
// Retry-After, finalize with a CSR, and the certificate chain's download.
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "applctl/acme.hpp"
#include "applctl/acme_order.hpp"
#include "applctl/names.hpp"

namespace applctl::acme {

namespace {

std::string str(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json parse_object(const HttpResponse& r, std::string_view what) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
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

std::string key_authorization(std::string_view token, const PrivateKey& account_key) {
  return std::string(token) + "." + jwk_thumbprint(public_jwk(account_key));
}

std::chrono::milliseconds retry_after(const HttpResponse& r, std::chrono::milliseconds fallback) {
  std::string v = r.header("retry-after");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 5) return fallback;
  return std::chrono::seconds(std::stoi(v));
}

Order new_order(Client& client, const std::vector<Identifier>& ids) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& id : ids) list.push_back({{"type", id.type}, {"value", id.value}});
  const std::string& url = client.directory().new_order;
  HttpResponse r = client.post(url, nlohmann::json{{"identifiers", list}}.dump());
  if (r.location().empty()) fail(ErrorKind::Remote, fmt::format("ACME server: POST {}: no order URL (Location)", url));
  return order_of(parse_object(r, "newOrder"), r.location());
}

Order get_order(Client& client, const std::string& url, HttpResponse* raw) {
  HttpResponse r = client.post(url, std::nullopt);
  Order o = order_of(parse_object(r, url), url);
  if (raw) *raw = std::move(r);
  return o;
}

Authorization get_authorization(Client& client, const std::string& url, HttpResponse* raw) {
  HttpResponse r = client.post(url, std::nullopt);
  nlohmann::json j = parse_object(r, url);
  Authorization a;
  a.url = url;
  a.status = str(j, "status");
  if (auto id = j.find("identifier"); id != j.end() && id->is_object()) a.identifier = {str(*id, "type"), str(*id, "value")};
  if (auto cs = j.find("challenges"); cs != j.end() && cs->is_array())
    for (const auto& c : *cs) {
      Challenge ch{str(c, "type"), str(c, "url"), str(c, "token"), str(c, "status"), std::nullopt};
      if (auto e = c.find("error"); e != c.end() && e->is_object()) ch.error = parse_problem(e->dump(), 0);
      a.challenges.push_back(std::move(ch));
    }
  if (raw) *raw = std::move(r);
  return a;
}

// Polls until done(x) or the deadline: 50 ms first, doubling to 2 s, or what Retry-After says.
template <typename T, typename Get, typename Done>
T poll(Get get, Done done, std::chrono::steady_clock::time_point deadline, std::string_view what) {
  std::chrono::milliseconds wait(50);
  for (;;) {
    HttpResponse raw;
    T x = get(&raw);
    if (done(x)) return x;
    auto next = retry_after(raw, wait);
    if (std::chrono::steady_clock::now() + next > deadline)
      fail(ErrorKind::Remote, fmt::format("ACME server: {}: still not done at the timeout", what),
           "the server is slow or stuck: try again later");
    std::this_thread::sleep_for(next);
    wait = std::min(wait * 2, std::chrono::milliseconds(2000));
  }
}

std::string authorize_http01(Client& client, const std::string& authz_url, const PrivateKey& account_key,
                             const std::function<void(const std::string&, const std::string&)>& publish,
                             std::chrono::steady_clock::time_point deadline) {
  Authorization a = get_authorization(client, authz_url, nullptr);
  if (a.status == "valid") return a.status;
  if (a.status != "pending")
    fail(ErrorKind::Remote, fmt::format("ACME authorization for {} is {}", a.identifier.value, a.status));
  auto it = std::find_if(a.challenges.begin(), a.challenges.end(), [](const Challenge& c) { return c.type == "http-01"; });
  if (it == a.challenges.end())
    fail(ErrorKind::Remote, fmt::format("the ACME server offers no http-01 challenge for {}", a.identifier.value));
  publish(it->token, key_authorization(it->token, account_key));
  client.post(it->url, std::string("{}"));
  a = poll<Authorization>([&](HttpResponse* raw) { return get_authorization(client, authz_url, raw); },
                          [](const Authorization& x) { return x.status != "pending"; }, deadline,
                          "authorization of " + a.identifier.value);
  if (a.status != "valid") {
    std::string why;
    for (const auto& c : a.challenges)
      if (c.error) why = fmt::format(": {} ({})", c.error->detail, c.error->short_type());
    fail(ErrorKind::Remote, fmt::format("the ACME server did not validate {} (authorization {}){}", a.identifier.value, a.status, why),
         "is --http-port the port the server's validation requests reach (80 behind NAT)?");
  }
  return a.status;
}

Order finalize_order(Client& client, const Order& order, BytesView csr_der, std::chrono::steady_clock::time_point deadline) {
  Order o = order;
  if (o.status == "pending" || o.status == "ready") {
    o = poll<Order>([&](HttpResponse* raw) { return get_order(client, order.url, raw); },
                    [](const Order& x) { return x.status != "pending"; }, deadline, "order " + order.url);
    if (o.status == "ready") {
      HttpResponse r = client.post(o.finalize, nlohmann::json{{"csr", base64url(csr_der)}}.dump());
      o = order_of(parse_object(r, o.finalize), order.url);
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

std::string download_chain(Client& client, const std::string& url) {
  HttpResponse r = client.post(url, std::nullopt);
  if (r.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    fail(ErrorKind::Remote, fmt::format("ACME server: {}: no PEM certificate chain in the answer", url));
  return r.body;
}

}  // namespace applctl::acme
