#include "applctl/appliance.hpp"

#include <unistd.h>

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "applctl/chains.hpp"
#include "applctl/error.hpp"
#include "applctl/kmip_config.hpp"
#include "applctl/names.hpp"
#include "applctl/renew.hpp"
#include "applctl/store_crypt.hpp"

namespace applctl {

namespace {

constexpr const char* kHostnames = "hostnames";
constexpr const char* kFactoryCert = "factory_cert";
constexpr const char* kDefaultCert = "default_cert";

// The machine's host name when it is a usable DNS name, else "localhost".
std::string machine_hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  try {
    San san = parse_san(buf);
    if (san.type == SanType::DNS) return san.value;
  } catch (const Error&) {
  }
  return "localhost";
}

std::optional<std::int64_t> setting_id(const Store& store, const char* key) {
  auto v = store.setting(key);
  if (!v) return std::nullopt;
  return std::stoll(*v);
}


void add_time_warnings(const CertRow& r, const LintContext& ctx, std::vector<Warning>& out) {
  if (ctx.now > r.not_after)
    out.push_back({"expired", fmt::format("expired on {}", format_rfc3339(r.not_after))});
  else if (ctx.now < r.not_before)
    out.push_back({"not-yet-valid", fmt::format("not valid before {}", format_rfc3339(r.not_before))});
  else if (r.not_after - ctx.now <= ctx.soon)
    out.push_back({"expires-soon", fmt::format("expires in {} days, on {}", (r.not_after - ctx.now) / 86400,
                                                format_rfc3339(r.not_after))});
}

CertSummary summarize_one(CertRow row, const LintContext& ctx, const ChainStatus& chain,
                          std::optional<std::int64_t> default_id, std::optional<std::int64_t> factory_id,
                          std::vector<std::string> ips, std::optional<RenewalState> renewal) {
  CertSummary s;
  s.has_key = row.key_id.has_value();
  s.is_default = default_id == row.id;
  s.factory_default = factory_id == row.id;
  s.ips = std::move(ips);
  s.warnings = row.static_warnings;
  add_time_warnings(row, ctx, s.warnings);
  if (!chain.complete)
    s.warnings.push_back({"chain-incomplete", fmt::format("issuer '{}' is not in the store", chain.missing)});
  if (row.role == Role::Leaf) {
    if (!s.has_key) s.warnings.push_back({"no-private-key", "no private key: it cannot be assigned or served"});
    if (!ctx.hostnames.empty()) {
      bool covered = false;
      for (const auto& h : ctx.hostnames) covered = covered || sans_cover(row.alt_names, h);
      if (!covered)
        s.warnings.push_back({"hostname-not-covered",
                              fmt::format("covers none of the appliance hostnames ({})", fmt::join(ctx.hostnames, ", "))});
    }
    if (s.has_key) s.renewal_due = due_time(row.not_before, row.not_after, RenewBefore{});
  }
  if (renewal && renewal->failed())
    s.warnings.push_back({"renewal-failed", fmt::format("the last renewal attempt ({}) failed: {}",
                                                        format_rfc3339(renewal->last_attempt.value_or(0)), renewal->last_error)});
  s.renewal = std::move(renewal);
  s.row = std::move(row);
  return s;
}

LintContext lint_context(const Store& store) { return {now(), 30 * 86400, appliance_hostnames(store)}; }

}  // namespace

std::vector<std::string> checked_hostnames(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& h : given) {
    San san = parse_san(h);
    if (san.type != SanType::DNS || san.value.starts_with("*."))
      fail(ErrorKind::BadInput, fmt::format("invalid hostname '{}': expected a DNS name", h),
           "an appliance hostname is a fully qualified DNS name, e.g. support.example.com");
    if (std::find(out.begin(), out.end(), san.value) == out.end()) out.push_back(san.value);
  }
  return out;
}

const std::string& checked_friendly_name(const std::string& name) {
  auto bad = [&](std::string_view why) {
    fail(ErrorKind::BadInput, fmt::format("invalid friendly name '{}': {}", name, why),
         "use 1 to 128 printable characters, e.g. --name www-2027");
  };
  if (name.empty()) bad("empty");
  if (name.size() > 128) bad("longer than 128 characters");
  if (name.front() == ' ' || name.back() == ' ') bad("leading or trailing space");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) bad("control character");
  return name;
}

void require_servable(const CertRow& row) {
  if (!row.key_id)
    fail(ErrorKind::Refused, fmt::format("'{}' has no private key: it cannot be served", row.friendly_name),
         "import its private key first (applctl cert import KEY.pem), or choose a certificate that has one");
  if (row.role != Role::Leaf)
    fail(ErrorKind::Refused, fmt::format("'{}' is a CA certificate ({}), not a server certificate", row.friendly_name,
                                         role_name(row.role)));
}

std::optional<std::int64_t> default_cert_id(const Store& store) { return setting_id(store, kDefaultCert); }
std::optional<std::int64_t> factory_cert_id(const Store& store) { return setting_id(store, kFactoryCert); }
void set_default_cert_id(Store& store, std::int64_t id) { store.set_setting(kDefaultCert, std::to_string(id)); }

std::vector<std::string> appliance_hostnames(const Store& store) {
  auto v = store.setting(kHostnames);
  if (!v) return {};
  return nlohmann::json::parse(*v).get<std::vector<std::string>>();
}

std::vector<CertSummary> summarize(const Store& store, std::vector<CertRow> rows) {
  const LintContext ctx = lint_context(store);
  const auto default_id = setting_id(store, kDefaultCert);
  const auto factory_id = setting_id(store, kFactoryCert);
  std::unordered_map<std::int64_t, std::vector<std::string>> ips;
  for (auto& ip : store.list_ips())
    if (ip.cert_id) ips[*ip.cert_id].push_back(std::move(ip.address));
  std::unordered_map<std::int64_t, RenewalState> renewals;
  for (auto& [id, state] : store.renewal_states()) renewals.emplace(id, std::move(state));
  // Chains are walked over an in-memory index of the whole table: one query, linear time.
  std::vector<CertRow> table;
  if (static_cast<std::int64_t>(rows.size()) != store.count_certs()) table = store.list_certs();
  const std::vector<CertRow>& all = table.empty() ? rows : table;
  std::unordered_multimap<std::string, const CertRow*> by_subject;
  for (const auto& r : all) by_subject.emplace(r.subject_hash, &r);
  IssuerLookup lookup = [&](const std::string& hash) {
    std::vector<const CertRow*> out;
    auto [b, e] = by_subject.equal_range(hash);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
    return out;
  };
  // Chains first: the index may point into rows, so nothing is moved out of rows until all are known.
  std::vector<ChainStatus> chains;
  chains.reserve(rows.size());
  for (const auto& row : rows) chains.push_back(chain_status(row, lookup, ctx.now));
  std::vector<CertSummary> out;
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CertRow& row = rows[i];
    const ChainStatus& chain = chains[i];
    auto it = ips.find(row.id);
    std::vector<std::string> row_ips = it != ips.end() ? std::move(it->second) : std::vector<std::string>{};
    std::optional<RenewalState> renewal;
    if (auto r = renewals.find(row.id); r != renewals.end()) renewal = std::move(r->second);
    out.push_back(summarize_one(std::move(row), ctx, chain, default_id, factory_id, std::move(row_ips), std::move(renewal)));
  }
  return out;
}

CertSummary summarize(const Store& store, CertRow row) {
  const LintContext ctx = lint_context(store);
  StoreChain walked = store_chain(store, row, ctx.now);
  ChainStatus chain{walked.complete, walked.missing};
  std::vector<std::string> row_ips;
  for (auto& ip : store.list_ips())
    if (ip.cert_id == row.id) row_ips.push_back(std::move(ip.address));
  auto renewal = store.renewal_state(row.id);
  return summarize_one(std::move(row), ctx, chain, setting_id(store, kDefaultCert), setting_id(store, kFactoryCert),
                       std::move(row_ips), std::move(renewal));
}

FactoryCertificate make_factory_certificate(const std::vector<std::string>& hostnames) {
  FactoryCertificate f{PrivateKey::generate(KeySpec::parse("ec:P-256")), {}, {}};
  Subject subject;
  subject.cn = hostnames.front();
  std::vector<San> sans;
  for (const auto& h : hostnames) sans.push_back({SanType::DNS, h});
  f.der = make_self_signed(f.key, {subject, sans, 3650, 0});
  f.info = inspect_certificate(f.der);
  return f;
}

std::int64_t install_factory_certificate(Store& store, const FactoryCertificate& factory) {
  std::int64_t key_id = store.insert_key(factory.key);
  std::int64_t id = store.insert_cert(factory.info, factory.der, kFactoryName, key_id, "factory");
  store.set_setting(kFactoryCert, std::to_string(id));
  store.set_setting(kDefaultCert, std::to_string(id));
  return id;
}

void set_factory_cert_id(Store& store, std::int64_t id) { store.set_setting(kFactoryCert, std::to_string(id)); }

void set_appliance_hostnames(Store& store, const std::vector<std::string>& hostnames) {
  store.set_setting(kHostnames, nlohmann::json(hostnames).dump());
}

std::vector<std::string> initial_hostnames(const Store& store) {
  std::vector<std::string> current = appliance_hostnames(store);
  return current.empty() ? checked_hostnames({machine_hostname()}) : current;
}

void replace_certificate(Store& store, const CertRow& old, std::int64_t new_id) {
  store.move_ips(old.id, new_id);
  if (default_cert_id(store) == old.id) set_default_cert_id(store, new_id);
  if (factory_cert_id(store) == old.id) set_factory_cert_id(store, new_id);
  store.move_renewal_state(old.id, new_id);
  store.remove_cert(old.id);
  if (old.key_id) store.remove_key_if_unused(*old.key_id);
}

std::vector<std::string> drop_certificate(Store& store, const CertRow& row) {
  auto factory = factory_cert_id(store);
  std::vector<std::string> moved;
  for (const auto& ip : store.list_ips())
    if (ip.cert_id == row.id) moved.push_back(ip.address);
  store.move_ips(row.id, factory);
  if (default_cert_id(store) == row.id && factory) set_default_cert_id(store, *factory);
  store.remove_cert(row.id);
  if (row.key_id) store.remove_key_if_unused(*row.key_id);
  return moved;
}

InitResult init_appliance(Store& store, const InitRequest& request) {
  std::vector<std::string> wanted = checked_hostnames(request.hostnames);
  auto tx = store.write("init");
  InitResult result;
  std::vector<std::string> current = appliance_hostnames(store);
  const bool has_factory = setting_id(store, kFactoryCert).has_value();
  if (wanted.empty()) wanted = has_factory ? current : initial_hostnames(store);
  if (wanted != current) {
    set_appliance_hostnames(store, wanted);
    result.hostnames_changed = true;
    tx.touch("hostnames:" + fmt::format("{}", fmt::join(wanted, ",")));
  }
  if (!has_factory) {
    install_factory_certificate(store, make_factory_certificate(wanted));
    tx.touch("cert:" + std::string(kFactoryName));
    result.created = true;
  }
  if (result.created || result.hostnames_changed) tx.commit();
  result.hostnames = wanted;
  auto factory = store.cert_by_id(*setting_id(store, kFactoryCert));
  result.factory = summarize(store, std::move(*factory));
  return result;
}

void ensure_initialized(Store& store) {
  if (!store.setting(kFactoryCert)) init_appliance(store, {});
}

StatusResult appliance_status(const Store& store) {
  StatusResult s;
  s.store = store.dir().string();
  s.initialized = store.setting(kFactoryCert).has_value();
  s.hostnames = appliance_hostnames(store);
  s.certificates = store.count_certs();
  s.requests = store.count_requests();
  s.unattached_keys = store.count_unattached_keys();
  if (auto id = setting_id(store, kDefaultCert))
    if (auto row = store.cert_by_id(*id)) s.default_cert = summarize(store, std::move(*row));
  if (auto id = setting_id(store, kFactoryCert))
    if (auto row = store.cert_by_id(*id)) s.factory = summarize(store, std::move(*row));
  for (auto& ip : store.list_ips()) {
    IpView v{ip.address, {}, {}};
    if (ip.cert_id)
      if (auto row = store.cert_by_id(*ip.cert_id)) {
        v.certificate = row->friendly_name;
        v.fingerprint_sha256 = row->fingerprint_sha256;
      }
    s.ips.push_back(std::move(v));
  }
  s.soonest_expiry = store.soonest_expiry();
  // Renewal: the next leaf with its key to become due, and those whose last attempt failed.
  for (const auto& c : store.renewal_candidates()) {
    if (c.role != Role::Leaf || !c.has_key) continue;
    UnixTime due = due_time(c.not_before, c.not_after, RenewBefore{});
    if (!s.next_renewal || due < s.next_renewal->due) s.next_renewal = RenewalDue{c.friendly_name, due};
  }
  for (const auto& [id, state] : store.renewal_states())
    if (state.failed())
      if (auto row = store.cert_by_id(id)) s.renewal_failed.push_back({row->friendly_name, state.last_error});
  // Only `status` reads the KMIP settings file; nothing of it but the server is used here.
  if (auto kmip = load_kmip_config(store.dir())) {
    s.kmip_configured = true;
    s.kmip_server = kmip->server();
    s.encrypted = store_encrypted(store.dir());
    if (s.encrypted) s.encryption_key_uid = kmip->encryption_key_uid;
  }
  return s;
}

}  // namespace applctl
