// ACME (RFC 8555): the pure parts (base64url, JWK and its RFC 7638 thumbprint, JWS with an ES256
// account key, directory and problem documents), the client that speaks to a server over HTTPS
// (libcurl: lib/acme/http.cpp, nonces and signed requests: lib/acme/client.cpp), and the account
// service that keeps the account key in the store (lib/acme/account.cpp).
// Built as its own static library (applctl_acme), so libcurl stays out of libapplctl.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"
#include "applctl/x509/keys.hpp"

namespace applctl::acme {

// base64url (RFC 4648 section 5 without padding; decoding refuses padding, white space, other
// alphabets and non-zero trailing bits) is applctl::base64url in applctl/base/bytes.hpp.
using applctl::base64url;
using applctl::base64url_decode;

// The public JWK of an ES256 (EC P-256) key: {"crv":"P-256","kty":"EC","x":..,"y":..}.
// Any other key is BadInput: the account key is always ec:P-256.
nlohmann::json public_jwk(const PrivateKey& key);
// RFC 7638: base64url(SHA-256(the required members, sorted, no white space)); EC and RSA JWKs.
std::string jwk_thumbprint(const nlohmann::json& jwk);

// The protected header of one request: "jwk" (newAccount) or "kid" (every other request).
struct JwsHeader {
  std::string url;
  std::string nonce;
  std::optional<std::string> kid;  // the account URL; without it the header carries the jwk
};
// The flattened JSON serialization {"protected","payload","signature"}; payload empty for
// POST-as-GET. The signature is ES256: raw r||s, 32 bytes each.
nlohmann::json sign_jws(const PrivateKey& key, const JwsHeader& header, std::string_view payload);

// RFC 8555 section 7.3.4: the externalAccountBinding of a newAccount request, a JWS over the
// account's public JWK with alg HS256, kid = the CA's key identifier, url = the newAccount URL,
// MAC'd with hmac_key (the CA's key, already base64url-decoded).
nlohmann::json external_account_binding(std::string_view eab_kid, BytesView hmac_key, const std::string& url,
                                        const nlohmann::json& account_jwk);

struct Directory {
  std::string new_nonce, new_account, new_order, revoke_cert, key_change;
  std::string renewal_info;     // ARI, "" when not offered
  std::string terms_of_service;  // meta.termsOfService, "" when none
  std::string website;
  bool external_account_required = false;
};
Directory parse_directory(std::string_view body, std::string_view url);  // Remote when unusable

// An RFC 7807 problem document, as an ACME server sends it.
struct Problem {
  std::string type;  // "urn:ietf:params:acme:error:badNonce"
  std::string detail;
  int status = 0;
  std::vector<Problem> subproblems;
  std::string short_type() const;  // "badNonce" for the acme namespace, else the whole type
};
// The problem in an error response's body; one made of the status when the body is not one.
Problem parse_problem(std::string_view body, long http_status);
// Error(Remote) "<what>: <detail> (<type>)", with a hint for the types an operator can act on.
Error problem_error(std::string_view what, const Problem& p);

// HTTPS settings of one client.
struct HttpOptions {
  std::string ca_bundle;  // PEM file; "" = the system's trusted roots
  long timeout_seconds = 30;
};

struct HttpResponse {
  long status = 0;
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string header(std::string_view name) const;  // the first value, "" when absent
  std::string location() const { return header("location"); }
};

// Retry-After (RFC 9110 section 10.2.3), delay-seconds or an HTTP-date (IMF-fixdate), as a wait
// from now (0 for a date in the past); std::nullopt when absent or not one of those.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::time_t now);
std::optional<std::chrono::seconds> retry_after(const HttpResponse& r);  // now: the clock's
// The error of a problem response: problem_error(), and for rateLimited or 503 with a
// Retry-After the time to try again in the hint ("... try again after 2027-01-31T12:00:00Z").
Error response_error(std::string_view what, const HttpResponse& r, std::time_t now);

// One ACME server, one account key: the directory (fetched once), a nonce pool of one, and
// signed POSTs that are sent again on badNonce with the nonce that came with the error, up to
// kBadNonceRetries times (a server that rejects 5% of good nonces, as pebble does by default,
// rejects two in a row once in 400 requests: a single retry would fail a cron job now and then).
inline constexpr int kBadNonceRetries = 3;
class Client {
 public:
  Client(std::string directory_url, PrivateKey account_key, HttpOptions http);
  ~Client();
  Client(Client&&) noexcept;

  const std::string& directory_url() const { return directory_url_; }
  const Directory& directory();
  void set_account_url(std::string kid) { kid_ = std::move(kid); }
  const std::string& account_url() const { return kid_; }

  // A signed POST (kid when the account URL is known, else jwk). payload: a JSON text, or
  // std::nullopt for POST-as-GET. Problem responses throw problem_error(), or with raw are
  // returned (after the badNonce retry) for the caller to read.
  HttpResponse post(const std::string& url, const std::optional<std::string>& payload, bool raw = false);
  // An unsigned GET (renewalInfo); any HTTP status is returned.
  HttpResponse get(const std::string& url);
  // How many badNonce retries this client made (logged with -v; tests read it).
  int bad_nonce_retries() const { return bad_nonce_retries_; }
  // The overall deadline: a 503 or rateLimited answer whose Retry-After ends before it is sent
  // again after that wait (kBusyRetries times at most); one that does not is an error at once.
  void set_deadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }

 private:
  struct Impl;
  std::string take_nonce();
  std::string directory_url_;
  PrivateKey key_;
  std::unique_ptr<Impl> impl_;
  std::optional<Directory> directory_;
  std::string nonce_;
  std::string kid_;
  int bad_nonce_retries_ = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};
inline constexpr int kBusyRetries = 3;

struct Account {
  std::string url;     // the kid
  std::string status;  // "valid", "deactivated", "revoked"
  std::vector<std::string> contact;
  bool created = false;  // 201 from newAccount
};
// newAccount. only_existing: onlyReturnExisting (NotFound when the server has no account for
// the key). eab: an external_account_binding() for the request. Sets the client's account URL.
Account new_account(Client& client, const std::vector<std::string>& contact, bool terms_agreed,
                    bool only_existing, const std::optional<nlohmann::json>& eab = std::nullopt);

// The MAC key of external account binding: the base64url value of environment variable var.
// BadInput when unset or not base64url; the key is never in a message.
Bytes eab_hmac_key_from_env(const std::string& var);

// `applctl acme account`.
struct AccountRequest {
  std::string server;  // the directory URL
  std::string email;
  std::string ca_bundle;
  bool accept_tos = false;
  std::string eab_kid;       // external account binding: the CA's key identifier,
  std::string eab_hmac_env;  // and the environment variable with its base64url MAC key
  int timeout_seconds = 60;  // waits for a busy server's Retry-After end by then
  // --account-key: an existing account key (another client's) instead of the store's or a new
  // one; replaces a different key the store has. "" = none given.
  std::string account_key_file;
};
struct AccountResult {
  std::string server, email, account_url, status;
  std::string key_thumbprint;  // RFC 7638 thumbprint of the account key (public)
  std::string terms_of_service;
  bool created = false;  // a new account on the server (else an existing one was found)
  bool new_key = false;  // a new account key was stored (generated, or --account-key's replacing another)
  int bad_nonce_retries = 0;
};
// Registers the store's account key with the server (a new ec:P-256 key when the store has
// none), or finds its existing account, and saves key, server, email and account URL in one
// transaction. Refused when the server has terms of service and accept_tos is false.
AccountResult register_account(const std::filesystem::path& store_dir, const AccountRequest& req);

// `acme account --account-key FILE`: an ACME account key made by another client (certbot, lego)
// from a PEM file, PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), unencrypted, EC P-256 (the
// only key our ES256 JWS signs with). BadInput "cannot use account key 'FILE': <problem>" when
// the file is missing or unreadable, holds no private key (a certificate, garbage), holds an
// encrypted one (no passphrase is taken), or a key of another type or curve. Never quotes the file.
PrivateKey read_account_key(const std::filesystem::path& file);

// `applctl acme show`: the store's account as `acme account` last saw it (status as of then), read
// from the store alone (no network). NotFound when the store has none.
struct AccountInfo {
  std::string server, email, status, account_url;
  std::string key_thumbprint;  // RFC 7638 thumbprint of the account key (public)
  std::string ca_bundle;       // "" when the system's roots verify the server
};
AccountInfo show_account(const std::filesystem::path& store_dir);

// Settings keys of the account in the store.
inline constexpr const char* kAccountKeySetting = "acme.account_key_id";
inline constexpr const char* kAccountUrlSetting = "acme.account_url";
inline constexpr const char* kServerSetting = "acme.server";
inline constexpr const char* kEmailSetting = "acme.email";
inline constexpr const char* kCaBundleSetting = "acme.ca_bundle";  // absolute path, when given
inline constexpr const char* kStatusSetting = "acme.status";        // as the server last said

}  // namespace applctl::acme
