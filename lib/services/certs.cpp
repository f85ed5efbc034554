// Certificate services: self-signed, list, show, check, rename, remove, default (see
// applctl/services/certs.hpp).
#include "applctl/services/certs.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace applctl {

namespace {

std::string audit_name(const CertRow& row) {
  return fmt::format("cert:{}:{}", row.friendly_name, row.fingerprint_sha256.substr(0, 16));
}

}  // namespace

CertSummary create_self_signed(Store& store, const SelfSignedRequest& request) {
  // Validate and do the slow work (key generation, signing) before taking the store's lock.
  checked_friendly_name(request.name);
  Subject subject = validated(request.subject);
  std::vector<San> sans = build_sans(subject, request.sans);
  PrivateKey key = PrivateKey::generate(request.key);
  Bytes der = make_self_signed(key, {subject, sans, request.days, 0});
  CertInfo info = inspect_certificate(der);

  ensure_initialized(store);
  auto tx = store.write("cert self-signed");
  std::int64_t key_id = store.insert_key(key);
  std::int64_t id = store.insert_cert(info, der, request.name, key_id, "self-signed");
  CertRow row = *store.cert_by_id(id);
  tx.touch(audit_name(row));
  tx.commit();
  return summarize(store, std::move(row));
}

std::vector<CertSummary> list_certificates(const Store& store) { return summarize(store, store.list_certs()); }

CertDetails show_certificate(const Store& store, std::string_view ref) {
  CertRow row = store.resolve_cert(ref);
  CertInfo info = inspect_certificate(store.cert_der(row.id));  // show prints what only the DER has
  CertDetails d;
  d.serial = info.serial;
  d.signature_algorithm = info.signature_algorithm;
  d.public_key = info.public_key;
  d.chain.mode = row.chain_mode;
  const UnixTime t = now();
  if (row.chain_mode == "automatic") {
    StoreChain chain = store_chain(store, row, t);
    for (const auto& c : chain.certificates) d.chain.certificates.push_back(c.fingerprint_sha256);
    d.chain.complete = chain.complete;
  } else {
    std::vector<Bytes> extra = chain_for_export(store, row);
    d.chain.certificates.push_back(row.fingerprint_sha256);
    for (const auto& der : extra) d.chain.certificates.push_back(sha256_hex(der));
    d.chain.complete = extra.empty() ? info.self_signed : inspect_certificate(extra.back()).self_signed;
  }
  d.summary = summarize(store, std::move(row));
  return d;
}

CheckResult check_certificates(const Store& store, const CheckRequest& request) {
  CheckResult result;
  result.checked_at = now();
  result.window = request.window;
  std::vector<CertRow> rows;
  if (request.refs.empty()) {
    rows = store.list_certs();
  } else {
    // Every named certificate is reported, the unknown ones too (style: report all, worst code).
    for (const auto& ref : request.refs) {
      try {
        rows.push_back(store.resolve_cert(ref));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::NotFound && e.kind() != ErrorKind::Refused) throw;
        CheckEntry missing;
        missing.row.friendly_name = ref;
        missing.status = e.kind() == ErrorKind::NotFound ? "not-found" : "ambiguous";
        missing.error = e.what();
        result.unresolved = true;
        result.entries.push_back(std::move(missing));
      }
    }
  }
  for (auto& row : rows) {
    CheckEntry e;
    e.seconds_left = row.not_after - result.checked_at;
    if (e.seconds_left < 0) e.status = "expired";
    else if (result.checked_at < row.not_before) e.status = "not-yet-valid";
    else if (e.seconds_left <= request.window) e.status = "expires-soon";
    else e.status = "ok";
    result.attention = result.attention || e.status == "expired" || e.status == "expires-soon";
    e.row = std::move(row);
    result.entries.push_back(std::move(e));
  }
  return result;
}

CertSummary rename_certificate(Store& store, std::string_view ref, std::string_view new_name) {
  checked_friendly_name(std::string(new_name));
  auto tx = store.write("cert rename");
  CertRow row = store.resolve_cert(ref);
  tx.touch(audit_name(row));
  store.rename_cert(row.id, new_name);
  row.friendly_name = std::string(new_name);
  tx.touch(audit_name(row));
  tx.commit();
  return summarize(store, std::move(row));
}

RemoveResult remove_certificate(Store& store, std::string_view ref, bool force) {
  auto tx = store.write("cert remove");
  RemoveResult result;
  result.removed = store.resolve_cert(ref);
  const CertRow& row = result.removed;
  auto factory = factory_cert_id(store);
  if (factory == row.id)
    fail(ErrorKind::Refused, fmt::format("'{}' is the factory default certificate", row.friendly_name),
         "new IP addresses are served by it; it cannot be removed");
  std::vector<std::string> ips;
  for (const auto& ip : store.list_ips())
    if (ip.cert_id == row.id) ips.push_back(ip.address);
  if (!ips.empty() && !force)
    fail(ErrorKind::Refused,
         fmt::format("'{}' is assigned to {}", row.friendly_name, fmt::join(ips, ", ")),
         "assign those addresses to another certificate first, or pass --force to move them back to the "
         "factory default certificate");
  result.was_default = default_cert_id(store) == row.id;
  result.moved_ips = drop_certificate(store, row);
  tx.touch(audit_name(row));
  tx.commit();
  return result;
}

CertSummary set_default_certificate(Store& store, std::string_view ref) {
  auto tx = store.write("cert default");
  CertRow row = store.resolve_cert(ref);
  require_servable(row);
  set_default_cert_id(store, row.id);
  tx.touch(audit_name(row));
  tx.commit();
  return summarize(store, std::move(row));
}

}  // namespace applctl
