// Certificates, requests and IP addresses in the store. Lists read stored columns only: nothing
// here parses a certificate.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "applctl/store/store.hpp"
#include "store/columns.hpp"
#include "store/sqlite.hpp"

namespace applctl {

std::string alt_names_column(const std::vector<std::string>& alt_names) { return nlohmann::json(alt_names).dump(); }

std::optional<std::vector<std::string>> parse_alt_names_column(std::string_view column) {
  const nlohmann::json j = nlohmann::json::parse(column, nullptr, false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

namespace {

std::vector<std::string> read_alt_names(std::string_view column) {
  return parse_alt_names_column(column).value_or(std::vector<std::string>{});
}

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::string encode_warnings(const std::vector<Warning>& ws) {
  std::vector<std::string> lines;
  for (const auto& w : ws) lines.push_back(w.code + '\t' + w.message);
  return join_lines(lines);
}

std::vector<Warning> decode_warnings(std::string_view text) {
  std::vector<Warning> out;
  for (auto& line : split_lines(text)) {
    auto tab = line.find('\t');
    out.push_back({line.substr(0, tab), tab == std::string::npos ? std::string() : line.substr(tab + 1)});
  }
  return out;
}

namespace {

constexpr const char* kCertColumns =
    "id, friendly_name, fingerprint_sha256, issued_to, issued_by, subject, issuer, subject_hash, issuer_hash,"
    " subject_key_id, authority_key_id, spki_sha256, serial, not_before, not_after, created, alt_names, role,"
    " self_signed, key_id, warnings, source, chain_mode FROM certificates";

CertRow read_cert(const sql::Stmt& q) {
  CertRow r;
  r.id = q.int64(0);
  r.friendly_name = q.text(1);
  r.fingerprint_sha256 = q.text(2);
  r.issued_to = q.text(3);
  r.issued_by = q.text(4);
  r.subject = q.text(5);
  r.issuer = q.text(6);
  r.subject_hash = q.text(7);
  r.issuer_hash = q.text(8);
  r.subject_key_id = q.text(9);
  r.authority_key_id = q.text(10);
  r.spki_sha256 = q.text(11);
  r.serial = q.text(12);
  r.not_before = q.int64(13);
  r.not_after = q.int64(14);
  r.created = q.int64(15);
  r.alt_names = read_alt_names(q.text_view(16));
  r.role = parse_role(q.text_view(17));
  r.self_signed = q.int64(18) != 0;
  if (!q.is_null(19)) r.key_id = q.int64(19);
  r.static_warnings = decode_warnings(q.text_view(20));
  r.source = q.text(21);
  r.chain_mode = q.text(22);
  return r;
}

std::vector<CertRow> query_certs(const sql::Db& db, std::string_view where, auto&&... binds) {
  auto q = const_cast<sql::Db&>(db).prepare(fmt::format("SELECT {} {}", kCertColumns, where));
  int i = 0;
  (q.bind(++i, binds), ...);
  std::vector<CertRow> out;
  while (q.step()) out.push_back(read_cert(q));
  return out;
}

constexpr const char* kRequestColumns =
    "id, friendly_name, subject, alt_names, fingerprint_sha256, spki_sha256, key_spec, key_id, created,"
    " renews_certificate_id FROM requests";

RequestRow read_request(const sql::Stmt& q) {
  RequestRow r;
  r.id = q.int64(0);
  r.friendly_name = q.text(1);
  r.subject = q.text(2);
  r.alt_names = read_alt_names(q.text_view(3));
  r.fingerprint_sha256 = q.text(4);
  r.spki_sha256 = q.text(5);
  r.key_spec = q.text(6);
  r.key_id = q.int64(7);
  r.created = q.int64(8);
  if (!q.is_null(9)) r.renews_certificate_id = q.int64(9);
  return r;
}

bool is_hex_ref(std::string_view s) {
  return s.size() >= 8 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// A certificate's content, fingerprint_sha256 through warnings in the column order of
// insert_cert and replace_cert_in_place, bound from parameter `first` on.
sql::Stmt& bind_content(sql::Stmt& q, int first, const CertInfo& c, BytesView der, std::optional<std::int64_t> key_id) {
  return q.bind(first, c.fingerprint_sha256)
      .bind(first + 1, der)
      .bind(first + 2, key_id)
      .bind(first + 3, c.issued_to)
      .bind(first + 4, c.issued_by)
      .bind(first + 5, c.subject)
      .bind(first + 6, c.issuer)
      .bind(first + 7, c.subject_hash)
      .bind(first + 8, c.issuer_hash)
      .bind(first + 9, c.subject_key_id)
      .bind(first + 10, c.authority_key_id)
      .bind(first + 11, c.spki_sha256)
      .bind(first + 12, c.serial)
      .bind(first + 13, c.not_before)
      .bind(first + 14, c.not_after)
      .bind(first + 15, alt_names_column(c.alt_names))
      .bind(first + 16, role_name(c.role))
      .bind(first + 17, std::int64_t{c.self_signed})
      .bind(first + 18, encode_warnings(c.static_warnings));
}

}  // namespace

std::int64_t Store::insert_cert(const CertInfo& c, BytesView der, std::string_view friendly_name,
                                std::optional<std::int64_t> key_id, std::string_view source) {
  if (cert_by_name(friendly_name))
    fail(ErrorKind::Refused, fmt::format("a certificate named '{}' already exists", friendly_name),
         "choose another --name, or rename or remove the existing one");
  auto q = db().prepare(
         "INSERT INTO certificates(friendly_name, fingerprint_sha256, der, key_id, issued_to, issued_by, subject,"
         " issuer, subject_hash, issuer_hash, subject_key_id, authority_key_id, spki_sha256, serial, not_before,"
         " not_after, alt_names, role, self_signed, warnings, source, created)"
         " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  q.bind(1, friendly_name);
  bind_content(q, 2, c, der, key_id).bind(21, source).bind(22, now()).run();
  return db().last_insert_id();
}

std::vector<CertRow> Store::list_certs() const { return query_certs(db(), "ORDER BY friendly_name"); }

std::optional<CertRow> Store::cert_by_id(std::int64_t id) const {
  auto rows = query_certs(db(), "WHERE id = ?", id);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::optional<CertRow> Store::cert_by_name(std::string_view name) const {
  auto rows = query_certs(db(), "WHERE friendly_name = ?", name);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::optional<CertRow> Store::cert_by_fingerprint(std::string_view fingerprint) const {
  auto rows = query_certs(db(), "WHERE fingerprint_sha256 = ?", fingerprint);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<CertRow> Store::certs_by_subject_hash(std::string_view subject_hash) const {
  return query_certs(db(), "WHERE subject_hash = ? ORDER BY not_after DESC", subject_hash);
}

std::vector<CertRow> Store::certs_by_spki(std::string_view spki_sha256) const {
  return query_certs(db(), "WHERE spki_sha256 = ? ORDER BY not_after DESC", spki_sha256);
}

CertRow Store::resolve_cert(std::string_view ref) const {
  if (auto row = cert_by_name(ref)) return std::move(*row);
  std::string prefix;
  for (char ch : ref)
    if (ch != ':') prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (is_hex_ref(prefix)) {
    // Hex digits sort below 'g', so [prefix, prefix + "g") is exactly the prefix range (indexed).
    auto rows = query_certs(db(), "WHERE fingerprint_sha256 >= ? AND fingerprint_sha256 < ? LIMIT 11", prefix,
                            prefix + "g");
    if (rows.size() == 1) return std::move(rows.front());
    if (rows.size() > 1) {
      std::string names;
      for (std::size_t i = 0; i < rows.size() && i < 10; ++i)
        names += fmt::format("{}{} ({})", i ? ", " : "", rows[i].friendly_name, rows[i].fingerprint_sha256.substr(0, 16));
      fail(ErrorKind::Refused, fmt::format("'{}' matches several certificates: {}", ref, names),
           "give more digits of the fingerprint, or the friendly name");
    }
  }
  fail(ErrorKind::NotFound, fmt::format("no certificate named '{}'", ref),
       "`applctl cert list` shows the friendly names and fingerprints");
}

Bytes Store::cert_der(std::int64_t id) const {
  auto q = db().prepare("SELECT der FROM certificates WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) fail(ErrorKind::NotFound, fmt::format("certificate {} is not in the store", id));
  return q.blob(0);
}

std::int64_t Store::count_certs() const {
  auto q = db().prepare("SELECT count(*) FROM certificates");
  q.step();
  return q.int64(0);
}

std::optional<CertRow> Store::soonest_expiry() const {
  auto rows = query_certs(db(), "ORDER BY not_after LIMIT 1");
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::int64_t Store::count_requests() const {
  auto q = db().prepare("SELECT count(*) FROM requests");
  q.step();
  return q.int64(0);
}

void Store::rename_cert(std::int64_t id, std::string_view name) {
  if (auto other = cert_by_name(name); other && other->id != id)
    fail(ErrorKind::Refused, fmt::format("a certificate named '{}' already exists", name), "choose another name");
  db().prepare("UPDATE certificates SET friendly_name = ? WHERE id = ?").bind(1, name).bind(2, id).run();
}

void Store::set_cert_key(std::int64_t id, std::int64_t key_id) {
  db().prepare("UPDATE certificates SET key_id = ? WHERE id = ?").bind(1, key_id).bind(2, id).run();
}

void Store::remove_cert(std::int64_t id) {
  db().prepare("DELETE FROM certificates WHERE id = ?").bind(1, id).run();
}

std::string Store::cert_chain_pem(std::int64_t id) const {
  auto q = db().prepare("SELECT chain_pem FROM certificates WHERE id = ?");
  q.bind(1, id);
  return q.step() ? q.text(0) : std::string();
}

void Store::set_cert_chain(std::int64_t id, std::string_view mode, std::string_view pem) {
  db().prepare("UPDATE certificates SET chain_mode = ?, chain_pem = ? WHERE id = ?")
      .bind(1, mode)
      .bind(2, pem.empty() ? std::optional<std::string_view>() : std::optional<std::string_view>(pem))
      .bind(3, id)
      .run();
}

std::int64_t Store::insert_request(const RequestRow& r, BytesView der) {
  auto q = db().prepare("SELECT 1 FROM requests WHERE friendly_name = ?");
  q.bind(1, r.friendly_name);
  if (q.step())
    fail(ErrorKind::Refused, fmt::format("a request named '{}' already exists", r.friendly_name),
         "choose another --name, or remove the existing request (applctl csr remove)");
  db().prepare(
         "INSERT INTO requests(friendly_name, key_id, der, subject, alt_names, fingerprint_sha256, spki_sha256,"
         " key_spec, created, renews_certificate_id) VALUES(?,?,?,?,?,?,?,?,?,?)")
      .bind(1, r.friendly_name)
      .bind(2, r.key_id)
      .bind(3, der)
      .bind(4, r.subject)
      .bind(5, alt_names_column(r.alt_names))
      .bind(6, r.fingerprint_sha256)
      .bind(7, r.spki_sha256)
      .bind(8, r.key_spec)
      .bind(9, r.created)
      .bind(10, r.renews_certificate_id)
      .run();
  return db().last_insert_id();
}

std::vector<RequestRow> Store::list_requests() const {
  auto q = db().prepare(fmt::format("SELECT {} ORDER BY id", kRequestColumns));
  std::vector<RequestRow> out;
  while (q.step()) out.push_back(read_request(q));
  return out;
}

RequestRow Store::resolve_request(std::string_view ref) const {
  auto q = db().prepare(fmt::format("SELECT {} WHERE friendly_name = ?1 OR CAST(id AS TEXT) = ?1 "
                                    "ORDER BY friendly_name = ?1 DESC LIMIT 1",
                                    kRequestColumns));
  q.bind(1, ref);
  if (q.step()) return read_request(q);
  fail(ErrorKind::NotFound, fmt::format("no certificate request '{}'", ref),
       "`applctl csr list` shows the ids and friendly names");
}

Bytes Store::request_der(std::int64_t id) const {
  auto q = db().prepare("SELECT der FROM requests WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) fail(ErrorKind::NotFound, fmt::format("request {} is not in the store", id));
  return q.blob(0);
}

void Store::remove_request(std::int64_t id) { db().prepare("DELETE FROM requests WHERE id = ?").bind(1, id).run(); }

std::optional<RequestRow> Store::request_renewing(std::int64_t cert_id) const {
  auto q = db().prepare(fmt::format("SELECT {} WHERE renews_certificate_id = ? ORDER BY id LIMIT 1", kRequestColumns));
  q.bind(1, cert_id);
  if (q.step()) return read_request(q);
  return std::nullopt;
}

void Store::replace_cert_in_place(std::int64_t id, const CertInfo& c, BytesView der, std::optional<std::int64_t> key_id) {
  auto q = db().prepare(
         "UPDATE certificates SET fingerprint_sha256 = ?, der = ?, key_id = ?, issued_to = ?, issued_by = ?,"
         " subject = ?, issuer = ?, subject_hash = ?, issuer_hash = ?, subject_key_id = ?, authority_key_id = ?,"
         " spki_sha256 = ?, serial = ?, not_before = ?, not_after = ?, alt_names = ?, role = ?, self_signed = ?,"
         " warnings = ?, created = ? WHERE id = ?");
  bind_content(q, 1, c, der, key_id).bind(20, now()).bind(21, id).run();
}

std::vector<IpRow> Store::list_ips() const {
  auto q = db().prepare("SELECT address, certificate_id FROM ip_addresses ORDER BY address");
  std::vector<IpRow> out;
  while (q.step()) {
    IpRow r{q.text(0), std::nullopt};
    if (!q.is_null(1)) r.cert_id = q.int64(1);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace applctl

namespace applctl {

std::optional<IpRow> Store::find_ip(std::string_view address) const {
  auto q = db().prepare("SELECT address, certificate_id FROM ip_addresses WHERE address = ?");
  q.bind(1, address);
  if (!q.step()) return std::nullopt;
  IpRow r{q.text(0), std::nullopt};
  if (!q.is_null(1)) r.cert_id = q.int64(1);
  return r;
}

void Store::add_ip(std::string_view address, std::optional<std::int64_t> cert_id) {
  db().prepare("INSERT INTO ip_addresses(address, certificate_id) VALUES(?, ?)").bind(1, address).bind(2, cert_id).run();
}

void Store::assign_ip(std::string_view address, std::optional<std::int64_t> cert_id) {
  db().prepare("UPDATE ip_addresses SET certificate_id = ? WHERE address = ?").bind(1, cert_id).bind(2, address).run();
}

void Store::move_ips(std::int64_t from_cert, std::optional<std::int64_t> to_cert) {
  db().prepare("UPDATE ip_addresses SET certificate_id = ? WHERE certificate_id = ?").bind(1, to_cert).bind(2, from_cert).run();
}

void Store::remove_ip(std::string_view address) {
  db().prepare("DELETE FROM ip_addresses WHERE address = ?").bind(1, address).run();
}

}  // namespace applctl

namespace applctl {

void rederive_text_columns(sql::Db& db) {
  struct Row {
    std::int64_t id;
    Bytes der;
    std::string issued_to, issued_by, subject, issuer, alt_names, warnings;
  };
  std::vector<Row> certs;
  {
    auto q = db.prepare(
        "SELECT id, der, issued_to, issued_by, subject, issuer, alt_names, warnings FROM certificates ORDER BY id");
    while (q.step())
      certs.push_back({q.int64(0), q.blob(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6), q.text(7)});
  }
  auto legacy_sans = [](std::string_view joined) {
    std::vector<std::string> out;
    for (auto& s : split_lines(joined)) out.push_back(printable(s));
    return alt_names_column(out);
  };
  auto update = db.prepare(
      "UPDATE certificates SET issued_to = ?, issued_by = ?, subject = ?, issuer = ?, alt_names = ?, warnings = ?"
      " WHERE id = ?");
  for (auto& r : certs) {
    try {
      const CertInfo info = inspect_certificate(r.der);
      update.bind(1, info.issued_to).bind(2, info.issued_by).bind(3, info.subject).bind(4, info.issuer);
      update.bind(5, alt_names_column(info.alt_names)).bind(6, encode_warnings(info.static_warnings));
    } catch (const Error&) {
      std::vector<Warning> ws = decode_warnings(r.warnings);
      for (auto& w : ws) w.message = printable(w.message);
      update.bind(1, printable(r.issued_to)).bind(2, printable(r.issued_by)).bind(3, printable(r.subject));
      update.bind(4, printable(r.issuer)).bind(5, legacy_sans(r.alt_names)).bind(6, encode_warnings(ws));
    }
    update.bind(7, r.id).run();
    update.reset();
  }
  struct Req {
    std::int64_t id;
    Bytes der;
    std::string subject, alt_names;
  };
  std::vector<Req> requests;
  {
    auto q = db.prepare("SELECT id, der, subject, alt_names FROM requests ORDER BY id");
    while (q.step()) requests.push_back({q.int64(0), q.blob(1), q.text(2), q.text(3)});
  }
  auto update_req = db.prepare("UPDATE requests SET subject = ?, alt_names = ? WHERE id = ?");
  for (auto& r : requests) {
    try {
      const CsrInfo info = inspect_csr(r.der);
      update_req.bind(1, info.subject).bind(2, alt_names_column(info.alt_names));
    } catch (const Error&) {
      update_req.bind(1, printable(r.subject)).bind(2, legacy_sans(r.alt_names));
    }
    update_req.bind(3, r.id).run();
    update_req.reset();
  }
  // Friendly names an older applctl took from a certificate as they were (control characters,
  // bytes that are not UTF-8): written as a new import names them, made unique when taken.
  for (const char* table : {"certificates", "requests"}) {
    std::vector<std::pair<std::int64_t, std::string>> bad;
    {
      auto q = db.prepare(fmt::format("SELECT id, friendly_name FROM {}", table));
      while (q.step())
        if (!is_printable(q.text_view(1))) bad.emplace_back(q.int64(0), q.text(1));
    }
    for (const auto& [id, name] : bad) {
      std::string fixed = printable(name);
      auto taken = db.prepare(fmt::format("SELECT 1 FROM {} WHERE friendly_name = ?", table));
      taken.bind(1, fixed);
      if (taken.step()) fixed += fmt::format("-{}", id);
      db.prepare(fmt::format("UPDATE {} SET friendly_name = ? WHERE id = ?", table)).bind(1, fixed).bind(2, id).run();
    }
  }
}

}  // namespace applctl
