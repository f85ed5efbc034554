// applctl doctor: every invariant of the store, checked by reading it (see applctl/services/doctor.hpp).
#include "applctl/services/doctor.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "applctl/services/appliance.hpp"
#include "applctl/store/settings.hpp"
#include "applctl/codec/codec.hpp"
#include "store/sqlite.hpp"

namespace applctl {

namespace {

// Collects the problems of one check; the detail names the first few and counts the rest.
class Findings {
 public:
  void add(std::string problem) {
    if (shown_.size() < kShown) shown_.push_back(std::move(problem));
    ++count_;
  }
  bool empty() const { return count_ == 0; }
  std::string str() const {
    std::string out = fmt::format("{}", fmt::join(shown_, "; "));
    if (count_ > shown_.size()) out += fmt::format("; and {} more", count_ - shown_.size());
    return out;
  }

 private:
  static constexpr std::size_t kShown = 5;
  std::vector<std::string> shown_;
  std::size_t count_ = 0;
};

DoctorCheck verdict(std::string name, const Findings& f, std::string ok_detail) {
  return {std::move(name), f.empty(), f.empty() ? std::move(ok_detail) : f.str()};
}

// Every column of the certificates table that is derived from the DER.
struct StoredCert {
  std::int64_t id = 0;
  std::string name;
  Bytes der;
  std::optional<std::int64_t> key_id;
  std::string chain_mode;
  std::optional<std::string> chain_pem;
  std::map<std::string, std::string> columns;  // column -> stored value, as text
};

constexpr const char* kDerivedColumns[] = {
    "fingerprint_sha256", "issued_to",  "issued_by", "subject",   "issuer",      "subject_hash",
    "issuer_hash",        "subject_key_id", "authority_key_id", "spki_sha256", "serial", "not_before",
    "not_after",          "alt_names",  "role",      "self_signed"};

std::map<std::string, std::string> columns_of(const CertInfo& c) {
  return {{"fingerprint_sha256", c.fingerprint_sha256},
          {"issued_to", c.issued_to},
          {"issued_by", c.issued_by},
          {"subject", c.subject},
          {"issuer", c.issuer},
          {"subject_hash", c.subject_hash},
          {"issuer_hash", c.issuer_hash},
          {"subject_key_id", c.subject_key_id},
          {"authority_key_id", c.authority_key_id},
          {"spki_sha256", c.spki_sha256},
          {"serial", c.serial},
          {"not_before", std::to_string(c.not_before)},
          {"not_after", std::to_string(c.not_after)},
          // The SANs as the store keeps them (a JSON array since schema 4): a SAN split in two by
          // its content, or one the DER does not have, differs here.
          {"alt_names", alt_names_column(c.alt_names)},
          {"role", std::string(role_name(c.role))},
          {"self_signed", c.self_signed ? "1" : "0"}};
}

std::vector<StoredCert> read_certs(sql::Db& db) {
  std::string cols;
  for (const char* c : kDerivedColumns) cols += fmt::format(", CAST({} AS TEXT)", c);
  auto q = db.prepare(fmt::format("SELECT id, friendly_name, der, key_id, chain_mode, chain_pem{} FROM certificates ORDER BY id", cols));
  std::vector<StoredCert> out;
  while (q.step()) {
    StoredCert c;
    c.id = q.int64(0);
    c.name = q.text(1);
    c.der = q.blob(2);
    if (!q.is_null(3)) c.key_id = q.int64(3);
    c.chain_mode = q.text(4);
    if (!q.is_null(5)) c.chain_pem = q.text(5);
    int col = 6;
    for (const char* name : kDerivedColumns) c.columns[name] = q.text(col++);
    out.push_back(std::move(c));
  }
  return out;
}

std::string cert_label(const StoredCert& c) { return fmt::format("certificate {} '{}'", c.id, printable(c.name)); }

DoctorCheck check_integrity(sql::Db& db) {
  auto q = db.prepare("PRAGMA integrity_check");
  Findings f;
  while (q.step())
    if (q.text_view(0) != "ok") f.add(q.text(0));
  return verdict("integrity", f, "PRAGMA integrity_check: ok");
}

DoctorCheck check_foreign_keys(sql::Db& db) {
  auto q = db.prepare("PRAGMA foreign_key_check");
  Findings f;
  while (q.step())
    f.add(fmt::format("{} row {} points at a missing {} row", q.text(0), q.is_null(1) ? std::string("?") : q.text(1), q.text(2)));
  return verdict("foreign-keys", f, "PRAGMA foreign_key_check: no violation");
}

DoctorCheck check_schema(sql::Db& db) {
  Findings f;
  auto exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.step()) {
    f.add("no schema_version table");
  } else {
    auto q = db.prepare("SELECT version FROM schema_version");
    std::vector<std::int64_t> versions;
    while (q.step()) versions.push_back(q.int64(0));
    if (versions.size() != 1)
      f.add(fmt::format("schema_version has {} rows, not one", versions.size()));
    else if (versions[0] != store_schema_version())
      f.add(fmt::format("schema version {}, this applctl knows {}", versions[0], store_schema_version()));
  }
  return verdict("schema-version", f, fmt::format("version {}", store_schema_version()));
}

DoctorCheck check_cert_columns(const std::vector<StoredCert>& certs, std::map<std::int64_t, std::string>& spki_of) {
  Findings f;
  for (const auto& c : certs) {
    CertInfo info;
    try {
      info = inspect_certificate(c.der);
    } catch (const Error& e) {
      f.add(fmt::format("{}: its DER does not parse: {}", cert_label(c), e.what()));
      continue;
    }
    spki_of[c.id] = info.spki_sha256;
    const auto derived = columns_of(info);
    std::vector<std::string> differ;
    for (const char* name : kDerivedColumns)
      if (derived.at(name) != c.columns.at(name)) differ.emplace_back(name);
    if (!differ.empty()) {
      std::string sans;
      if (std::find(differ.begin(), differ.end(), "alt_names") != differ.end()) {
        const auto stored = parse_alt_names_column(c.columns.at("alt_names"));
        sans = stored ? fmt::format(" (stored SANs: {}; in the DER: {})", stored->size(), info.alt_names.size())
                      : " (the stored alt_names is not a JSON array of SANs)";
      }
      f.add(fmt::format("{}: stored {} differ from its DER{}", cert_label(c), fmt::join(differ, ", "), sans));
    }
  }
  return verdict("certificate-columns", f, fmt::format("{} certificates parsed, their columns agree with their DER", certs.size()));
}

struct StoredKey {
  std::string spki_column;
  std::string spki;  // recomputed from the PKCS#8; "" when it does not parse
};

std::map<std::int64_t, StoredKey> read_keys(sql::Db& db, Findings& f) {
  std::map<std::int64_t, StoredKey> out;
  auto q = db.prepare("SELECT id, spki_sha256, pkcs8 FROM keys ORDER BY id");
  while (q.step()) {
    StoredKey k;
    k.spki_column = q.text(1);
    Bytes der = q.blob(2);
    try {
      k.spki = PrivateKey::from_pkcs8_der(der).spki_sha256();
    } catch (const Error&) {
      f.add(fmt::format("key {}: its PKCS#8 does not parse", q.int64(0)));
    }
    OPENSSL_cleanse(der.data(), der.size());
    if (!k.spki.empty() && k.spki != k.spki_column)
      f.add(fmt::format("key {}: stored spki_sha256 differs from its key", q.int64(0)));
    out.emplace(q.int64(0), std::move(k));
  }
  return out;
}

DoctorCheck check_cert_keys(const std::vector<StoredCert>& certs, const std::map<std::int64_t, StoredKey>& keys,
                            const std::map<std::int64_t, std::string>& spki_of) {
  Findings f;
  int linked = 0;
  for (const auto& c : certs) {
    if (!c.key_id) continue;
    ++linked;
    auto k = keys.find(*c.key_id);
    if (k == keys.end()) {
      f.add(fmt::format("{}: its key {} is not in the store", cert_label(c), *c.key_id));
      continue;
    }
    auto spki = spki_of.find(c.id);
    if (spki != spki_of.end() && !k->second.spki.empty() && spki->second != k->second.spki)
      f.add(fmt::format("{}: its key {} is not the key of its public key", cert_label(c), *c.key_id));
  }
  return verdict("certificate-keys", f, fmt::format("{} linked keys match their certificates", linked));
}

DoctorCheck check_requests(sql::Db& db, const std::map<std::int64_t, StoredKey>& keys, const std::set<std::int64_t>& cert_ids) {
  Findings f;
  auto q = db.prepare("SELECT id, friendly_name, key_id, spki_sha256, renews_certificate_id FROM requests ORDER BY id");
  int n = 0;
  while (q.step()) {
    ++n;
    const std::string label = fmt::format("request {} '{}'", q.int64(0), q.text(1));
    auto k = keys.find(q.int64(2));
    if (k == keys.end())
      f.add(fmt::format("{}: its key {} is not in the store", label, q.int64(2)));
    else if (!k->second.spki.empty() && k->second.spki != q.text(3))
      f.add(fmt::format("{}: its key {} is not the key of the request", label, q.int64(2)));
    if (!q.is_null(4) && cert_ids.count(q.int64(4)) == 0)
      f.add(fmt::format("{}: renews certificate {}, which is not in the store", label, q.int64(4)));
  }
  return verdict("request-keys", f, fmt::format("{} requests, each with its key", n));
}

DoctorCheck check_ips(sql::Db& db, const std::set<std::int64_t>& cert_ids) {
  Findings f;
  auto q = db.prepare("SELECT address, certificate_id FROM ip_addresses ORDER BY address");
  int n = 0;
  while (q.step()) {
    ++n;
    if (!q.is_null(1) && cert_ids.count(q.int64(1)) == 0)
      f.add(fmt::format("address {}: certificate {} is not in the store", q.text(0), q.int64(1)));
  }
  return verdict("ip-assignments", f, fmt::format("{} addresses, each served by a stored certificate", n));
}

// A setting that names a row by its id: absent, or the id of an existing row.
std::optional<std::int64_t> stored_setting_id(const Store& store, const char* key, Findings& f) {
  auto v = store.setting(key);
  if (!v) return std::nullopt;
  try {
    std::size_t used = 0;
    std::int64_t id = std::stoll(*v, &used);
    if (used == v->size()) return id;
  } catch (const std::exception&) {
  }
  f.add(fmt::format("setting {} is '{}', not an id", key, *v));
  return std::nullopt;
}

DoctorCheck check_default(const Store& store, const std::vector<StoredCert>& certs, const std::set<std::int64_t>& cert_ids) {
  Findings f;
  auto def = stored_setting_id(store, settings::kDefaultCert, f);
  auto factory = stored_setting_id(store, settings::kFactoryCert, f);
  if (!certs.empty() && !def && f.empty()) f.add("the store has certificates but no default certificate");
  if (def && cert_ids.count(*def) == 0) f.add(fmt::format("the default certificate {} is not in the store", *def));
  if (factory && cert_ids.count(*factory) == 0) f.add(fmt::format("the factory default certificate {} is not in the store", *factory));
  std::string ok = "no certificates, no default";
  if (def) {
    auto it = std::find_if(certs.begin(), certs.end(), [&](const StoredCert& c) { return c.id == *def; });
    if (it != certs.end() && !it->key_id) f.add(fmt::format("the default {} has no private key", cert_label(*it)));
    ok = fmt::format("one default: '{}'", it != certs.end() ? it->name : std::string());
  }
  return verdict("default-certificate", f, ok);
}

DoctorCheck check_renewals(sql::Db& db, const std::set<std::int64_t>& cert_ids) {
  Findings f;
  auto q = db.prepare("SELECT certificate_id FROM renewals ORDER BY certificate_id");
  int n = 0;
  while (q.step()) {
    ++n;
    if (cert_ids.count(q.int64(0)) == 0) f.add(fmt::format("renewal state of certificate {}, which is not in the store", q.int64(0)));
  }
  return verdict("renewals", f, fmt::format("{} renewal rows, each of a stored certificate", n));
}

DoctorCheck check_chains(const std::vector<StoredCert>& certs) {
  Findings f;
  int fixed = 0;
  for (const auto& c : certs) {
    if (c.chain_mode == "automatic") {
      if (c.chain_pem && !c.chain_pem->empty()) f.add(fmt::format("{}: automatic chain mode with a stored chain", cert_label(c)));
      continue;
    }
    if (c.chain_mode != "current" && c.chain_mode != "manual") {
      f.add(fmt::format("{}: unknown chain mode '{}'", cert_label(c), c.chain_mode));
      continue;
    }
    ++fixed;
    if (!c.chain_pem || c.chain_pem->empty()) continue;  // a chain of the certificate alone
    try {
      Decoded d = decode_any(as_bytes(*c.chain_pem), fmt::format("stored chain of '{}'", c.name), {});
      if (!d.keys.empty() || d.certificates.empty()) f.add(fmt::format("{}: its stored chain holds no certificates", cert_label(c)));
    } catch (const Error& e) {
      f.add(fmt::format("{}: its stored chain does not parse: {}", cert_label(c), e.what()));
    }
  }
  return verdict("chains", f, fmt::format("{} fixed chains parse", fixed));
}

DoctorCheck check_acme_key(const Store& store, const std::map<std::int64_t, StoredKey>& keys) {
  Findings f;
  auto id = stored_setting_id(store, "acme.account_key_id", f);
  if (id && keys.count(*id) == 0) f.add(fmt::format("the ACME account key {} is not in the store", *id));
  return verdict("acme-account-key", f, id ? "the account key is stored" : "no ACME account");
}

// Runs one check; a store SQLite cannot read turns into a failed check, not an exception.
void run_check(DoctorReport& r, const std::string& name, const std::function<DoctorCheck()>& check) {
  try {
    r.checks.push_back(check());
  } catch (const Error& e) {
    r.checks.push_back({name, false, e.what()});
  }
}

}  // namespace

int DoctorReport::problems() const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [](const DoctorCheck& c) { return !c.ok; }));
}

DoctorReport check_store(const Store& store) {
  DoctorReport r;
  sql::Db& db = store.db();
  run_check(r, "integrity", [&] { return check_integrity(db); });
  run_check(r, "foreign-keys", [&] { return check_foreign_keys(db); });
  run_check(r, "schema-version", [&] { return check_schema(db); });
  std::vector<StoredCert> certs;
  try {
    certs = read_certs(db);
  } catch (const Error& e) {
    r.checks.push_back({"certificates", false, e.what()});
    return r;
  }
  std::set<std::int64_t> cert_ids;
  for (const auto& c : certs) cert_ids.insert(c.id);
  std::map<std::int64_t, std::string> spki_of;
  run_check(r, "certificate-columns", [&] { return check_cert_columns(certs, spki_of); });
  Findings key_findings;
  std::map<std::int64_t, StoredKey> keys;
  run_check(r, "keys", [&] {
    keys = read_keys(db, key_findings);
    return verdict("keys", key_findings, fmt::format("{} keys parse and match their spki_sha256", keys.size()));
  });
  run_check(r, "certificate-keys", [&] { return check_cert_keys(certs, keys, spki_of); });
  run_check(r, "request-keys", [&] { return check_requests(db, keys, cert_ids); });
  run_check(r, "ip-assignments", [&] { return check_ips(db, cert_ids); });
  run_check(r, "default-certificate", [&] { return check_default(store, certs, cert_ids); });
  run_check(r, "renewals", [&] { return check_renewals(db, cert_ids); });
  run_check(r, "chains", [&] { return check_chains(certs); });
  run_check(r, "acme-account-key", [&] { return check_acme_key(store, keys); });
  return r;
}

}  // namespace applctl
