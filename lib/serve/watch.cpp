// Noticing that the store changed, cheaply enough to ask every second: SQLite's data_version on a
// connection of our own (it changes when any other connection commits), plus the database file's
// identity (replaced, removed, created) and the size and time of its WAL, which also cover a
// database SQLite cannot read by itself.
#include <unistd.h>

#include <fmt/format.h>

#include "serve/internal.hpp"
#include "store/sqlite.hpp"

namespace applctl::serving {

namespace {

struct FileState {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
};

FileState state_of(const std::string& path) {
  struct stat st {};
  FileState s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return s;
}

}  // namespace

StoreWatcher::StoreWatcher(std::filesystem::path dir) : file_(Store::database_path(dir)) {}
StoreWatcher::~StoreWatcher() = default;

bool StoreWatcher::changed() {
  const std::string path = file_.string();
  const FileState db = state_of(path);
  bool replaced = db.exists != (db_ != nullptr) || (db.exists && (db.dev != dev_ || db.ino != ino_));
  if (replaced) {
    db_.reset();
    if (db.exists) {
      try {
        const bool writable = ::access(path.c_str(), W_OK) == 0;
        db_ = std::make_unique<sql::Db>(path, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
        sqlite3_busy_timeout(db_->handle(), 200);
      } catch (const Error&) {
        db_.reset();
      }
      dev_ = db.dev;
      ino_ = db.ino;
    }
  }
  std::int64_t version = -1;
  if (db_) {
    try {
      auto q = db_->prepare("PRAGMA data_version");
      if (q.step()) version = q.int64(0);
    } catch (const Error&) {
      version = -1;  // locked or unreadable now: the file times still tell
    }
  }
  // Taken after our own connection has read: opening a WAL database creates its -wal file.
  const FileState now_db = state_of(path), wal = state_of(path + "-wal");
  std::string files = fmt::format("{}:{}:{}:{}", now_db.size, now_db.mtime_ns, wal.size, wal.mtime_ns);
  bool changed = primed_ && (replaced || version != version_ || files != files_);
  primed_ = true;
  version_ = version;
  files_ = std::move(files);
  return changed;
}

}  // namespace applctl::serving
