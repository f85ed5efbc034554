// A thin RAII layer over SQLite (internal to lib/). Errors become applctl::Error: a lock held
// past the busy timeout is Refused (exit 5), everything else Failed with SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"

namespace applctl::sql {

[[noreturn]] void raise(sqlite3* db, int rc, std::string_view what);

// How long a command waits for another one's lock: APPLCTL_LOCK_TIMEOUT seconds, default 30.
int lock_timeout_ms();

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, BytesView v);
  Stmt& bind(int i, std::nullopt_t);
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, std::nullopt);
  }

  bool step();  // true while a row is available
  void run() {  // step to completion, for statements without rows
    while (step()) {
    }
  }
  void reset();

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::string_view text_view(int col) const;  // valid until the next step
  Bytes blob(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  // vfs: the name of a registered VFS (the encrypting one), or null for the default.
  Db(const std::string& path, int flags, const char* vfs = nullptr);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql);
  Stmt prepare(std::string_view sql) { return Stmt(db_, sql); }
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace applctl::sql
