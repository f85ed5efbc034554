// ACME orders (RFC 8555 section 7.4), polling, the challenge solvers (http-01 responder or
// webroot, dns-01 hook), and obtaining a certificate: what `acme issue` and renewal are made of.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "applctl/acme/acme.hpp"
#include "applctl/services/renew.hpp"
#include "applctl/codec/codec.hpp"

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
// The TXT record value of dns-01: base64url(SHA-256(key authorization)) (RFC 8555 section 8.4).
std::string dns01_value(std::string_view key_authorization);

// Polling an order or authorization: the wait before poll number `attempt` (0 the first) is
// kPollFirst doubling up to kPollMax, or the server's Retry-After when it gives one (at least
// kPollFirst); std::nullopt when that wait would end past `remaining` (the overall deadline).
inline constexpr std::chrono::milliseconds kPollFirst{150};
inline constexpr std::chrono::milliseconds kPollMax{3000};
std::optional<std::chrono::milliseconds> poll_delay(int attempt, std::optional<std::chrono::seconds> retry_after,
                                                    std::chrono::milliseconds remaining);

// The newOrder payload: {"identifiers": [...]}, and "replaces" (RFC 9773 section 5) when given.
nlohmann::json new_order_payload(const std::vector<Identifier>& ids, const std::optional<std::string>& replaces);
Order new_order(Client& client, const std::vector<Identifier>& ids, const std::optional<std::string>& replaces = std::nullopt);
Order get_order(Client& client, const std::string& url, HttpResponse* raw);
// The order and authorization objects of an answer's body (what get_order, new_order, finalize
// and get_authorization read): members of the wrong type are left empty, unknown ones ignored.
// Remote "ACME server: <what>: the answer is not a JSON object" (what: url when empty) otherwise.
Order parse_order(std::string_view body, std::string url, std::string_view what = {});
Authorization parse_authorization(std::string_view body, std::string url);
Authorization get_authorization(Client& client, const std::string& url, HttpResponse* raw);

// Makes a challenge's answer reachable for the server's validation, and takes it away again.
class ChallengeSolver {
 public:
  virtual ~ChallengeSolver() = default;
  virtual std::string type() const = 0;  // "http-01" | "dns-01"
  // The answer to challenge c of authorization a (its key authorization ka).
  virtual void present(const Authorization& a, const Challenge& c, const std::string& ka) = 0;
  // Removes everything present() made; runs once, after success and failure alike; never throws.
  virtual void cleanup() noexcept = 0;
  virtual int validation_requests() const { return 0; }  // seen by the solver, when it can tell
  virtual std::string failure_hint() const = 0;           // when the server could not validate
};

// Answers the authorization's challenge of solver.type() and polls it until the server decides;
// Remote with the challenge's error when it is not valid. An authorization already valid is
// left alone.
void authorize(Client& client, const std::string& authz_url, const PrivateKey& account_key, ChallengeSolver& solver,
               std::chrono::steady_clock::time_point deadline);
// Waits for "ready", finalizes with the CSR, waits for "valid".
Order finalize_order(Client& client, const Order& order, BytesView csr_der, std::chrono::steady_clock::time_point deadline);
// The URLs of the Link headers with rel="alternate" (RFC 8555 section 7.4.2), in order; several
// links in one header too.
std::vector<std::string> alternate_links(const HttpResponse& r);
// Whether the topmost certificate of a PEM chain has name as its issuer's or its own common name.
bool chain_matches(std::string_view pem_chain, std::string_view name);
// The PEM chain at the order's certificate URL, the leaf first: the server's default, or with
// preferred_chain the first of the default and its alternates that chain_matches() it (the
// default when none does).
std::string download_chain(Client& client, const std::string& url, const std::string& preferred_chain = {});

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

// How the challenges of an order are answered, one of: http-01 by a responder of its own on
// http_port (the default), http-01 by files in webroot, dns-01 by dns_hook.
struct ChallengeSettings {
  int http_port = 80;
  std::string webroot;   // DIR: writes DIR/.well-known/acme-challenge/TOKEN (0644), removed after
  std::string dns_hook;  // CMD: /bin/sh -c CMD with APPLCTL_ACME_ACTION=present|cleanup,
                         // APPLCTL_ACME_DOMAIN, APPLCTL_ACME_RECORD_NAME, APPLCTL_ACME_RECORD_VALUE
  std::string type() const { return dns_hook.empty() ? "http-01" : "dns-01"; }
  // {"type":"http-01","http_port":N} | {"type":"http-01","webroot":DIR (absolute)} |
  // {"type":"dns-01","dns_hook":CMD}
  nlohmann::json origin() const;
  // The settings an origin() describes (renewal repeats an order so); BadInput when it is none.
  static ChallengeSettings from_origin(const nlohmann::json& origin);
};
// deadline: a --dns-hook still running at it is stopped (SIGTERM, then SIGKILL, to its process
// group) and fails the order; its cleanup gets 30 s of its own.
std::unique_ptr<ChallengeSolver> make_solver(
    const ChallengeSettings& settings,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

// The order's identifiers of "www.example.com", "192.0.2.1", "*.example.com" (dns-01 only) or
// "dns:NAME" / "ip:ADDR" (as an origin lists them), duplicates dropped; BadInput when invalid.
std::vector<Identifier> parse_identifiers(const std::vector<std::string>& domains, const ChallengeSettings& settings);
std::string identifier_text(const Identifier& id);  // "dns:www.example.com", "ip:192.0.2.1"

// ACME Renewal Information (RFC 9773).
// The certificate's ARI identifier: base64url(AKI keyIdentifier) "." base64url(the serial's DER
// INTEGER content bytes). BadInput when the certificate has no authority key identifier.
std::string ari_cert_id(BytesView cert_der);
struct RenewalWindow {
  std::int64_t start = 0, end = 0;  // Unix seconds: renew at a time in [start, end)
  std::string explanation_url;      // "" when none
  std::optional<std::chrono::seconds> retry_after;  // when to ask again
};
// A renewalInfo response body (and its Retry-After); Remote when it is not one, or its window is
// empty or reversed (end <= start).
RenewalWindow parse_renewal_info(std::string_view body, std::optional<std::chrono::seconds> retry_after);
// GET directory.renewalInfo "/" ari_cert_id(cert) (not signed); std::nullopt when the server
// offers no renewalInfo. Remote when it fails or answers with no usable window.
std::optional<RenewalWindow> renewal_info(Client& client, BytesView cert_der);

// `cert renew` of ACME certificates (applctl::AcmeRenewer, include/applctl/services/renew.hpp): the
// renewalInfo window from the store account's server, and a new order for the same identifiers
// with the same challenge settings (obtain_certificate), "replaces" naming the old certificate.
std::unique_ptr<applctl::AcmeRenewer> make_renewer(const std::filesystem::path& store_dir);

}  // namespace applctl::acme

namespace applctl::acme {

// One certificate for key from the store's ACME account (read only; nothing is written to the
// store): an order for the identifiers, its challenges answered as `challenge` says, finalize
// with a CSR of key, the chain downloaded. What `acme issue` and renewal share.
struct ObtainRequest {
  explicit ObtainRequest(PrivateKey certificate_key) : key(std::move(certificate_key)) {}
  std::vector<std::string> domains;  // as parse_identifiers() takes them
  ChallengeSettings challenge;
  PrivateKey key;  // the certificate's key
  int timeout_seconds = 90;
  std::string preferred_chain;  // see download_chain()
  // ari_cert_id() of the certificate this one replaces: sent as newOrder's "replaces" when the
  // server offers renewalInfo (RFC 9773 section 5), else left out.
  std::optional<std::string> replaces;
};
struct ObtainResult {
  Decoded chain;  // the certificates of the download, the leaf (for key) first; no keys
  std::string server, order_url, certificate_url;
  std::vector<std::string> identifiers;  // "dns:test.example", "ip:127.0.0.1"
  int validation_requests = 0;           // answered by the http-01 responder
  int bad_nonce_retries = 0;
  double seconds = 0;
};
// NotFound when the store has no account; Remote for what the server refuses or fails.
ObtainResult obtain_certificate(const std::filesystem::path& store_dir, const ObtainRequest& req);

// `applctl acme issue`: obtain_certificate() with a new key of key_spec, the chain imported under
// name (the leaf with its key; source "acme") in one transaction once it was issued.
struct IssueRequest {
  std::string name;
  std::vector<std::string> domains;  // DNS names, IP addresses (RFC 8738 identifiers)
  std::string key_spec = "ec:P-256";
  ChallengeSettings challenge;
  int timeout_seconds = 90;
  std::string preferred_chain;  // see download_chain()
};
struct IssueResult {
  std::string name, fingerprint_sha256, server, order_url;
  std::vector<std::string> identifiers;  // "dns:test.example", "ip:127.0.0.1"
  std::int64_t not_before = 0, not_after = 0;
  std::size_t chain_certificates = 0;  // in the download, the leaf included
  int validation_requests = 0;         // answered by the http-01 responder
  int bad_nonce_retries = 0;
  double seconds = 0;
  // How to repeat the order (what renewal keeps per certificate): {"server", "identifiers":
  // ["dns:x","ip:y"], "challenge": ChallengeSettings::origin(), "key_spec"}.
  nlohmann::json origin;
};
IssueResult issue_certificate(const std::filesystem::path& store_dir, const IssueRequest& req);

}  // namespace applctl::acme
