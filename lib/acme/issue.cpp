// Obtaining a certificate from the store's ACME account (obtain_certificate: read-only on the
// store), `applctl acme issue`, which imports it with its new key in one transaction once the
// server has issued it, and the AcmeRenewer through which `cert renew` orders it again.
#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/services/appliance.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/codec/codec.hpp"
#include "applctl/services/import.hpp"
#include "applctl/x509/names.hpp"
#include "applctl/store/store.hpp"

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

ObtainResult obtain_certificate(const std::filesystem::path& store_dir, const ObtainRequest& req) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::seconds(req.timeout_seconds);
  std::vector<Identifier> ids = parse_identifiers(req.domains, req.challenge);
  ObtainResult res;
  for (const auto& id : ids) res.identifiers.push_back(identifier_text(id));

  StoredAccount account = [&] {
    Store store = Store::open(store_dir, Store::Mode::ReadOnly);
    return stored_account(store);
  }();
  res.server = account.server;

  Client client(account.server, account.key, HttpOptions{account.ca_bundle});
  client.set_account_url(account.url);
  client.set_deadline(deadline);
  std::unique_ptr<ChallengeSolver> solver = make_solver(req.challenge, deadline);
  std::optional<std::string> replaces;
  if (req.replaces && !client.directory().renewal_info.empty()) replaces = req.replaces;
  Order order = new_order(client, ids, replaces);
  res.order_url = order.url;
  try {
    for (const auto& authz : order.authorizations) authorize(client, authz, account.key, *solver, deadline);
  } catch (...) {
    solver->cleanup();
    throw;
  }
  solver->cleanup();

  std::vector<San> sans;
  for (const auto& id : ids) sans.push_back(parse_san(id.value));
  Subject subject;
  if (sans.front().type == SanType::DNS) subject.cn = sans.front().value;
  order = finalize_order(client, order, make_csr(req.key, subject, sans), deadline);
  std::string chain = download_chain(client, order.certificate, req.preferred_chain);
  res.certificate_url = order.certificate;
  res.validation_requests = solver->validation_requests();
  res.bad_nonce_retries = client.bad_nonce_retries();

  const std::string source = "ACME certificate " + order.certificate;
  res.chain = decode_any(as_bytes(chain), source, {}, false);
  res.chain.keys.clear();
  if (res.chain.certificates.empty() || inspect_certificate(res.chain.certificates.front()).spki_sha256 != req.key.spki_sha256())
    fail(ErrorKind::Remote, fmt::format("{}: the first certificate is not for the key of the request", source));
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

IssueResult issue_certificate(const std::filesystem::path& store_dir, const IssueRequest& req) {
  checked_friendly_name(req.name);
  if (req.domains.empty()) fail(ErrorKind::Usage, "acme issue needs at least one --domain");
  const KeySpec spec = KeySpec::parse(req.key_spec);
  // Bad input and a taken name are refused before any order.
  parse_identifiers(req.domains, req.challenge);
  {
    Store store = Store::open(store_dir, Store::Mode::ReadOnly);
    if (store.cert_by_name(req.name))
      fail(ErrorKind::Refused, fmt::format("a certificate named '{}' already exists", req.name),
           "choose another --name, or rename or remove the existing one");
    stored_account(store);
  }

  ObtainRequest obtain(PrivateKey::generate(spec));
  obtain.domains = req.domains;
  obtain.challenge = req.challenge;
  obtain.timeout_seconds = req.timeout_seconds;
  obtain.preferred_chain = req.preferred_chain;
  ObtainResult got = obtain_certificate(store_dir, obtain);

  IssueResult res;
  res.name = req.name;
  res.server = got.server;
  res.order_url = got.order_url;
  res.identifiers = got.identifiers;
  res.chain_certificates = got.chain.certificates.size();
  res.validation_requests = got.validation_requests;
  res.bad_nonce_retries = got.bad_nonce_retries;
  res.origin = {{"server", got.server},
                {"identifiers", got.identifiers},
                {"challenge", req.challenge.origin()},
                {"key_spec", spec.str()}};
  if (!req.preferred_chain.empty()) res.origin["preferred_chain"] = req.preferred_chain;

  Decoded decoded = std::move(got.chain);
  decoded.keys.push_back(obtain.key);
  std::vector<std::pair<std::string, Decoded>> inputs;
  inputs.emplace_back("ACME certificate " + got.certificate_url, std::move(decoded));
  Store store = Store::open(store_dir, Store::Mode::ReadWrite);
  ImportResult imported = import_decoded(store, std::move(inputs), req.name, "acme", "acme issue", res.origin.dump());
  for (const auto& c : imported.certificates)
    if (c.summary.row.friendly_name == req.name) {
      res.fingerprint_sha256 = c.summary.row.fingerprint_sha256;
      res.not_before = c.summary.row.not_before;
      res.not_after = c.summary.row.not_after;
    }
  res.seconds = got.seconds;
  return res;
}

namespace {

// Identifiers as stored in the origin ("dns:www.example.com", "ip:192.0.2.10") back to the
// --domain values obtain_certificate takes.
std::vector<std::string> domains_of(const AcmeOrigin& origin) {
  std::vector<std::string> out;
  for (const auto& id : origin.identifiers) {
    auto colon = id.find(':');
    std::string_view type = colon == std::string::npos ? std::string_view() : std::string_view(id).substr(0, colon);
    out.push_back(type == "dns" || type == "ip" ? id.substr(colon + 1) : id);
  }
  return out;
}

// The account is read on first use, so that a store without one fails its ACME certificates
// only (each with the error), not the renewal of the others.
class StoreRenewer final : public AcmeRenewer {
 public:
  explicit StoreRenewer(std::filesystem::path store_dir) : store_dir_(std::move(store_dir)) {}

  std::optional<applctl::RenewalWindow> suggested_window(const AcmeOrigin& origin, const CertRow&,
                                                         BytesView der) override {
    if (origin.server != account().server) return std::nullopt;  // reorder says why it cannot renew
    if (!client_) {
      client_.emplace(account_->server, account_->key, HttpOptions{account_->ca_bundle});
      client_->set_account_url(account_->url);
    }
    auto w = renewal_info(*client_, der);
    if (!w) return std::nullopt;
    return applctl::RenewalWindow{w->start, w->end};
  }

  Decoded reorder(const AcmeOrigin& origin, const PrivateKey& key, const CertRow& old, BytesView old_der) override {
    if (origin.server != account().server)
      fail(ErrorKind::Refused,
           fmt::format("'{}' was issued by {}, but the store's ACME account is on {}", old.friendly_name,
                       origin.server, account_->server),
           "register an account there (applctl acme account --server URL), or issue it anew with applctl acme issue");
    if (origin.identifiers.empty())
      fail(ErrorKind::Failed, fmt::format("'{}': the store does not say which names it was ordered for", old.friendly_name));
    ObtainRequest req(key);
    req.domains = domains_of(origin);
    req.challenge = ChallengeSettings::from_origin(origin.challenge);
    req.preferred_chain = origin.preferred_chain;
    req.replaces = ari_cert_id(old_der);
    return obtain_certificate(store_dir_, req).chain;
  }

 private:
  const StoredAccount& account() {
    if (!account_) account_ = stored_account(Store::open(store_dir_, Store::Mode::ReadOnly));
    return *account_;
  }

  std::filesystem::path store_dir_;
  std::optional<StoredAccount> account_;
  std::optional<Client> client_;
};

}  // namespace

std::unique_ptr<applctl::AcmeRenewer> make_renewer(const std::filesystem::path& store_dir) {
  return std::make_unique<StoreRenewer>(store_dir);
}

}  // namespace applctl::acme
