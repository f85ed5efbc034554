// Turning data at rest encryption on and off: `kmip encrypt` and `kmip decrypt` rewrite the whole
// database through the encrypting VFS (see applctl/services/encryption.hpp). The store floor
// fetches the key of an encrypted store (lib/store/store_key.cpp).
#include "applctl/services/encryption.hpp"

#include "store/store_key_internal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"
#include "applctl/kmip/config.hpp"
#include "applctl/services/kmip.hpp"
#include "applctl/store/store_key.hpp"
#include "applctl/store/store.hpp"
#include "applctl/base/timeutil.hpp"
#include "store/crypt_vfs.hpp"
#include "store/sqlite.hpp"

namespace applctl {

namespace fs = std::filesystem;

namespace {

std::string uri_of(const fs::path& file, const char* vfs) {
  std::string out = "file:";
  for (unsigned char c : file.string()) {
    if (std::isalnum(c) || std::strchr("-._~/", c) != nullptr)
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out + "?vfs=" + vfs;
}

std::string sql_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    fail(ErrorKind::Failed, fmt::format("cannot sync '{}': {}", path.string(), std::strerror(e)));
  }
  ::close(fd);
}

std::string single_text(sql::Db& db, std::string_view query) {
  auto q = db.prepare(query);
  return q.step() ? q.text(0) : std::string();
}

// Rewrites the store's database through `to` (null: plaintext) from `from` (null: plaintext),
// under an exclusive lock held from before the copy until after the rename, with one audit row
// in the new file. `before_swap` runs just before the rename (it saves kmip.json); when anything
// fails the new file is removed and the old database is left as it was.
std::uint64_t rewrite_database(const fs::path& dir, const detail::CryptVfs* from, const detail::CryptVfs* to,
                               const std::string& command, const std::string& object,
                               const std::function<void()>& before_swap, const std::function<void()>& undo) {
  const fs::path file = Store::database_path(dir);
  const fs::path tmp = dir / "applctl.db.rewrite";
  sql::Db src(file.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, from != nullptr ? from->name() : nullptr);
  sqlite3_busy_timeout(src.handle(), sql::lock_timeout_ms());
  src.exec("PRAGMA temp_store=MEMORY");
  // Leave WAL (a checkpoint, then the -wal and -shm files go) and keep an exclusive lock until
  // this connection closes, after the rename: no other command reads or writes in between.
  src.exec("PRAGMA locking_mode=EXCLUSIVE");
  src.exec("PRAGMA journal_mode=DELETE");
  src.exec("BEGIN EXCLUSIVE");
  src.exec("COMMIT");
  if (single_text(src, "PRAGMA page_size") != std::to_string(kPageSize))
    fail(ErrorKind::Failed, fmt::format("the store '{}' uses pages of {} bytes; encryption needs {}", dir.string(),
                                        single_text(src, "PRAGMA page_size"), kPageSize));
  int reserve = static_cast<int>(kPageTagSize);
  sqlite3_file_control(src.handle(), "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);

  std::error_code ec;
  fs::remove(tmp, ec);  // left by a crash: the old database is still the store
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) fail(ErrorKind::Failed, fmt::format("cannot create '{}': {}", tmp.string(), std::strerror(errno)));
  ::close(fd);
  try {
    const char* out_vfs = to != nullptr ? to->name() : sqlite3_vfs_find(nullptr)->zName;
    src.exec("VACUUM INTO " + sql_quote(uri_of(tmp, out_vfs)));
    {
      sql::Db out(tmp.string(), SQLITE_OPEN_READWRITE, to != nullptr ? to->name() : nullptr);
      out.exec("PRAGMA temp_store=MEMORY");
      const std::string check = single_text(out, "PRAGMA quick_check");
      if (check != "ok") fail(ErrorKind::Failed, fmt::format("the rewritten store failed its check: {}", check));
      // In WAL mode already, as the store opens it: its first reader then writes nothing.
      out.exec("PRAGMA journal_mode=WAL");
      out.exec("BEGIN IMMEDIATE");
      out.prepare("INSERT INTO audit_log(time, user, command, objects) VALUES(?,?,?,?)")
          .bind(1, now())
          .bind(2, current_user_name())
          .bind(3, command)
          .bind(4, fmt::format("[\"{}\"]", object))
          .run();
      out.exec("COMMIT");
    }
    fsync_path(tmp, O_RDONLY);
    const std::uint64_t bytes = fs::file_size(tmp);
    before_swap();
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
      int e = errno;
      undo();
      fail(ErrorKind::Failed, fmt::format("cannot replace '{}': {}", file.string(), std::strerror(e)));
    }
    // The rename is done: from here on the new database is the store, whatever happens.
    try {
      fsync_path(dir, O_RDONLY | O_DIRECTORY);
    } catch (const Error&) {
    }
    return bytes;
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void require_store(const fs::path& dir) {
  if (!fs::exists(Store::database_path(dir)))
    fail(ErrorKind::NotFound, fmt::format("there is no store at '{}'", dir.string()), "create it first: applctl init");
}

}  // namespace

EncryptResult encrypt_store(const fs::path& dir, const EncryptRequest& request) {
  require_store(dir);
  KmipConfig config = require_kmip_config(dir);
  EncryptResult r;
  r.server = config.server();
  if (store_encrypted(dir)) {
    r.unique_identifier = config.encryption_key_uid;
    return r;
  }
  const auto previous = load_kmip_config(dir);
  std::string uid = request.key_uid;
  if (uid.empty()) {
    uid = create_kmip_key(config, kmip::AesKeySpec{request.bits, request.name});
    r.created_key = true;
  }
  try {
    const PageKeys keys = fetch_page_keys(config, uid);
    detail::CryptVfs vfs(keys);
    config.encryption_key_uid = uid;
    config.encryption_key_check = keys.check_value();
    r.bytes = rewrite_database(dir, nullptr, &vfs, "kmip encrypt", "kmip-key:" + uid,
                               [&] { save_kmip_config(dir, config); }, [&] { restore_kmip_config(dir, previous); });
  } catch (const Error& e) {
    if (!r.created_key) throw;
    std::string cleanup = "it was destroyed again";
    try {
      destroy_kmip_key(config, uid);
    } catch (const Error&) {
      cleanup = "it is still on the server, unused";
    }
    throw Error(e.kind(), fmt::format("{} (the key '{}' created for the store: {})", e.what(), printable(uid), cleanup), e.hint());
  }
  r.changed = true;
  r.unique_identifier = uid;
  return r;
}

DecryptResult decrypt_store(const fs::path& dir) {
  require_store(dir);
  KmipConfig config = require_kmip_config(dir);
  DecryptResult r;
  r.unique_identifier = config.encryption_key_uid;
  if (!store_encrypted(dir)) {
    // Left by a crash between the rename and the settings: the file is what counts.
    if (!config.encryption_key_uid.empty()) {
      config.encryption_key_uid.clear();
      config.encryption_key_check.clear();
      save_kmip_config(dir, config);
    }
    return r;
  }
  detail::CryptVfs vfs(detail::fetch_store_keys(dir));
  r.bytes = rewrite_database(dir, &vfs, nullptr, "kmip decrypt", "kmip-key:" + r.unique_identifier, [] {}, [] {});
  config.encryption_key_uid.clear();
  config.encryption_key_check.clear();
  save_kmip_config(dir, config);
  r.changed = true;
  return r;
}

}  // namespace applctl
