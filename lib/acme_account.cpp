// `applctl acme account`: the store's ACME account. One account key per store (ec:P-256, in the
// keys table; its id in a setting), registered with a server or found again on it; server,
// email and account URL in settings. The key never leaves the store.
#include <algorithm>

#include <fmt/format.h>

#include "applctl/acme.hpp"
#include "applctl/store.hpp"

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

AccountResult register_account(const std::filesystem::path& store_dir, const AccountRequest& req) {
  check_server(req.server);
  check_email(req.email);
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
  PrivateKey key = stored ? *stored : PrivateKey::generate(KeySpec::parse("ec:P-256"));
  res.new_key = !key_id;
  res.key_thumbprint = jwk_thumbprint(public_jwk(key));

  Client client(req.server, key, HttpOptions{req.ca_bundle});
  const Directory& dir = client.directory();
  res.terms_of_service = dir.terms_of_service;
  const std::vector<std::string> contact = {"mailto:" + req.email};

  std::optional<Account> account;
  if (key_id) {
    try {
      account = new_account(client, contact, false, true);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::NotFound) throw;
    }
  }
  if (!account) {
    if (dir.external_account_required)
      fail(ErrorKind::Refused, fmt::format("the ACME server {} requires external account binding", req.server),
           "external account binding (--eab-kid, --eab-hmac-env) is not supported yet");
    if (!dir.terms_of_service.empty() && !req.accept_tos)
      fail(ErrorKind::Refused,
           fmt::format("the ACME server {} has terms of service: {}", req.server, dir.terms_of_service),
           "read them and pass --accept-tos to agree");
    account = new_account(client, contact, req.accept_tos, false);
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
  if (!key_id) store.set_setting(kAccountKeySetting, std::to_string(store.insert_key(key)));
  store.set_setting(kServerSetting, req.server);
  store.set_setting(kEmailSetting, req.email);
  store.set_setting(kAccountUrlSetting, res.account_url);
  // The CA bundle the server's TLS needs, for the later commands that talk to it.
  if (req.ca_bundle.empty()) store.erase_setting(kCaBundleSetting);
  else store.set_setting(kCaBundleSetting, std::filesystem::absolute(req.ca_bundle).string());
  tx.touch("acme-account:" + res.account_url);
  tx.commit();
  return res;
}

}  // namespace applctl::acme
