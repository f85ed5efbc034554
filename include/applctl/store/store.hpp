// The store: one appliance's certificates, keys, pending requests, IP addresses and settings in
// one SQLite database (WAL, synchronous=FULL) in a 0700 directory, the database file 0600.
// Every change happens inside a Transaction (BEGIN IMMEDIATE ... COMMIT) that also writes one
// audit row, so a failing or killed command leaves the old state and concurrent commands queue.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "applctl/base/bytes.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/base/error.hpp"
#include "applctl/x509/keys.hpp"

namespace applctl {

namespace sql {
class Db;
}
namespace detail {
class CryptVfs;
}

// The schema version this applctl writes and understands (a newer store is refused).
int store_schema_version();

// The alt_names column of certificates and requests (schema 4): a JSON array of the SAN strings,
// so no SAN's content (a newline, a comma) can split one SAN into two. parse_alt_names_column is
// nullopt when the column is not such an array (doctor reports it; a row reads as no SANs).
std::string alt_names_column(const std::vector<std::string>& alt_names);
std::optional<std::vector<std::string>> parse_alt_names_column(std::string_view column);

// The user named in audit rows.
std::string current_user_name();

// One row of the certificates table: what `cert list` prints, without parsing the certificate.
struct CertRow {
  std::int64_t id = 0;
  std::string friendly_name;
  std::string fingerprint_sha256;
  std::string issued_to, issued_by, subject, issuer;
  std::string subject_hash, issuer_hash, subject_key_id, authority_key_id, spki_sha256, serial;
  UnixTime not_before = 0, not_after = 0, created = 0;
  std::vector<std::string> alt_names;
  Role role = Role::Leaf;
  bool self_signed = false;
  std::optional<std::int64_t> key_id;
  std::vector<Warning> static_warnings;
  std::string source;      // "factory", "self-signed", "imported"
  std::string chain_mode;  // "automatic", "current", "manual"
};

struct RequestRow {
  std::int64_t id = 0;
  std::string friendly_name;
  std::string subject;
  std::vector<std::string> alt_names;
  std::string fingerprint_sha256;  // of the request's DER
  std::string spki_sha256;
  std::string key_spec;
  std::int64_t key_id = 0;
  UnixTime created = 0;
  std::optional<std::int64_t> renews_certificate_id;  // the certificate its signed result replaces
};

// A certificate's renewal state (cert renew): how it is renewed and how the last attempt went.
struct RenewalState {
  std::string method;  // "" (from the certificate: self-signed or CA request), or "acme"
  std::string origin;  // JSON, for ACME: {"server", "identifiers", "challenge"}; "" when none
  std::optional<UnixTime> last_attempt, last_success;
  std::string last_error;  // of the last attempt; "" when it succeeded
  bool failed() const { return !last_error.empty(); }
};

// What `cert renew` reads of every certificate to decide what is due: columns only, no DER.
struct RenewalCandidate {
  std::int64_t id = 0;
  std::string friendly_name;
  UnixTime not_before = 0, not_after = 0;
  Role role = Role::Leaf;
  bool has_key = false;
  bool self_signed = false;
  std::string method;  // renewals.method, "" when none
  std::optional<std::int64_t> pending_request;  // a request that renews it already exists
};

struct IpRow {
  std::string address;
  std::optional<std::int64_t> cert_id;
};

class Store;
struct DoctorReport;
DoctorReport check_store(const Store& store);  // applctl/doctor.hpp

class Transaction {
 public:
  Transaction(Transaction&&) noexcept;
  ~Transaction();  // rolls back unless committed
  // Objects named in this command's audit row ("cert:web", "ip:10.0.0.1"); never secrets.
  void touch(std::string object) { objects_.push_back(std::move(object)); }
  void commit();

 private:
  friend class Store;
  Transaction(Store& store, std::string command);
  Store* store_;
  std::string command_;
  std::vector<std::string> objects_;
  bool done_ = false;
};

class Store {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  // ReadWrite creates the store (directory 0700, database 0600, schema) when it does not exist,
  // on first use, so a command that fails before touching the store leaves none behind.
  // ReadOnly never creates anything: a missing store opens as an empty in-memory one.
  static Store open(const std::filesystem::path& dir, Mode mode);
  static std::filesystem::path database_path(const std::filesystem::path& dir);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  bool exists() const { return exists_; }
  const std::filesystem::path& dir() const { return dir_; }

  Transaction write(std::string command) { return Transaction(*this, std::move(command)); }
  // The id of the last audit row: it changes with every committed change (0 for a new store).
  std::int64_t audit_head() const;

  // Settings (hostnames, default certificate, factory default, ...), as text.
  std::optional<std::string> setting(std::string_view key) const;
  void set_setting(std::string_view key, std::string_view value);
  void erase_setting(std::string_view key);

  // Keys, addressed by the SHA-256 of their SubjectPublicKeyInfo.
  std::int64_t insert_key(const PrivateKey& key);  // returns the existing id when already stored
  std::optional<std::int64_t> find_key(std::string_view spki_sha256) const;
  PrivateKey load_key(std::int64_t id) const;
  std::string key_spec(std::int64_t id) const;  // "ec:P-256", as KeyInfo::spec(); "" when unknown
  void remove_key_if_unused(std::int64_t id);
  std::int64_t count_unattached_keys() const;

  // Certificates.
  std::int64_t insert_cert(const CertInfo& info, BytesView der, std::string_view friendly_name,
                           std::optional<std::int64_t> key_id, std::string_view source);
  std::vector<CertRow> list_certs() const;
  std::optional<CertRow> cert_by_id(std::int64_t id) const;
  std::optional<CertRow> cert_by_name(std::string_view name) const;
  std::optional<CertRow> cert_by_fingerprint(std::string_view fingerprint) const;
  std::vector<CertRow> certs_by_subject_hash(std::string_view subject_hash) const;
  std::vector<CertRow> certs_by_spki(std::string_view spki_sha256) const;
  // A friendly name, or a unique prefix (>= 8 hex digits, colons ignored) of the SHA-256
  // fingerprint. NotFound when nothing matches; Refused listing the candidates when ambiguous.
  CertRow resolve_cert(std::string_view ref) const;
  Bytes cert_der(std::int64_t id) const;
  std::int64_t count_certs() const;
  std::optional<CertRow> soonest_expiry() const;
  void rename_cert(std::int64_t id, std::string_view name);
  void set_cert_key(std::int64_t id, std::int64_t key_id);
  void remove_cert(std::int64_t id);
  // Chain mode ("automatic", "current", "manual") and, for the last two, the chain's PEM.
  std::string cert_chain_pem(std::int64_t id) const;
  void set_cert_chain(std::int64_t id, std::string_view mode, std::string_view pem);

  // Pending certificate requests.
  std::int64_t insert_request(const RequestRow& row, BytesView der);
  std::vector<RequestRow> list_requests() const;
  RequestRow resolve_request(std::string_view ref) const;  // id or friendly name
  Bytes request_der(std::int64_t id) const;
  std::int64_t count_requests() const;
  void remove_request(std::int64_t id);
  // The pending request that renews the certificate, if any.
  std::optional<RequestRow> request_renewing(std::int64_t cert_id) const;

  // Renewal state (cert renew). record_renewal_attempt with an empty error is a success.
  std::optional<RenewalState> renewal_state(std::int64_t cert_id) const;
  std::vector<std::pair<std::int64_t, RenewalState>> renewal_states() const;  // every row, one query
  void record_renewal_attempt(std::int64_t cert_id, UnixTime when, std::string_view error);
  void set_renewal_origin(std::int64_t cert_id, std::string_view method, std::string_view origin_json);
  // Whether any certificate is renewed by this method ("acme"): one indexed lookup.
  bool has_renewal_method(std::string_view method) const;
  void move_renewal_state(std::int64_t from_cert, std::int64_t to_cert);
  // Every certificate with what deciding "due" needs (one query: certificates LEFT JOIN renewals).
  std::vector<RenewalCandidate> renewal_candidates() const;
  // A new certificate in the row of an old one: same id, friendly name, IP addresses, default
  // flag, chain mode and renewal state.
  void replace_cert_in_place(std::int64_t id, const CertInfo& info, BytesView der, std::optional<std::int64_t> key_id);

  // IP addresses and the certificate that serves each.
  std::vector<IpRow> list_ips() const;
  std::optional<IpRow> find_ip(std::string_view address) const;
  void add_ip(std::string_view address, std::optional<std::int64_t> cert_id);
  void assign_ip(std::string_view address, std::optional<std::int64_t> cert_id);
  void remove_ip(std::string_view address);
  void move_ips(std::int64_t from_cert, std::optional<std::int64_t> to_cert);

 private:
  friend class Transaction;
  friend DoctorReport check_store(const Store& store);  // reads every table directly
  Store() = default;
  sql::Db& db() const;  // connects, creating the store, on first use
  void connect() const;
  std::filesystem::path dir_;
  Mode mode_ = Mode::ReadOnly;
  mutable bool exists_ = false;
  mutable std::unique_ptr<detail::CryptVfs> vfs_;  // before db_: outlives the connection
  mutable std::unique_ptr<sql::Db> db_;
};

}  // namespace applctl
