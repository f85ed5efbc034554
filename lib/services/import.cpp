// `cert import`: decode everything first, then one transaction that links keys and fulfils
// requests (see applctl/services/import.hpp).
#include "applctl/services/import.hpp"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

namespace applctl {

namespace {

struct Incoming {
  Bytes der;
  CertInfo info;
  std::string file;
  std::string suggested_name;  // a PKCS#12's friendlyName for its key's certificate
};

[[noreturn]] void rethrow_for(const std::string& file, const Error& e) {
  std::string msg = e.what();
  if (msg.find(file) == std::string::npos) msg = fmt::format("cannot read '{}': {}", file, msg);
  throw Error(e.kind() == ErrorKind::Failed ? ErrorKind::BadInput : e.kind(), msg, e.hint());
}

// The name a PKCS#12 gave its certificate (a failover copy keeps its name), when it is a valid
// friendly name that is free; else one made from the subject.
DerivedName name_for(const Store& store, const Incoming& c) {
  if (!c.suggested_name.empty() && !store.cert_by_name(c.suggested_name)) {
    try {
      return {checked_friendly_name(c.suggested_name), {}};
    } catch (const Error&) {
      // not a valid name here: fall back
    }
  }
  return import_name(store, c.info);
}

std::optional<RequestRow> pending_request_for(const Store& store, const std::string& spki) {
  for (auto& r : store.list_requests())
    if (r.spki_sha256 == spki) return r;
  return std::nullopt;
}

}  // namespace

DerivedName import_name(const Store& store, const CertInfo& info) {
  DerivedName d = derived_friendly_name(info.issued_to);
  if (store.cert_by_name(d.name)) d.name += "-" + info.fingerprint_sha256.substr(0, 8);
  checked_friendly_name(d.name);  // derived_friendly_name's promise, kept
  return d;
}

ImportResult import_files(Store& store, const ImportRequest& request) {
  if (request.files.empty()) fail(ErrorKind::Usage, "cert import needs at least one FILE");
  if (request.name) checked_friendly_name(*request.name);
  std::vector<std::pair<std::string, Decoded>> inputs;
  for (const auto& file : request.files) {
    try {
      Bytes data = read_file(file);
      inputs.emplace_back(file, decode_any(data, file, request.passphrase, request.passphrase_given));
    } catch (const Error& e) {
      rethrow_for(file, e);
    }
  }
  return import_decoded(store, std::move(inputs), request.name, "imported", "cert import");
}

ImportResult import_decoded(Store& store, std::vector<std::pair<std::string, Decoded>> inputs,
                            const std::optional<std::string>& name_given, std::string_view source,
                            std::string_view command, std::string_view acme_origin) {
  if (name_given) checked_friendly_name(*name_given);
  // 1. Check every input before touching the store.
  std::vector<Incoming> certs;
  std::vector<PrivateKey> keys;
  std::unordered_set<std::string> seen_certs, seen_keys;
  for (auto& [file, d] : inputs) {
    std::vector<CertInfo> infos;
    try {
      for (const auto& der : d.certificates) infos.push_back(inspect_certificate(der));
    } catch (const Error& e) {
      rethrow_for(file, e);
    }
    for (const auto& key : d.keys) {
      std::string spki = key.spki_sha256();
      if (!d.certificates.empty() &&
          std::none_of(infos.begin(), infos.end(), [&](const CertInfo& i) { return i.spki_sha256 == spki; }))
        fail(ErrorKind::BadInput, fmt::format("cannot import '{}': its private key does not match its certificate", file),
             "import the key that belongs to this certificate, or the certificate and key from separate files");
      if (seen_keys.insert(spki).second) keys.push_back(key);
    }
    for (std::size_t i = 0; i < d.certificates.size(); ++i)
      if (seen_certs.insert(infos[i].fingerprint_sha256).second)
        certs.push_back({std::move(d.certificates[i]), std::move(infos[i]), file, i == 0 ? d.friendly_name : ""});
  }
  if (name_given) {
    auto leaves = std::count_if(certs.begin(), certs.end(), [](const Incoming& c) { return c.info.role == Role::Leaf; });
    if (leaves != 1)
      fail(ErrorKind::Usage, fmt::format("--name names one server certificate, but the input has {}", leaves),
           "import several server certificates without --name, or one at a time");
  }

  // 2. One transaction for everything.
  ensure_initialized(store);
  auto tx = store.write(std::string(command));
  ImportResult result;
  std::unordered_set<std::string> incoming_certs;
  for (const auto& c : certs) incoming_certs.insert(c.info.fingerprint_sha256);
  for (const auto& key : keys) {
    if (store.find_key(key.spki_sha256())) continue;
    std::int64_t key_id = store.insert_key(key);
    ++result.keys_added;
    tx.touch("key:" + key.spki_sha256().substr(0, 16));
    // A key that arrives after its certificate is linked to it now.
    for (auto& row : store.certs_by_spki(key.spki_sha256())) {
      if (row.key_id || incoming_certs.contains(row.fingerprint_sha256)) continue;
      store.set_cert_key(row.id, key_id);
      row.key_id = key_id;
      tx.touch("cert:" + row.friendly_name);
      ImportedCert linked;
      linked.status = "linked";
      linked.summary.row = std::move(row);
      result.certificates.push_back(std::move(linked));
    }
  }
  for (auto& c : certs) {
    ImportedCert out;
    std::optional<std::int64_t> key_id = store.find_key(c.info.spki_sha256);
    if (auto existing = store.cert_by_fingerprint(c.info.fingerprint_sha256)) {
      out.status = "exists";
      if (!existing->key_id && key_id) {
        store.set_cert_key(existing->id, *key_id);
        existing->key_id = key_id;
        out.status = "linked";
        tx.touch("cert:" + existing->friendly_name);
      }
      out.summary.row = std::move(*existing);
      result.certificates.push_back(std::move(out));
      continue;
    }
    std::optional<RequestRow> fulfils;
    if (c.info.role == Role::Leaf) fulfils = pending_request_for(store, c.info.spki_sha256);
    // A renewal request (cert renew) names the certificate its signed result replaces.
    std::optional<CertRow> renews;
    if (fulfils && fulfils->renews_certificate_id) renews = store.cert_by_id(*fulfils->renews_certificate_id);
    DerivedName derived;
    const bool derive = !(name_given && c.info.role == Role::Leaf) && !renews && !fulfils;
    if (derive) derived = name_for(store, c);
    std::string name = name_given && c.info.role == Role::Leaf ? *name_given
                       : renews                                  ? renews->friendly_name
                       : fulfils                                 ? fulfils->friendly_name
                                                                 : derived.name;
    out.name_changes = std::move(derived.changes);
    std::optional<CertRow> replaced = store.cert_by_name(name);
    if (replaced && !fulfils)
      fail(ErrorKind::Refused, fmt::format("a certificate named '{}' already exists", name),
           "choose another --name, or rename or remove the existing one");
    if (replaced) store.rename_cert(replaced->id, name + " (replaced " + replaced->fingerprint_sha256.substr(0, 8) + ")");
    std::int64_t id = store.insert_cert(c.info, c.der, name, key_id, c.info.role == Role::Leaf ? source : "imported");
    if (replaced) {
      // The signed renewal of a certificate takes its place: name, IP addresses and default flag.
      replace_certificate(store, *replaced, id);
      out.replaced = replaced->fingerprint_sha256;
      out.replaced_name = name;
      if (renews && renews->id == replaced->id) store.record_renewal_attempt(id, now(), "");
    }
    if (!acme_origin.empty() && c.info.role == Role::Leaf) store.set_renewal_origin(id, "acme", acme_origin);
    if (fulfils) {
      store.remove_request(fulfils->id);
      out.fulfilled_request = fulfils->friendly_name;
    }
    out.status = "added";
    out.summary.row = *store.cert_by_id(id);
    tx.touch(fmt::format("cert:{}:{}", name, c.info.fingerprint_sha256.substr(0, 16)));
    result.certificates.push_back(std::move(out));
  }
  tx.commit();

  std::vector<CertRow> rows;
  for (auto& c : result.certificates) rows.push_back(*store.cert_by_id(c.summary.row.id));
  auto summaries = summarize(store, std::move(rows));
  for (std::size_t i = 0; i < summaries.size(); ++i) result.certificates[i].summary = std::move(summaries[i]);
  for (const auto& key : keys)
    if (store.certs_by_spki(key.spki_sha256()).empty()) result.unattached_keys.push_back(key.spki_sha256());
  return result;
}

}  // namespace applctl
