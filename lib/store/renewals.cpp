// Renewal state in the store (the renewals table, schema 3): what `cert renew` records per
// certificate, and the one query that tells it what could be due.
#include "applctl/store/store.hpp"
#include "store/sqlite.hpp"

namespace applctl {

namespace {

constexpr const char* kRenewalColumns = "method, origin, last_attempt, last_success, last_error";

RenewalState read_state(const sql::Stmt& q, int first) {
  RenewalState s;
  if (!q.is_null(first)) s.method = q.text(first);
  if (!q.is_null(first + 1)) s.origin = q.text(first + 1);
  if (!q.is_null(first + 2)) s.last_attempt = q.int64(first + 2);
  if (!q.is_null(first + 3)) s.last_success = q.int64(first + 3);
  if (!q.is_null(first + 4)) s.last_error = q.text(first + 4);
  return s;
}

}  // namespace

std::optional<RenewalState> Store::renewal_state(std::int64_t cert_id) const {
  auto q = db().prepare(std::string("SELECT ") + kRenewalColumns + " FROM renewals WHERE certificate_id = ?");
  q.bind(1, cert_id);
  if (!q.step()) return std::nullopt;
  return read_state(q, 0);
}

std::vector<std::pair<std::int64_t, RenewalState>> Store::renewal_states() const {
  auto q = db().prepare(std::string("SELECT certificate_id, ") + kRenewalColumns + " FROM renewals");
  std::vector<std::pair<std::int64_t, RenewalState>> out;
  while (q.step()) out.emplace_back(q.int64(0), read_state(q, 1));
  return out;
}

void Store::record_renewal_attempt(std::int64_t cert_id, UnixTime when, std::string_view error) {
  if (error.empty()) {
    db().prepare(
           "INSERT INTO renewals(certificate_id, last_attempt, last_success) VALUES(?1, ?2, ?2)"
           " ON CONFLICT(certificate_id) DO UPDATE SET last_attempt = ?2, last_success = ?2, last_error = NULL")
        .bind(1, cert_id)
        .bind(2, when)
        .run();
  } else {
    db().prepare(
           "INSERT INTO renewals(certificate_id, last_attempt, last_error) VALUES(?1, ?2, ?3)"
           " ON CONFLICT(certificate_id) DO UPDATE SET last_attempt = ?2, last_error = ?3")
        .bind(1, cert_id)
        .bind(2, when)
        .bind(3, error)
        .run();
  }
}

void Store::set_renewal_origin(std::int64_t cert_id, std::string_view method, std::string_view origin_json) {
  db().prepare(
         "INSERT INTO renewals(certificate_id, method, origin) VALUES(?1, ?2, ?3)"
         " ON CONFLICT(certificate_id) DO UPDATE SET method = ?2, origin = ?3")
      .bind(1, cert_id)
      .bind(2, method)
      .bind(3, origin_json)
      .run();
}

bool Store::has_renewal_method(std::string_view method) const {
  auto q = db().prepare("SELECT 1 FROM renewals WHERE method = ? LIMIT 1");
  q.bind(1, method);
  return q.step();
}

void Store::move_renewal_state(std::int64_t from_cert, std::int64_t to_cert) {
  db().prepare("DELETE FROM renewals WHERE certificate_id = ?").bind(1, to_cert).run();
  db().prepare("UPDATE renewals SET certificate_id = ? WHERE certificate_id = ?").bind(1, to_cert).bind(2, from_cert).run();
}

std::vector<RenewalCandidate> Store::renewal_candidates() const {
  auto q = db().prepare(
      "SELECT c.id, c.friendly_name, c.not_before, c.not_after, c.role, c.key_id IS NOT NULL, c.self_signed,"
      " r.method, (SELECT min(q.id) FROM requests q WHERE q.renews_certificate_id = c.id)"
      " FROM certificates c LEFT JOIN renewals r ON r.certificate_id = c.id ORDER BY c.friendly_name");
  std::vector<RenewalCandidate> out;
  while (q.step()) {
    RenewalCandidate c;
    c.id = q.int64(0);
    c.friendly_name = q.text(1);
    c.not_before = q.int64(2);
    c.not_after = q.int64(3);
    c.role = parse_role(q.text_view(4));
    c.has_key = q.int64(5) != 0;
    c.self_signed = q.int64(6) != 0;
    if (!q.is_null(7)) c.method = q.text(7);
    if (!q.is_null(8)) c.pending_request = q.int64(8);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace applctl
