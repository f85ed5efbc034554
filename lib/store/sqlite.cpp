// The thin RAII layer over SQLite, and its errors mapped to applctl::Error (see store/sqlite.hpp).
#include "store/sqlite.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "store/crypt_vfs.hpp"

namespace applctl::sql {

int lock_timeout_ms() {
  const char* env = std::getenv("APPLCTL_LOCK_TIMEOUT");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    long s = std::strtol(env, &end, 10);
    if (*end == '\0' && s >= 0 && s <= 86400) return static_cast<int>(s * 1000);
  }
  return 30000;
}

namespace {

// The store directory of a connection (its database file's directory), for messages.
std::string store_dir_of(sqlite3* db) {
  const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  if (file == nullptr || *file == '\0') return "the store";
  return fmt::format("'{}'", std::filesystem::path(file).parent_path().string());
}

// A partial write at the file size limit reads as SQLITE_FULL without an errno.
bool file_size_limited() {
  struct rlimit rl{};
  return ::getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
}

}  // namespace

void raise(sqlite3* db, int rc, std::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xff;
  const std::string page_failure = detail::take_page_failure();
  // The operating system's reason for an I/O error (ENOSPC, EFBIG, EROFS, EIO), when there is one.
  const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    throw Error(ErrorKind::Refused, fmt::format("the store is locked by another applctl process ({})", what),
                "wait for it to finish, or raise APPLCTL_LOCK_TIMEOUT (seconds)");
  if (sys == EFBIG || (primary == SQLITE_FULL && file_size_limited()))
    throw Error(ErrorKind::Failed, fmt::format("cannot write the store {}: a file would exceed the file size limit ({})", store_dir_of(db), what),
                "raise the file size limit (ulimit -f) and retry; the store is unchanged (the change was rolled back)");
  if (primary == SQLITE_FULL || ((primary == SQLITE_IOERR) && (sys == ENOSPC || sys == EDQUOT)))
    throw Error(ErrorKind::Failed, fmt::format("cannot write the store {}: no space left on its device ({})", store_dir_of(db), what),
                "free space on the file system of the store and retry; the store is unchanged (the change was rolled back)");
  if (rc == SQLITE_READONLY_DBMOVED) {
    const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
    std::error_code ec;
    if (file != nullptr && !std::filesystem::exists(file, ec))
      throw Error(ErrorKind::Failed, fmt::format("the store {} was removed or moved while this command ran ({})", store_dir_of(db), what),
                  "nothing was written; restore the store directory (or run the command against its new place)");
    throw Error(ErrorKind::Refused, fmt::format("the store was replaced while this command waited for it ({})", what),
                "another command (applctl kmip encrypt or decrypt) rewrote it; run this command again");
  }
  if (primary == SQLITE_READONLY || (primary == SQLITE_IOERR && sys == EROFS))
    throw Error(ErrorKind::Failed, fmt::format("the store {} is read-only ({}: {})", store_dir_of(db), what, msg),
                "the file system is mounted read-only, or the store's directory and files are not writable for this user;"
                " nothing was changed");
  if (rc == SQLITE_IOERR_DATA || (primary == SQLITE_CANTOPEN && !page_failure.empty()))
    throw Error(ErrorKind::Failed, fmt::format("the encrypted store cannot be read: {}", page_failure.empty() ? msg : page_failure),
                "the database was altered or damaged: nothing was changed; restore the store from a backup");
  if (rc == SQLITE_IOERR_WRITE && !page_failure.empty())
    throw Error(ErrorKind::Failed, fmt::format("the encrypted store cannot be written: {}", page_failure));
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    throw Error(ErrorKind::Failed, fmt::format("the store's database is damaged or not an applctl store ({}: {})", what, msg));
  if (primary == SQLITE_IOERR)
    throw Error(ErrorKind::Failed,
                fmt::format("I/O error on the store {} ({}: {}{})", store_dir_of(db), what, msg,
                            sys != 0 ? fmt::format(": {}", std::strerror(sys)) : std::string()),
                "check the device and the file system of the store (dmesg); the change was rolled back");
  throw Error(ErrorKind::Failed, fmt::format("store error in {}: {}", what, msg));
}

Stmt::Stmt(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &stmt_, nullptr);
  if (rc != SQLITE_OK) raise(db, rc, sql.substr(0, 60));
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind(int i, BytesView v) {
  sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind(int i, std::nullopt_t) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(db_, rc, sqlite3_sql(stmt_) != nullptr ? std::string_view(sqlite3_sql(stmt_)).substr(0, 60) : "step");
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::text(int col) const { return std::string(text_view(col)); }

std::string_view Stmt::text_view(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
}

Bytes Stmt::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  if (p == nullptr) return {};
  return Bytes(p, p + sqlite3_column_bytes(stmt_, col));
}

Db::Db(const std::string& path, int flags, const char* vfs) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK) {
    std::string msg = detail::take_page_failure();
    if (msg.empty()) msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(ErrorKind::Failed, fmt::format("cannot open the store database '{}': {}", path, msg));
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) raise(db_, rc, sql.substr(0, 60));
}

}  // namespace applctl::sql
