// Opening the store, its schema and migrations, transactions with their audit row, settings, keys.
#include "applctl/store/store.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include "store/columns.hpp"
#include "store/crypt_vfs.hpp"
#include "store/sqlite.hpp"
#include "store/store_key_internal.hpp"

namespace applctl {

namespace fs = std::filesystem;

namespace {

// Each entry upgrades the schema by one version; never edit a released entry, append a new one.
// An entry is SQL and, when the step needs more than SQL (reading the DER), a function run after it.
struct Migration {
  const char* sql;
  void (*code)(sql::Db&) = nullptr;
};
constexpr Migration kMigrations[] = {
    {R"sql(
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keys(
  id INTEGER PRIMARY KEY,
  spki_sha256 TEXT NOT NULL UNIQUE,
  key_type TEXT NOT NULL,
  pkcs8 BLOB NOT NULL,
  created INTEGER NOT NULL);
CREATE TABLE certificates(
  id INTEGER PRIMARY KEY,
  friendly_name TEXT NOT NULL UNIQUE,
  fingerprint_sha256 TEXT NOT NULL UNIQUE,
  der BLOB NOT NULL,
  key_id INTEGER REFERENCES keys(id),
  issued_to TEXT NOT NULL, issued_by TEXT NOT NULL, subject TEXT NOT NULL, issuer TEXT NOT NULL,
  subject_hash TEXT NOT NULL, issuer_hash TEXT NOT NULL,
  subject_key_id TEXT NOT NULL, authority_key_id TEXT NOT NULL,
  spki_sha256 TEXT NOT NULL, serial TEXT NOT NULL,
  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
  alt_names TEXT NOT NULL, role TEXT NOT NULL, self_signed INTEGER NOT NULL,
  warnings TEXT NOT NULL, source TEXT NOT NULL,
  chain_mode TEXT NOT NULL DEFAULT 'automatic', chain_pem TEXT,
  created INTEGER NOT NULL);
CREATE INDEX certificates_subject_hash ON certificates(subject_hash);
CREATE INDEX certificates_spki ON certificates(spki_sha256);
CREATE INDEX certificates_not_after ON certificates(not_after);
CREATE TABLE requests(
  id INTEGER PRIMARY KEY,
  friendly_name TEXT NOT NULL UNIQUE,
  key_id INTEGER NOT NULL REFERENCES keys(id),
  der BLOB NOT NULL,
  subject TEXT NOT NULL, alt_names TEXT NOT NULL,
  fingerprint_sha256 TEXT NOT NULL, spki_sha256 TEXT NOT NULL, key_spec TEXT NOT NULL,
  created INTEGER NOT NULL);
CREATE TABLE ip_addresses(
  address TEXT PRIMARY KEY,
  certificate_id INTEGER REFERENCES certificates(id));
CREATE TABLE audit_log(
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL, user TEXT NOT NULL, command TEXT NOT NULL, objects TEXT NOT NULL);
)sql"},
    // 2: the columns that point at a key or a certificate are indexed, so counting unattached
    // keys, removing a key and moving addresses stay linear in a store of tens of thousands.
    {R"sql(
CREATE INDEX certificates_key ON certificates(key_id);
CREATE INDEX requests_key ON requests(key_id);
CREATE INDEX ip_addresses_certificate ON ip_addresses(certificate_id);
)sql"},
    // 3: renewal (cert renew). A pending request may renew a certificate (importing its signed
    // result replaces that certificate in place); each certificate's renewal state: how it is
    // renewed (method, origin as JSON: the ACME server, identifiers, challenge settings) and the
    // last attempt, its error, the last success.
    {R"sql(
ALTER TABLE requests ADD COLUMN renews_certificate_id INTEGER REFERENCES certificates(id) ON DELETE SET NULL;
CREATE INDEX requests_renews ON requests(renews_certificate_id);
CREATE TABLE renewals(
  certificate_id INTEGER PRIMARY KEY REFERENCES certificates(id) ON DELETE CASCADE,
  method TEXT,
  origin TEXT,
  last_attempt INTEGER,
  last_error TEXT,
  last_success INTEGER);
)sql"},
    // 4: hostile certificate text. alt_names (certificates, requests) becomes a JSON array (it
    // was the SANs joined by newlines, so a SAN holding a newline read back as two SANs); and
    // every text column derived from the DER is derived again, now printable() (control
    // characters and bytes that are not UTF-8 as \xNN, lib/x509/util.cpp).
    {"-- 4: alt_names as a JSON array; text columns derived again from the DER", rederive_text_columns},
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorKind::Failed, fmt::format("cannot create the store directory '{}': {}", dir.string(), ec.message()));
  if (::chmod(dir.c_str(), 0700) != 0)
    fail(ErrorKind::Failed, fmt::format("cannot set mode 0700 on '{}': {}", dir.string(), std::strerror(errno)));
}

// Creates the database file 0600 before SQLite sees it; SQLite gives its -wal and -shm files the
// database file's mode.
void make_private_file(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorKind::Failed, fmt::format("cannot create '{}': {}", file.string(), std::strerror(errno)));
  ::fchmod(fd, 0600);
  ::close(fd);
}

constexpr int kWalFrames = 64;

int truncate_long_wal(void*, sqlite3* db, const char* schema, int frames) {
  // Best effort: the commit is already durable; a reader in the way (busy) only postpones it.
  if (frames > kWalFrames) sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  return SQLITE_OK;
}

// Turning a new database to WAL takes a lock SQLite does not wait for with its busy handler (a
// reader that waited could deadlock), so concurrent first commands on a new store can see BUSY
// here for a moment: retried until the lock timeout, as every other lock is waited for.
void set_wal_mode(sql::Db& db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(sql::lock_timeout_ms());
  for (;;) {
    const int rc = sqlite3_exec(db.handle(), "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
      sql::raise(db.handle(), rc, "PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int schema_version(sql::Db& db) {
  auto exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.step()) return 0;
  auto q = db.prepare("SELECT version FROM schema_version");
  return q.step() ? static_cast<int>(q.int64(0)) : 0;
}

// Brings the schema to kSchemaVersion; the caller holds the write lock.
void migrate(sql::Db& db) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
  int version = schema_version(db);
  if (version > kSchemaVersion)
    fail(ErrorKind::Failed, fmt::format("the store has schema version {}, newer than this applctl ({})", version, kSchemaVersion),
         "upgrade applctl");
  for (int v = version; v < kSchemaVersion; ++v) {
    db.exec(kMigrations[v].sql);
    if (kMigrations[v].code != nullptr) kMigrations[v].code(db);
  }
  if (version != kSchemaVersion) {
    db.exec("DELETE FROM schema_version");
    db.prepare("INSERT INTO schema_version(version) VALUES(?)").bind(1, std::int64_t{kSchemaVersion}).run();
  }
}

}  // namespace

int store_schema_version() { return kSchemaVersion; }

std::string current_user_name() {
  uid_t uid = ::geteuid();
  struct passwd pw{};
  struct passwd* out = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &out) == 0 && out != nullptr) return out->pw_name;
  return fmt::format("uid:{}", uid);
}

fs::path Store::database_path(const fs::path& dir) { return dir / "applctl.db"; }

Store::Store(Store&&) noexcept = default;

// The connection closes before the VFS it may use is unregistered.
Store& Store::operator=(Store&& o) noexcept {
  db_.reset();
  vfs_ = std::move(o.vfs_);
  db_ = std::move(o.db_);
  dir_ = std::move(o.dir_);
  mode_ = o.mode_;
  exists_ = o.exists_;
  return *this;
}
Store::~Store() = default;

Store Store::open(const fs::path& dir, Mode mode) {
  Store s;
  s.dir_ = dir;
  s.mode_ = mode;
  std::error_code ec;
  s.exists_ = fs::exists(database_path(dir), ec);
  // An existing store is checked (permissions, schema) now; a new one is created on first use,
  // so a command that fails on its input before touching the store (a bad SAN, a wrong
  // passphrase) leaves no store behind, and one that never needs it never builds it.
  if (s.exists_) s.connect();
  return s;
}

sql::Db& Store::db() const {
  if (!db_) connect();
  return *db_;
}

void Store::connect() const {
  if (!exists_ && mode_ == Mode::ReadOnly) {  // a missing store reads as an empty one
    auto db = std::make_unique<sql::Db>(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY);
    migrate(*db);
    db_ = std::move(db);
    return;
  }
  const fs::path file = database_path(dir_);
  if (!exists_) {
    make_private_dir(dir_);
    make_private_file(file);
  }
  const bool writable = ::access(file.c_str(), W_OK) == 0 && ::access(dir_.c_str(), W_OK) == 0;
  if (!writable && mode_ == Mode::ReadWrite) {
    struct statvfs fsinfo{};
    if (::statvfs(dir_.c_str(), &fsinfo) == 0 && (fsinfo.f_flag & ST_RDONLY) != 0)
      fail(ErrorKind::Failed, fmt::format("the store '{}' is on a read-only file system", dir_.string()),
           "remount it read-write (or run read-only commands only); nothing was changed");
    fail(ErrorKind::Failed, fmt::format("the store '{}' is read-only for this user", dir_.string()),
         "check the permissions of the store directory and its files; nothing was changed");
  }
  // An encrypted database is read through the encrypting VFS, with the key fetched from the KMIP
  // server now (exit 7 when it cannot be, and nothing changes).
  if (exists_ && detail::looks_encrypted(file.string())) vfs_ = std::make_unique<detail::CryptVfs>(detail::fetch_store_keys(dir_));
  auto db = std::make_unique<sql::Db>(file.string(), writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY,
                                      vfs_ ? vfs_->name() : nullptr);
  sqlite3_busy_timeout(db->handle(), sql::lock_timeout_ms());
  if (vfs_) db->exec("PRAGMA temp_store=MEMORY");  // the encrypting VFS opens no temporary files
  if (writable) {
    set_wal_mode(*db);
    db->exec("PRAGMA synchronous=FULL");
    // Every commit is already durable in the WAL (synchronous=FULL); checkpointing on every close
    // would add two more fsyncs to each command. But each command is a new process whose first
    // read rebuilds the WAL index by reading and checksumming the whole WAL, and SQLite's own
    // auto-checkpoint never shrinks it across processes; so a commit that leaves the WAL longer
    // than kWalFrames pages checkpoints it and truncates it to nothing.
    sqlite3_db_config(db->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_wal_hook(db->handle(), truncate_long_wal, nullptr);
  }
  db->exec("PRAGMA foreign_keys=ON");
  // The usual case is a plain read. Creating or upgrading the schema is one immediate
  // transaction, so concurrent first commands on a new store queue here instead of racing.
  const int version = schema_version(*db);
  if (version > kSchemaVersion)
    fail(ErrorKind::Failed, fmt::format("the store has schema version {}, newer than this applctl ({})", version, kSchemaVersion),
         "upgrade applctl");
  if (version < kSchemaVersion) {
    if (!writable)
      fail(ErrorKind::Failed, fmt::format("the store '{}' needs a schema upgrade but is read-only", dir_.string()));
    db->exec("BEGIN IMMEDIATE");
    try {
      migrate(*db);
      db->exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  exists_ = true;
  db_ = std::move(db);
}

Transaction::Transaction(Store& store, std::string command) : store_(&store), command_(std::move(command)) {
  store.db().exec("BEGIN IMMEDIATE");
  // The store removed, moved or replaced while this command waited for the lock: its writes would
  // go to a file nobody opens again (SQLite notices only some of these cases by itself).
  sqlite3* db = store.db().handle();
  int moved = 0;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    done_ = true;
    sql::raise(db, SQLITE_READONLY_DBMOVED, "BEGIN IMMEDIATE");
  }
}

Transaction::Transaction(Transaction&& o) noexcept
    : store_(o.store_), command_(std::move(o.command_)), objects_(std::move(o.objects_)), done_(o.done_) {
  o.done_ = true;
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(store_->db().handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  store_->db().prepare("INSERT INTO audit_log(time, user, command, objects) VALUES(?,?,?,?)")
      .bind(1, now())
      .bind(2, current_user_name())
      .bind(3, command_)
      .bind(4, nlohmann::json(objects_).dump())
      .run();
  store_->db().exec("COMMIT");
  done_ = true;
}

std::int64_t Store::audit_head() const {
  auto q = db().prepare("SELECT coalesce(max(id), 0) FROM audit_log");
  q.step();
  return q.int64(0);
}

std::optional<std::string> Store::setting(std::string_view key) const {
  auto q = db().prepare("SELECT value FROM settings WHERE key = ?");
  q.bind(1, key);
  if (q.step()) return q.text(0);
  return std::nullopt;
}

void Store::set_setting(std::string_view key, std::string_view value) {
  db().prepare("INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .bind(1, key)
      .bind(2, value)
      .run();
}

void Store::erase_setting(std::string_view key) { db().prepare("DELETE FROM settings WHERE key = ?").bind(1, key).run(); }

std::int64_t Store::insert_key(const PrivateKey& key) {
  std::string spki = key.spki_sha256();
  if (auto id = find_key(spki)) return *id;
  Bytes der = key.pkcs8_der();
  db().prepare("INSERT INTO keys(spki_sha256, key_type, pkcs8, created) VALUES(?,?,?,?)")
      .bind(1, spki)
      .bind(2, key.info().spec())
      .bind(3, der)
      .bind(4, now())
      .run();
  OPENSSL_cleanse(der.data(), der.size());
  return db().last_insert_id();
}

std::optional<std::int64_t> Store::find_key(std::string_view spki_sha256) const {
  auto q = db().prepare("SELECT id FROM keys WHERE spki_sha256 = ?");
  q.bind(1, spki_sha256);
  if (q.step()) return q.int64(0);
  return std::nullopt;
}

PrivateKey Store::load_key(std::int64_t id) const {
  auto q = db().prepare("SELECT pkcs8 FROM keys WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) fail(ErrorKind::NotFound, fmt::format("key {} is not in the store", id));
  Bytes der = q.blob(0);
  PrivateKey key = PrivateKey::from_pkcs8_der(der);
  OPENSSL_cleanse(der.data(), der.size());
  return key;
}

std::string Store::key_spec(std::int64_t id) const {
  auto q = db().prepare("SELECT key_type FROM keys WHERE id = ?");
  q.bind(1, id);
  return q.step() ? q.text(0) : std::string();
}

void Store::remove_key_if_unused(std::int64_t id) {
  db().prepare(
         "DELETE FROM keys WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM certificates WHERE key_id = ?1)"
         " AND NOT EXISTS (SELECT 1 FROM requests WHERE key_id = ?1)")
      .bind(1, id)
      .run();
}

std::int64_t Store::count_unattached_keys() const {
  auto q = db().prepare(
      "SELECT count(*) FROM keys k WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.key_id = k.id)"
      " AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.key_id = k.id)"
      // The ACME account key (lib/acme/account.cpp) waits for no certificate.
      " AND k.id NOT IN (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'acme.account_key_id')");
  q.step();
  return q.int64(0);
}

}  // namespace applctl
