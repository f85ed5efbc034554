// ACME orders (RFC 8555 section 7.4) and the http-01 responder: what `acme issue` is made of.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "applctl/acme.hpp"

namespace applctl::acme {

struct Identifier {
  std::string type;  // "dns" | "ip" (RFC 8738)
  std::string value;
};

struct Challenge {
  std::string type, url, token, status;
  std::optional<Problem> error;
};

struct Authorization {
  std::string url, status;
  Identifier identifier;
  std::vector<Challenge> challenges;
};

struct Order {
  std::string url, status, finalize, certificate;
  std::vector<std::string> authorizations;
  std::optional<Problem> error;
};

// token "." thumbprint of the account key (RFC 8555 section 8.1).
std::string key_authorization(std::string_view token, const PrivateKey& account_key);
// Retry-After in seconds, else fallback (an HTTP date is treated as absent).
std::chrono::milliseconds retry_after(const HttpResponse& r, std::chrono::milliseconds fallback);

Order new_order(Client& client, const std::vector<Identifier>& ids);
Order get_order(Client& client, const std::string& url, HttpResponse* raw);
Authorization get_authorization(Client& client, const std::string& url, HttpResponse* raw);
// Answers the authorization's http-01 challenge (publish(token, key authorization) first) and
// polls it until the server decides; Remote with the challenge's error when it is not valid.
std::string authorize_http01(Client& client, const std::string& authz_url, const PrivateKey& account_key,
                             const std::function<void(const std::string&, const std::string&)>& publish,
                             std::chrono::steady_clock::time_point deadline);
// Waits for "ready", finalizes with the CSR, waits for "valid".
Order finalize_order(Client& client, const Order& order, BytesView csr_der, std::chrono::steady_clock::time_point deadline);
// The PEM chain at the order's certificate URL: the leaf first.
std::string download_chain(Client& client, const std::string& url);

// http-01 responder on a port of every address, in a thread of its own, until destroyed.
class Http01Responder {
 public:
  explicit Http01Responder(int port);  // Refused when the port cannot be had
  ~Http01Responder();
  Http01Responder(const Http01Responder&) = delete;
  Http01Responder& operator=(const Http01Responder&) = delete;
  void publish(const std::string& token, const std::string& key_authorization);
  int served() const { return served_; }

 private:
  void serve();
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::mutex mutex_;
  std::map<std::string, std::string> tokens_;
  std::thread thread_;
};

}  // namespace applctl::acme

namespace applctl::acme {

// `applctl acme issue`: an order for the names and addresses, its http-01 challenges answered on
// http_port, a new key of key_spec, finalize, the chain downloaded and imported under name (the
// leaf with its key; source "acme"), all with the store's account. Nothing is stored unless the
// certificate was issued.
struct IssueRequest {
  std::string name;
  std::vector<std::string> domains;  // DNS names, IP addresses (RFC 8738 identifiers)
  std::string key_spec = "ec:P-256";
  int http_port = 80;
  int timeout_seconds = 90;
};
struct IssueResult {
  std::string name, fingerprint_sha256, server, order_url;
  std::vector<std::string> identifiers;  // "dns:test.example", "ip:127.0.0.1"
  std::int64_t not_before = 0, not_after = 0;
  std::size_t chain_certificates = 0;  // in the download, the leaf included
  int validation_requests = 0;         // answered by the http-01 responder
  int bad_nonce_retries = 0;
  double seconds = 0;
};
IssueResult issue_certificate(const std::filesystem::path& store_dir, const IssueRequest& req);

}  // namespace applctl::acme
