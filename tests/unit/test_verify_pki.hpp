// A throw-away PKI for the [chain] tests, made with the `openssl` CLI (genpkey, req, ca) in a
// temporary directory: EC P-256 keys, pinned validity dates, extensions given as config lines.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "applctl/base/bytes.hpp"

namespace applctl::testpki {

// Runs a shell command; returns its exit status and (stdout + stderr).
inline int sh(const std::string& cmd, std::string* output = nullptr) {
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

// Validity used when none is given: 2030-01-01 .. 2040-01-01, checked at 2035-01-01.
inline constexpr const char* kStart = "20300101000000Z";
inline constexpr const char* kEnd = "20400101000000Z";
inline constexpr std::int64_t kCheckTime = 2051222400;  // 2035-01-01T00:00:00Z

class TestPki {
 public:
  TestPki() {
    std::string templ = (std::filesystem::temp_directory_path() / "applctl-verify-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = templ;
    std::filesystem::create_directory(dir_ / "newcerts");
    std::ofstream(dir_ / "index.txt").close();
    std::ofstream(dir_ / "serial") << "1000\n";
    std::ofstream(dir_ / "ca.cnf") << "[ca]\ndefault_ca = ca_default\n[ca_default]\n"
                                   << "database = " << (dir_ / "index.txt").string() << "\n"
                                   << "new_certs_dir = " << (dir_ / "newcerts").string() << "\n"
                                   << "serial = " << (dir_ / "serial").string() << "\n"
                                   << "default_md = sha256\npolicy = loose\nunique_subject = no\n"
                                   << "email_in_dn = no\ncopy_extensions = none\n"
                                   << "[loose]\ncommonName = supplied\norganizationName = optional\n"
                                   << "[req]\ndistinguished_name = dn\n[dn]\n";
  }
  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  // An EC P-256 key <name>.key (kept when it exists, so certificates can share a key).
  void key(const std::string& name) {
    if (std::filesystem::exists(dir_ / (name + ".key"))) return;
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + quote(path(name + ".key")));
  }

  // A self-signed CA certificate <name>.pem with subject CN=<cn>.
  void root(const std::string& name, const std::string& cn, const std::string& extensions = default_ca_ext(),
            const std::string& start = kStart, const std::string& end = kEnd) {
    make(name, cn, name, "", extensions, start, end);
  }

  // A certificate <name>.pem for CN=<cn> with key <key>.key, issued by <issuer>.pem/<issuer>.key.
  void issue(const std::string& name, const std::string& cn, const std::string& key, const std::string& issuer,
             const std::string& extensions, const std::string& start = kStart, const std::string& end = kEnd) {
    make(name, cn, key, issuer, extensions, start, end);
  }

  static std::string default_ca_ext() {
    return "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
           "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n";
  }
  static std::string default_leaf_ext(const std::string& san) {
    return "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
           "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
           "subjectAltName = " +
           san + "\n";
  }

  Bytes der(const std::string& name) const {
    std::FILE* f = std::fopen(path(name + ".pem").c_str(), "rb");
    if (f == nullptr) throw std::runtime_error("no certificate " + name);
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (x == nullptr) throw std::runtime_error("cannot read certificate " + name);
    unsigned char* buf = nullptr;
    const int len = i2d_X509(x, &buf);
    X509_free(x);
    Bytes out(buf, buf + (len > 0 ? len : 0));
    OPENSSL_free(buf);
    return out;
  }

  std::vector<Bytes> ders(std::initializer_list<std::string> names) const {
    std::vector<Bytes> out;
    for (const auto& n : names) out.push_back(der(n));
    return out;
  }

  // Concatenates <name>.pem files into <file>; returns its path.
  std::string bundle(const std::string& file, const std::vector<std::string>& names) const {
    std::ofstream out(dir_ / file, std::ios::trunc);
    for (const auto& n : names) out << std::ifstream(dir_ / (n + ".pem")).rdbuf();
    return path(file);
  }

 private:
  void run(const std::string& cmd) const {
    std::string out;
    if (sh(cmd, &out) != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
  }

  void make(const std::string& name, const std::string& cn, const std::string& key, const std::string& issuer,
            const std::string& extensions, const std::string& start, const std::string& end) {
    this->key(key);
    std::ofstream(dir_ / (name + ".ext")) << "[ext]\n" << extensions;
    run("openssl req -new -config " + quote(path("ca.cnf")) + " -key " + quote(path(key + ".key")) + " -subj " +
        quote("/CN=" + cn) + " -out " + quote(path(name + ".csr")));
    std::string cmd = "openssl ca -batch -notext -config " + quote(path("ca.cnf")) + " -in " +
                      quote(path(name + ".csr")) + " -out " + quote(path(name + ".pem")) + " -extfile " +
                      quote(path(name + ".ext")) + " -extensions ext -startdate " + start + " -enddate " + end;
    if (issuer.empty()) cmd += " -selfsign -keyfile " + quote(path(key + ".key"));
    else cmd += " -cert " + quote(path(issuer + ".pem")) + " -keyfile " + quote(path(issuer + ".key"));
    run(cmd);
  }

  std::filesystem::path dir_;
};

}  // namespace applctl::testpki
