// `applctl acme issue`: one certificate from the store's ACME account, http-01 on a port of its
// own, imported with its new key in one transaction once the server has issued it.
#include <fmt/format.h>

#include "applctl/acme.hpp"
#include "applctl/acme_order.hpp"
#include "applctl/appliance.hpp"
#include "applctl/certificate.hpp"
#include "applctl/codec.hpp"
#include "applctl/import.hpp"
#include "applctl/names.hpp"
#include "applctl/store.hpp"

namespace applctl::acme {

namespace {

struct StoredAccount {
  PrivateKey key;
  std::string server, url, ca_bundle;
};

StoredAccount stored_account(const Store& store) {
  auto key_id = store.setting(kAccountKeySetting);
  auto server = store.setting(kServerSetting);
  auto url = store.setting(kAccountUrlSetting);
  if (!key_id || !server || !url)
    fail(ErrorKind::NotFound, "the store has no ACME account", "register one with applctl acme account --server URL --email ADDR");
  return {store.load_key(std::stoll(*key_id)), *server, *url, store.setting(kCaBundleSetting).value_or("")};
}

}  // namespace

IssueResult issue_certificate(const std::filesystem::path& store_dir, const IssueRequest& req) {
  const auto t0 = std::chrono::steady_clock::now();
  checked_friendly_name(req.name);
  if (req.domains.empty()) fail(ErrorKind::Usage, "acme issue needs at least one --domain");
  const KeySpec spec = KeySpec::parse(req.key_spec);
  std::vector<San> sans;
  std::vector<Identifier> ids;
  IssueResult res;
  for (const auto& d : req.domains) {
    San s = parse_san(d);
    if (s.value.rfind("*.", 0) == 0)
      fail(ErrorKind::BadInput, fmt::format("'{}': a wildcard name needs the dns-01 challenge", d),
           "http-01 (--http-port) validates one name at a time");
    if (std::find(sans.begin(), sans.end(), s) != sans.end()) continue;
    sans.push_back(s);
    ids.push_back({s.type == SanType::IP ? "ip" : "dns", s.value});
    res.identifiers.push_back(ids.back().type + ":" + s.value);
  }

  StoredAccount account = [&] {
    Store store = Store::open(store_dir, Store::Mode::ReadOnly);
    if (store.cert_by_name(req.name))
      fail(ErrorKind::Refused, fmt::format("a certificate named '{}' already exists", req.name),
           "choose another --name, or rename or remove the existing one");
    return stored_account(store);
  }();
  res.name = req.name;
  res.server = account.server;

  Client client(account.server, account.key, HttpOptions{account.ca_bundle});
  client.set_account_url(account.url);
  const auto deadline = t0 + std::chrono::seconds(req.timeout_seconds);
  Http01Responder responder(req.http_port);
  Order order = new_order(client, ids);
  res.order_url = order.url;
  for (const auto& authz : order.authorizations)
    authorize_http01(client, authz, account.key,
                     [&](const std::string& token, const std::string& ka) { responder.publish(token, ka); }, deadline);

  PrivateKey key = PrivateKey::generate(spec);
  Subject subject;
  if (sans.front().type == SanType::DNS) subject.cn = sans.front().value;
  order = finalize_order(client, order, make_csr(key, subject, sans), deadline);
  std::string chain = download_chain(client, order.certificate);
  res.validation_requests = responder.served();
  res.bad_nonce_retries = client.bad_nonce_retries();

  const std::string source = "ACME certificate " + order.certificate;
  Decoded decoded = decode_any(as_bytes(chain), source, {}, false);
  res.chain_certificates = decoded.certificates.size();
  if (decoded.certificates.empty() || inspect_certificate(decoded.certificates.front()).spki_sha256 != key.spki_sha256())
    fail(ErrorKind::Remote, fmt::format("{}: the first certificate is not for the key of the request", source));
  decoded.keys.push_back(key);
  std::vector<std::pair<std::string, Decoded>> inputs;
  inputs.emplace_back(source, std::move(decoded));
  Store store = Store::open(store_dir, Store::Mode::ReadWrite);
  ImportResult imported = import_decoded(store, std::move(inputs), req.name, "acme", "acme issue");
  for (const auto& c : imported.certificates)
    if (c.summary.row.friendly_name == req.name) {
      res.fingerprint_sha256 = c.summary.row.fingerprint_sha256;
      res.not_before = c.summary.row.not_before;
      res.not_after = c.summary.row.not_after;
    }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace applctl::acme
