// `applctl acme account`: the store's ACME account. One account key per store (ec:P-256, in the
// keys table; its id in a setting), registered with a server or found again on it; server,
// email and account URL in settings. The key never leaves the store. --account-key brings in
// another client's key (lib/acme/account_key.cpp) and its account.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "applctl/base/secret_env.hpp"
#include "applctl/store/store.hpp"

namespace applctl::acme {

namespace {

void check_email(const std::string& email) {
  auto at = email.find('@');
  bool bad = email.empty() || at == std::string::npos || at == 0 || at + 1 == email.size() ||
             email.find('@', at + 1) != std::string::npos ||
             std::any_of(email.begin(), email.end(), [](unsigned char c) {
               return c <= ' ' || c >= 0x7f || c == ',' || c == '?' || c == '<' || c == '>';
             });
  if (bad) fail(ErrorKind::BadInput, fmt::format("invalid email address '{}'", printable(email)), "e.g. --email ops@example.com");
}

void check_server(const std::string& url) {
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
    fail(ErrorKind::BadInput, fmt::format("invalid ACME server URL '{}': not an https:// URL", printable(url)),
         "the directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory");
}

}  // namespace

Bytes eab_hmac_key_from_env(const std::string& var) {
  std::optional<std::string> value = take_secret_env(var);
  if (!value || value->empty())
    fail(ErrorKind::BadInput, fmt::format("--eab-hmac-env {}: the environment variable is not set", printable(var)),
         "export the HMAC key the CA gave you in that variable (base64url)");
  std::string text = std::move(*value);
  while (!text.empty() && text.back() == '=') text.pop_back();  // some CAs hand it out padded
  try {
    return base64url_decode(text);
  } catch (const Error&) {
    // Never the key, nor where in it the error is.
    fail(ErrorKind::BadInput, fmt::format("--eab-hmac-env {}: the value is not base64url", printable(var)),
         "the HMAC key as the CA gave it (base64url, e.g. from its EAB credentials page)");
  }
}

AccountResult register_account(const std::filesystem::path& store_dir, const AccountRequest& req) {
  check_server(req.server);
  check_email(req.email);
  if (req.eab_kid.empty() != req.eab_hmac_env.empty())
    fail(ErrorKind::Usage, "--eab-kid and --eab-hmac-env go together");
  std::optional<Bytes> eab_key;
  if (!req.eab_kid.empty()) eab_key = eab_hmac_key_from_env(req.eab_hmac_env);
  // --account-key: checked before the store or the server is touched.
  std::optional<PrivateKey> given;
  if (!req.account_key_file.empty()) given = read_account_key(req.account_key_file);
  AccountResult res;
  res.server = req.server;
  res.email = req.email;

  // Read first, without creating the store: a failure on the server leaves no store behind, and
  // the store is not locked while the server is asked.
  std::optional<std::int64_t> key_id;
  std::optional<PrivateKey> stored;
  {
    Store store = Store::open(store_dir, Store::Mode::ReadOnly);
    if (auto s = store.setting(kAccountKeySetting)) {
      key_id = std::stoll(*s);
      stored = store.load_key(*key_id);
    }
  }
  // The key given replaces a different one the store has: that is what --account-key is for
  // (an operator moving an account from another client); without it the stored key is kept.
  const bool replacing = given && stored && given->spki_sha256() != stored->spki_sha256();
  PrivateKey key = given ? *given : stored ? *stored : PrivateKey::generate(KeySpec::parse("ec:P-256"));
  res.new_key = !key_id || replacing;
  res.key_thumbprint = jwk_thumbprint(public_jwk(key));

  Client client(req.server, key, HttpOptions{req.ca_bundle});
  // A busy (503) or rate-limited server is asked again after its Retry-After within this budget.
  client.set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(req.timeout_seconds));
  const Directory& dir = client.directory();
  res.terms_of_service = dir.terms_of_service;
  const std::vector<std::string> contact = {"mailto:" + req.email};

  std::optional<Account> account;
  if (key_id || given) {  // a key that may have an account already: look it up first
    try {
      account = new_account(client, contact, false, true);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::NotFound) throw;
    }
  }
  if (!account) {
    if (dir.external_account_required && !eab_key)
      fail(ErrorKind::Refused, fmt::format("the ACME server {} requires external account binding", req.server),
           "give the key identifier and HMAC key the CA issued: --eab-kid ID --eab-hmac-env VAR (VAR holds the key)");
    if (!dir.terms_of_service.empty() && !req.accept_tos)
      fail(ErrorKind::Refused,
           fmt::format("the ACME server {} has terms of service: {}", req.server, dir.terms_of_service),
           "read them and pass --accept-tos to agree");
    std::optional<nlohmann::json> eab;
    if (eab_key) eab = external_account_binding(req.eab_kid, *eab_key, dir.new_account, public_jwk(key));
    account = new_account(client, contact, req.accept_tos, false, eab);
  } else if (std::find(account->contact.begin(), account->contact.end(), contact.front()) == account->contact.end()) {
    // An existing account with another email: update its contact (RFC 8555 section 7.3.2).
    nlohmann::json payload = {{"contact", contact}};
    HttpResponse r = client.post(account->url, payload.dump());
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("status") && j["status"].is_string()) account->status = j["status"];
  }
  if (!account->status.empty() && account->status != "valid")
    fail(ErrorKind::Remote, fmt::format("the ACME account {} is {}", account->url, account->status),
         "a deactivated or revoked account cannot be used again");

  res.account_url = account->url;
  res.status = account->status.empty() ? "valid" : account->status;
  res.created = account->created;
  res.bad_nonce_retries = client.bad_nonce_retries();

  Store store = Store::open(store_dir, Store::Mode::ReadWrite);
  auto tx = store.write("acme account");
  auto now = store.setting(kAccountKeySetting);
  if (now != (key_id ? std::optional<std::string>(std::to_string(*key_id)) : std::nullopt))
    fail(ErrorKind::Refused, "another command changed the store's ACME account key meanwhile", "run the command again");
  if (res.new_key) {
    const std::int64_t id = store.insert_key(key);
    store.set_setting(kAccountKeySetting, std::to_string(id));
    // The replaced account key goes unless a certificate or request uses it too.
    if (key_id && *key_id != id) store.remove_key_if_unused(*key_id);
  }
  store.set_setting(kServerSetting, req.server);
  store.set_setting(kEmailSetting, req.email);
  store.set_setting(kAccountUrlSetting, res.account_url);
  store.set_setting(kStatusSetting, res.status);
  // The CA bundle the server's TLS needs, for the later commands that talk to it.
  if (req.ca_bundle.empty()) store.erase_setting(kCaBundleSetting);
  else store.set_setting(kCaBundleSetting, std::filesystem::absolute(req.ca_bundle).string());
  tx.touch("acme-account:" + res.account_url);
  tx.commit();
  return res;
}

AccountInfo show_account(const std::filesystem::path& store_dir) {
  Store store = Store::open(store_dir, Store::Mode::ReadOnly);
  auto key_id = store.setting(kAccountKeySetting);
  auto url = store.setting(kAccountUrlSetting);
  if (!key_id || !url)
    fail(ErrorKind::NotFound, "the store has no ACME account", "register one with applctl acme account --server URL --email ADDR");
  AccountInfo info;
  info.server = store.setting(kServerSetting).value_or("");
  info.email = store.setting(kEmailSetting).value_or("");
  // Accounts registered before the status was kept were valid when registered.
  info.status = store.setting(kStatusSetting).value_or("valid");
  info.account_url = *url;
  info.ca_bundle = store.setting(kCaBundleSetting).value_or("");
  info.key_thumbprint = jwk_thumbprint(public_jwk(store.load_key(std::stoll(*key_id))));
  return info;
}

}  // namespace applctl::acme
