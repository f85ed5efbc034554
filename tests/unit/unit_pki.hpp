// TEST HELPER (not library code) for the [keys] [cert] [lint] [store] [service] unit tests:
// temporary directories, a small PKI made once per process with the `openssl` CLI (which is also
// the oracle), raw SQLite access to a store's database, and error-kind checks.
#pragma once

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "applctl/base/bytes.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/base/error.hpp"
#include "applctl/x509/keys.hpp"
#include "applctl/store/store.hpp"

// Catch prints error kinds by their code ("bad-input"); 0 means "nothing was thrown".
template <>
struct Catch::StringMaker<applctl::ErrorKind> {
  static std::string convert(applctl::ErrorKind k) {
    if (static_cast<int>(k) == 0) return "(no applctl::Error thrown)";
    return std::string(applctl::Error::code_of(k));
  }
};

namespace unit_pki {

inline constexpr std::int64_t kDay = 86400;

namespace fs = std::filesystem;
using applctl::Bytes;

inline constexpr applctl::ErrorKind kNoError = static_cast<applctl::ErrorKind>(0);

// The kind of the applctl::Error that f throws, kNoError when it returns normally.
inline applctl::ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const applctl::Error& e) {
    return e.kind();
  }
  return kNoError;
}

// The applctl::Error that f must throw (fails the test when it throws nothing).
inline applctl::Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const applctl::Error& e) {
    return e;
  }
  FAIL("expected an applctl::Error");
  throw std::logic_error("unreachable");
}

// Runs a shell command in dir; throws with its output when it exits non-zero.
inline std::string run(const std::string& dir, const std::string& command) {
  std::string full = "cd '" + dir + "' && ( " + command + " ) 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int rc = ::pclose(pipe);
  if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + command + "\n" + out);
  return out;
}

inline void write_text(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

inline std::string read_text(const std::string& path) { return applctl::to_string(applctl::read_file(path)); }

// A fresh directory under $TMPDIR, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "applctl-unit-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string sh(const std::string& command) const { return run(path_.string(), command); }

 private:
  fs::path path_;
};

// Sets an environment variable for the scope, restoring the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A raw connection to a store's database, beside the library's own (for checks and injected faults).
class RawDb {
 public:
  explicit RawDb(const fs::path& store_dir) {
    std::string file = applctl::Store::database_path(store_dir).string();
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("sqlite3_open " + file + ": " + msg);
    }
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + msg);
  }
  // Every row of a query, each column as text ("" for NULL).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> out;
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        row.emplace_back(t ? t : "");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    return out;
  }
  std::int64_t count(const std::string& table) { return std::stoll(rows("SELECT count(*) FROM " + table)[0][0]); }

 private:
  sqlite3* db_ = nullptr;
};

inline std::int64_t count_rows(const fs::path& store_dir, const std::string& table) {
  RawDb db(store_dir);
  return db.count(table);
}

// A small PKI made with the openssl CLI, each certificate on first use (EC P-256 unless said
// otherwise), in one directory per process:
//   root "Unit Root CA" -> int "Unit Intermediate CA" -> leaf "leaf.unit.test"
//   v1          a version 1 self-signed certificate
//   weak-rsa    a self-signed RSA 1024 CA
//   sha1-root   a self-signed CA signed with ECDSA-SHA1
//   sha1-leaf   a leaf signed by root with ECDSA-SHA1
//   cn-late     CN=www.unit.test whose SANs are other.unit.test, www.unit.test (CN not first)
//   cn-case     CN=WWW.Unit.TEST whose first SAN is www.unit.test
//   twin-a, twin-b  two roots named "Twin CA" (a lives longer); twin-leaf is signed by b
// Files are BASE.pem (certificate) and BASE.key (its key).
class Pki {
 public:
  static const Pki& get() {
    static const Pki pki;
    return pki;
  }

  // The path of a file of the PKI ("leaf.pem", "leaf.key"), made first when needed.
  std::string path(const std::string& name) const {
    ensure(name.substr(0, name.find('.')));
    return dir_ + "/" + name;
  }
  std::string text(const std::string& name) const { return read_text(path(name)); }
  // The DER of a certificate by its base name: der("root") is root.pem in DER.
  Bytes der(const std::string& base) const {
    std::string pem = text(base + ".pem");
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
    if (!x) throw std::runtime_error("cannot read " + base + ".pem");
    unsigned char* out = nullptr;
    int len = i2d_X509(x.get(), &out);
    if (len <= 0) throw std::runtime_error("cannot encode " + base);
    Bytes der(out, out + len);
    OPENSSL_free(out);
    return der;
  }
  // The SHA-256 fingerprint of a certificate of the PKI, as openssl computes it.
  std::string fingerprint(const std::string& base) const {
    std::string out = sh("openssl x509 -in " + path(base + ".pem") + " -noout -fingerprint -sha256");
    std::string hex;
    for (char c : out.substr(out.find('=') + 1))
      if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
    return hex;
  }
  std::string sh(const std::string& command) const { return run(dir_, command); }

  // Signs a PEM request file with the intermediate CA as a server certificate for `days`,
  // keeping the request's SANs; writes out_path (PEM).
  void sign_leaf(const std::string& csr_path, const std::string& out_path, int days = 90) const {
    ensure("int");
    sh(sign_command(csr_path, out_path, "int", days));
  }

  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

 private:
  struct Recipe {
    std::vector<std::string> needs;
    std::vector<std::string> commands;
  };

  static std::string sign_command(const std::string& csr, const std::string& out, const std::string& ca, int days,
                                  const std::string& extra = {}) {
    return "openssl x509 -req " + extra + " -in '" + csr + "' -CA " + ca + ".pem -CAkey " + ca + ".key -days " +
           std::to_string(days) + " -copy_extensions copyall -extfile leaf.ext -out '" + out + "'";
  }
  static std::string request(const std::string& base, const std::string& subject, const std::string& sans) {
    return "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + base + ".key -out " +
           base + ".csr -subj '" + subject + "'" + (sans.empty() ? "" : " -addext subjectAltName=" + sans);
  }
  static std::string root(const std::string& base, const std::string& subject, int days, const std::string& extra = {}) {
    return "openssl req -x509 " + extra + " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + base +
           ".key -out " + base + ".pem -subj '" + subject + "' -days " + std::to_string(days);
  }

  static const std::map<std::string, Recipe>& recipes() {
    static const std::map<std::string, Recipe> r = {
        {"root", {{}, {root("root", "/CN=Unit Root CA", 3650)}}},
        {"int",
         {{"root"},
          {request("int", "/CN=Unit Intermediate CA", ""),
           "openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -days 3000 -extfile ca.ext -out int.pem"}}},
        {"leaf",
         {{"int"}, {request("leaf", "/CN=leaf.unit.test", "DNS:leaf.unit.test"), sign_command("leaf.csr", "leaf.pem", "int", 90)}}},
        // Version 1: `x509 -req` without extensions.
        {"v1", {{}, {request("v1", "/CN=Unit V1", ""), "openssl x509 -req -in v1.csr -signkey v1.key -days 30 -out v1.pem"}}},
        {"weak-rsa",
         {{},
          {"openssl req -x509 -newkey rsa:1024 -nodes -keyout weak-rsa.key -out weak-rsa.pem -subj '/CN=Unit Weak RSA'"
           " -days 30"}}},
        {"sha1-root", {{}, {root("sha1-root", "/CN=Unit SHA1 Root", 30, "-sha1")}}},
        {"sha1-leaf",
         {{"root"},
          {request("sha1-leaf", "/CN=sha1.unit.test", "DNS:sha1.unit.test"),
           sign_command("sha1-leaf.csr", "sha1-leaf.pem", "root", 30, "-sha1")}}},
        {"cn-late",
         {{"int"},
          {request("cn-late", "/CN=www.unit.test", "DNS:other.unit.test,DNS:www.unit.test"),
           sign_command("cn-late.csr", "cn-late.pem", "int", 90)}}},
        {"cn-case",
         {{"int"},
          {request("cn-case", "/CN=WWW.Unit.TEST", "DNS:www.unit.test,DNS:api.unit.test"),
           sign_command("cn-case.csr", "cn-case.pem", "int", 90)}}},
        {"twin-a", {{}, {root("twin-a", "/CN=Twin CA", 3650)}}},
        {"twin-b", {{}, {root("twin-b", "/CN=Twin CA", 1000)}}},
        {"twin-leaf",
         {{"twin-b"},
          {request("twin-leaf", "/CN=twin.unit.test", "DNS:twin.unit.test"),
           sign_command("twin-leaf.csr", "twin-leaf.pem", "twin-b", 90)}}},
    };
    return r;
  }

  void ensure(const std::string& base) const {
    if (made_.count(base) != 0) return;
    auto it = recipes().find(base);
    if (it == recipes().end()) throw std::logic_error("unit_pki: no recipe for '" + base + "'");
    for (const auto& dep : it->second.needs) ensure(dep);
    for (const auto& command : it->second.commands) sh(command);
    made_.insert(base);
  }

  Pki() {
    std::string tmpl = (fs::temp_directory_path() / "applctl-unit-pki-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    write_text(dir_ + "/ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                                 "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n");
    write_text(dir_ + "/leaf.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                   "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                                   "authorityKeyIdentifier=keyid:always\n");
  }

  std::string dir_;
  mutable std::set<std::string> made_;
};

// A subject with only a common name.
inline applctl::Subject cn_subject(const std::string& cn) {
  applctl::Subject s;
  s.cn = cn;
  return s;
}

inline std::vector<std::string> codes(const std::vector<applctl::Warning>& ws) {
  std::vector<std::string> out;
  for (const auto& w : ws) out.push_back(w.code);
  return out;
}

inline bool has_code(const std::vector<applctl::Warning>& ws, const std::string& code) {
  for (const auto& w : ws)
    if (w.code == code) return true;
  return false;
}

}  // namespace unit_pki
