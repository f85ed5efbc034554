// TEST HELPER: a small PKI made with the openssl CLI, once per cli_tests process, for the import,
// chain and export tests. Everything here is the openssl CLI's work, never applctl's, so it can
// serve as the independent side of every comparison.
//
//   root         "Test Root CA"            self-signed, CA, SKI/AKI
//   root2        "Test Root CA 2"          a second, unrelated root
//   int          "Test Intermediate CA"    CA pathlen:0, signed by root
//   xint         the same subject and key as int, cross-signed by root2
//   expint       the same subject and key as int, signed by root, valid 2020-01-01..2021-01-01 only
//   sub          "Test Sub CA"             CA, signed by int (breaks int's pathlen:0)
//   leaf         CN=www.example.com, SAN DNS:www.example.com, DNS:example.com, IP:192.0.2.10,
//                RSA 2048 key leaf.key (PKCS#8), signed by int
//   leaf_ec      CN=ec.example.com, EC P-256 key leaf_ec.key, signed by int
//   leaf_sha1    CN=weak.example.com, signed by int with SHA-1 (key weak.key)
//   leaf_sub     the leaf key again, signed by sub (a path that exceeds int's path length)
//   other.key    an RSA key that belongs to no certificate
// Every certificate also exists as NAME.pem and NAME.der; keys as NAME.key (PKCS#8 PEM, plain).
// sign_csr() signs any CSR (from `applctl csr create`) with int, copying its SANs.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/harness.hpp"

namespace clitest {

// Runs the openssl CLI and fails the test with its stderr when it does not exit 0.
inline Result openssl_ok(const std::vector<std::string>& args, const std::string& input = {}) {
  Result r = openssl(args, input);
  std::string cmd;
  for (const auto& a : args) cmd += " " + a;
  INFO("openssl" << cmd << "\nstderr: " << r.err);
  REQUIRE(r.code == 0);
  return r;
}

// A file made of the given files one after the other.
inline fs::path concat(const fs::path& out, const std::vector<fs::path>& parts) {
  std::string all;
  for (const auto& p : parts) all += slurp(p);
  spit(out, all);
  return out;
}

// LF -> CRLF.
inline std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

inline bool has(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// The SHA-256 fingerprint of a certificate file as applctl prints it (lower-case hex, no colons),
// computed by openssl.
inline std::string openssl_fingerprint(const fs::path& cert, const std::string& inform = "PEM") {
  Result r = openssl_ok({"x509", "-in", cert.string(), "-inform", inform, "-noout", "-fingerprint", "-sha256"});
  std::string v = r.out.substr(r.out.find('=') + 1);
  std::string out;
  for (char c : v)
    if (std::isxdigit(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The public key of a certificate (PEM SubjectPublicKeyInfo), by openssl.
inline std::string openssl_cert_pubkey(const fs::path& cert) {
  return openssl_ok({"x509", "-in", cert.string(), "-noout", "-pubkey"}).out;
}

class TestPki {
 public:
  fs::path operator/(const std::string& name) const { return dir_.path / name; }
  const fs::path& dir() const { return dir_.path; }
  std::string fingerprint(const std::string& cert) const { return openssl_fingerprint(dir_.path / (cert + ".pem")); }

  // Signs `csr` with the intermediate (SANs copied from the request; serverAuth EKU, AKI added).
  fs::path sign_csr(const fs::path& csr, const fs::path& out, const std::string& digest = "sha256") const {
    openssl_ok({"x509", "-req", "-in", csr.string(), "-CA", (*this / "int.pem").string(), "-CAkey",
                (*this / "int.key").string(), "-days", "365", "-" + digest, "-extfile", (*this / "ext.cnf").string(),
                "-extensions", "leaf_csr", "-copy_extensions", "copy", "-out", out.string()});
    return out;
  }

  static const TestPki& get() {
    static const TestPki pki;
    return pki;
  }

 private:
  TempDir dir_;

  std::string p(const std::string& name) const { return (dir_.path / name).string(); }

  void key(const std::string& name, const std::string& alg) const {
    if (alg == "ec")
      openssl_ok({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(name + ".key")});
    else
      openssl_ok({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p(name + ".key")});
  }
  void csr(const std::string& name, const std::string& key_name, const std::string& subj) const {
    openssl_ok({"req", "-new", "-key", p(key_name + ".key"), "-subj", subj, "-out", p(name + ".csr")});
  }
  void root(const std::string& name, const std::string& subj) const {
    key(name, "ec");
    openssl_ok({"req", "-x509", "-new", "-key", p(name + ".key"), "-subj", subj, "-days", "3650", "-sha256", "-config",
                p("ext.cnf"), "-extensions", "root", "-out", p(name + ".pem")});
  }
  void issue(const std::string& name, const std::string& csr_name, const std::string& ca, const std::string& section,
             const std::string& digest = "sha256", const std::string& days = "825") const {
    openssl_ok({"x509", "-req", "-in", p(csr_name + ".csr"), "-CA", p(ca + ".pem"), "-CAkey", p(ca + ".key"), "-days", days,
                "-" + digest, "-extfile", p("ext.cnf"), "-extensions", section, "-out", p(name + ".pem")});
  }

  TestPki() {
    spit(dir_.path / "ext.cnf",
         "[req]\ndistinguished_name = dn\n[dn]\n"
         "[root]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "[int]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "[sub]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "[leaf_csr]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage = serverAuth,clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n"
         "extendedKeyUsage = serverAuth,clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "subjectAltName = DNS:www.example.com,DNS:example.com,IP:192.0.2.10\n"
         "[leaf_ec]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "subjectAltName = DNS:ec.example.com\n"
         "[leaf_weak]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
         "subjectAltName = DNS:weak.example.com\n");
    root("root", "/CN=Test Root CA/O=applctl tests");
    root("root2", "/CN=Test Root CA 2/O=applctl tests");

    key("int", "ec");
    csr("int", "int", "/CN=Test Intermediate CA/O=applctl tests");
    issue("int", "int", "root", "int", "sha256", "1825");
    issue("xint", "int", "root2", "int", "sha256", "1825");
    // The same intermediate, valid only in 2020: `openssl x509` of OpenSSL 3.0 cannot back-date,
    // `openssl ca` can.
    spit(dir_.path / "ca.cnf",
         "[ca]\ndefault_ca = ca_default\n[ca_default]\ndatabase = " + p("index.txt") + "\nnew_certs_dir = " + p("newcerts") +
             "\nserial = " + p("serial") +
             "\ndefault_md = sha256\npolicy = policy_any\nunique_subject = no\nemail_in_dn = no\n"
             "[policy_any]\ncommonName = supplied\norganizationName = optional\n");
    fs::create_directories(dir_.path / "newcerts");
    spit(dir_.path / "index.txt", "");
    spit(dir_.path / "serial", "1000\n");
    openssl_ok({"ca", "-batch", "-notext", "-config", p("ca.cnf"), "-cert", p("root.pem"), "-keyfile", p("root.key"),
                "-in", p("int.csr"), "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-extfile",
                p("ext.cnf"), "-extensions", "int", "-out", p("expint.pem")});

    key("sub", "ec");
    csr("sub", "sub", "/CN=Test Sub CA/O=applctl tests");
    issue("sub", "sub", "int", "sub");

    key("leaf", "rsa");
    csr("leaf", "leaf", "/CN=www.example.com");
    issue("leaf", "leaf", "int", "leaf", "sha256", "365");
    issue("leaf_sub", "leaf", "sub", "leaf", "sha256", "365");
    key("leaf_ec", "ec");
    csr("leaf_ec", "leaf_ec", "/CN=ec.example.com");
    issue("leaf_ec", "leaf_ec", "int", "leaf_ec", "sha256", "365");
    key("weak", "ec");
    csr("weak", "weak", "/CN=weak.example.com");
    issue("leaf_sha1", "weak", "int", "leaf_weak", "sha1", "365");
    key("other", "rsa");

    for (const char* c : {"root", "root2", "int", "xint", "expint", "sub", "leaf", "leaf_ec", "leaf_sha1", "leaf_sub"})
      openssl_ok({"x509", "-in", p(std::string(c) + ".pem"), "-outform", "DER", "-out", p(std::string(c) + ".der")});
  }
};

inline const TestPki& test_pki() { return TestPki::get(); }

// A temporary directory of certificates made with the openssl CLI for a test server's TLS
// (KMIP, ACME): NAME.crt and NAME.key; `dir / "NAME.crt"` is a file's path.
class CertDir {
 public:
  std::string operator/(const std::string& name) const { return (dir_.path / name).string(); }
  const fs::path& dir() const { return dir_.path; }

 protected:
  TempDir dir_;
  std::string p(const std::string& n) const { return (dir_.path / n).string(); }

  // A self-signed CA (RSA 2048, 10 years).
  void ca(const std::string& name, const std::string& cn) const {
    openssl_ok({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p(name + ".key"), "-out", p(name + ".crt"),
                "-days", "3650", "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign"});
  }
  // A certificate for CN=cn signed by ca_name, with the extensions `ext` (an openssl extfile).
  void leaf(const std::string& name, const std::string& cn, const std::string& ca_name, const std::string& ext) const {
    spit(dir_.path / (name + ".ext"), ext);
    openssl_ok({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj",
                "/CN=" + cn});
    openssl_ok({"x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca_name + ".crt"), "-CAkey", p(ca_name + ".key"),
                "-CAcreateserial", "-days", "825", "-extfile", p(name + ".ext"), "-out", p(name + ".crt")});
  }
};

}  // namespace clitest
