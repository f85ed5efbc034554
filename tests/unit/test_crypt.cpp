// The encrypted store's cipher (XTS-AES-128 + HMAC tag per page) and its SQLite VFS: IEEE 1619
// vectors, tag checks, and databases written through the VFS (database, WAL and rollback journal)
// read back, searched for plaintext, altered and opened with the wrong key.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "applctl/store/page_cipher.hpp"
#include "store/crypt_vfs.hpp"
#include "from_hex.hpp"
#include "store/sqlite.hpp"
#include "unit_pki.hpp"

using applctl::Bytes;
using applctl::PageCipher;
using applctl::PageFile;
using applctl::PageKeys;
using applctl::detail::CryptVfs;
using unit_hex::from_hex;
using unit_pki::TempDir;
namespace fs = std::filesystem;
namespace sql = applctl::sql;

namespace {

PageKeys keys_of(std::uint8_t fill) { return PageKeys::derive(Bytes(32, fill)); }

void flip_byte(const std::string& path, std::streamoff offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = 0;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x01));
}

// A database written through the VFS as the store writes one: 4096-byte pages, 32 reserved bytes.
void create_db(const std::string& path, const CryptVfs& vfs, const std::string& journal_mode) {
  sql::Db db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.name());
  int reserve = 32;
  REQUIRE(sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve) == SQLITE_OK);
  db.exec("PRAGMA temp_store=MEMORY");
  db.exec("PRAGMA journal_mode=" + journal_mode);
  db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  db.exec("BEGIN");
  for (int i = 0; i < 300; ++i)
    db.prepare("INSERT INTO t(v) VALUES(?)").bind(1, "ORIGINAL-SECRET-" + std::to_string(i) + std::string(200, 'x')).run();
  db.exec("COMMIT");
}

std::int64_t count_like(sql::Db& db, const std::string& pattern) {
  auto q = db.prepare("SELECT count(*) FROM t WHERE v LIKE ?");
  q.bind(1, pattern);
  q.step();
  return q.int64(0);
}

std::string crypt_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const applctl::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("XTS-AES-128 matches the IEEE 1619 vectors", "[unit][crypt]") {
  struct Vector {
    const char *key, *tweak, *plain, *cipher;
  };
  const Vector vectors[] = {
      // Vector 2: two whole blocks.
      {"11111111111111111111111111111111 22222222222222222222222222222222", "33333333330000000000000000000000",
       "4444444444444444444444444444444444444444444444444444444444444444",
       "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0"},
      // Vector 3.
      {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0 22222222222222222222222222222222", "33333333330000000000000000000000",
       "4444444444444444444444444444444444444444444444444444444444444444",
       "af85336b597afc1a900b2eb21ec949d292df4c047e0b21532186a5971a227a89"},
      // Vector 15: 17 bytes, ciphertext stealing.
      {"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0 bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0", "9a785634120000000000000000000000",
       "000102030405060708090a0b0c0d0e0f10", "6c1625db4671522d3d7599601de7ca09ed"},
  };
  for (const auto& v : vectors) {
    INFO(v.cipher);
    const Bytes key = from_hex(v.key), tweak = from_hex(v.tweak);
    CHECK(applctl::xts_aes128(key, tweak, from_hex(v.plain), true) == from_hex(v.cipher));
    CHECK(applctl::xts_aes128(key, tweak, from_hex(v.cipher), false) == from_hex(v.plain));
  }
}

TEST_CASE("a sealed page opens only with its key, file and position, and unaltered", "[unit][crypt]") {
  const PageKeys keys = keys_of(7);
  PageCipher cipher(keys);
  std::array<std::uint8_t, applctl::kPageSize> plain{};
  for (std::size_t i = 0; i < applctl::kPageDataSize; ++i) plain[i] = static_cast<std::uint8_t>(i * 31);
  auto page = plain;
  cipher.seal(PageFile::Database, 8192, page);
  CHECK(std::search(page.begin(), page.end(), plain.begin() + 100, plain.begin() + 132) == page.end());

  auto copy = page;
  REQUIRE(cipher.open(PageFile::Database, 8192, copy));
  CHECK(copy == plain);  // the tag bytes are zero again, as SQLite left them

  copy = page;
  CHECK_FALSE(cipher.open(PageFile::Database, 4096, copy));  // moved
  CHECK(copy == page);                                       // untouched when refused
  CHECK_FALSE(cipher.open(PageFile::Wal, 8192, copy));       // another file
  for (std::size_t at : {std::size_t{0}, std::size_t{2000}, applctl::kPageDataSize - 1, applctl::kPageSize - 1}) {
    copy = page;
    copy[at] ^= 0x80;
    CHECK_FALSE(cipher.open(PageFile::Database, 8192, copy));
  }
  PageCipher other(keys_of(8));
  copy = page;
  CHECK_FALSE(other.open(PageFile::Database, 8192, copy));

  CHECK(keys.check_value() == keys_of(7).check_value());
  CHECK(keys.check_value() != keys_of(8).check_value());
  CHECK(keys.check_value().size() == 64);
  CHECK_THROWS(PageKeys::derive(Bytes(15, 1)));
}

TEST_CASE("a WAL database through the VFS: no plaintext on disk, recovered from its WAL", "[unit][crypt]") {
  TempDir tmp;
  const std::string path = tmp / "wal.db";
  CryptVfs vfs(keys_of(1));
  {
    create_db(path, vfs, "WAL");
    sql::Db db(path, SQLITE_OPEN_READWRITE, vfs.name());
    // Leave the last commit in the WAL, as a crash would: the next open must recover it.
    sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    db.exec("UPDATE t SET v = 'WAL-SECRET-' || id WHERE id <= 50");
  }
  REQUIRE(fs::exists(path + "-wal"));
  REQUIRE(fs::file_size(path + "-wal") > 32 + 2 * (24 + applctl::kPageSize));  // frames, not just a header
  for (const auto& file : {path, path + "-wal"}) {
    const std::string bytes = unit_pki::read_text(file);
    INFO(file);
    CHECK(bytes.find("SECRET") == std::string::npos);
    CHECK(bytes.find("SQLite format 3") == std::string::npos);
    CHECK(bytes.find("CREATE TABLE") == std::string::npos);
  }
  CHECK(applctl::detail::looks_encrypted(path));
  sql::Db db(path, SQLITE_OPEN_READWRITE, vfs.name());
  CHECK(count_like(db, "WAL-SECRET-%") == 50);
  CHECK(count_like(db, "ORIGINAL-SECRET-%") == 250);
  auto q = db.prepare("PRAGMA integrity_check");
  REQUIRE(q.step());
  CHECK(q.text(0) == "ok");
}

TEST_CASE("a rollback journal through the VFS is encrypted and rolls a crashed change back", "[unit][crypt]") {
  TempDir tmp;
  const std::string path = tmp / "rollback.db", crashed = tmp / "crashed.db";
  CryptVfs vfs(keys_of(2));
  create_db(path, vfs, "DELETE");
  {
    sql::Db db(path, SQLITE_OPEN_READWRITE, vfs.name());
    db.exec("PRAGMA temp_store=MEMORY");
    db.exec("PRAGMA cache_size=2");  // spill: the database file changes before the commit
    db.exec("BEGIN");
    db.exec("UPDATE t SET v = 'CHANGED-' || id");
    REQUIRE(fs::exists(path + "-journal"));
    // The files as a crash at this moment leaves them.
    fs::copy_file(path, crashed);
    fs::copy_file(path + "-journal", crashed + "-journal");
    db.exec("ROLLBACK");
  }
  const std::string journal = unit_pki::read_text(crashed + "-journal");
  CHECK(journal.size() > 10 * applctl::kPageSize);
  CHECK(journal.find("ORIGINAL-SECRET") == std::string::npos);
  CHECK(journal.find("CHANGED-") == std::string::npos);

  sql::Db db(crashed, SQLITE_OPEN_READWRITE, vfs.name());  // the hot journal is played back
  CHECK(count_like(db, "ORIGINAL-SECRET-%") == 300);
  CHECK(count_like(db, "CHANGED-%") == 0);
  CHECK_FALSE(fs::exists(crashed + "-journal"));
}

TEST_CASE("an altered page, a wrong key or a short file is reported, never decrypted", "[unit][crypt]") {
  TempDir tmp;
  const std::string path = tmp / "t.db";
  CryptVfs vfs(keys_of(3));
  create_db(path, vfs, "DELETE");

  SECTION("a flipped bit in a page names the page") {
    flip_byte(path, 3 * 4096 + 1234);
    sql::Db db(path, SQLITE_OPEN_READWRITE, vfs.name());
    const std::string e = crypt_error_of([&] { count_like(db, "%"); });
    CHECK_THAT(e, Catch::Contains("database page at offset 12288") && Catch::Contains("failed its authentication tag"));
  }
  SECTION("the first page: the header read fails") {
    flip_byte(path, 50);
    const std::string e = crypt_error_of([&] {
      sql::Db db(path, SQLITE_OPEN_READWRITE, vfs.name());
      count_like(db, "%");
    });
    CHECK_THAT(e, Catch::Contains("offset 0 ") && Catch::Contains("authentication tag"));
  }
  SECTION("another key") {
    CryptVfs wrong(keys_of(4));
    const std::string e = crypt_error_of([&] {
      sql::Db db(path, SQLITE_OPEN_READWRITE, wrong.name());
      count_like(db, "%");
    });
    CHECK_THAT(e, Catch::Contains("authentication tag"));
  }
  SECTION("a file cut in the middle of a page") {
    fs::resize_file(path, fs::file_size(path) - 100);
    sql::Db db(path, SQLITE_OPEN_READWRITE, vfs.name());
    CHECK_THAT(crypt_error_of([&] { count_like(db, "%"); }), Catch::Contains("authentication tag"));
  }
  SECTION("without the VFS it is not a database") {
    sql::Db db(path, SQLITE_OPEN_READONLY);
    CHECK_THAT(crypt_error_of([&] { count_like(db, "%"); }), Catch::Contains("damaged or not an applctl store"));
  }
}

TEST_CASE("the VFS refuses a database without room for the tag", "[unit][crypt]") {
  TempDir tmp;
  CryptVfs vfs(keys_of(5));
  sql::Db db(tmp / "noreserve.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.name());
  const std::string e = crypt_error_of([&] { db.exec("CREATE TABLE t(x)"); });
  CHECK_THAT(e, Catch::Contains("reserve 0 bytes"));
}
