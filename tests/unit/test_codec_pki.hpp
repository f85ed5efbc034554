// TEST HELPER (not library code): a small PKI made with the `openssl` CLI in a temporary
// directory, once per test process, for the codec tests. The openssl CLI also serves as the
// oracle: fingerprints and public keys are what `openssl x509` says, not what the library says.
#pragma once

#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "applctl/base/bytes.hpp"
#include "applctl/codec/codec.hpp"
#include "applctl/base/error.hpp"
#include "unit_pki.hpp"

namespace codec_test {

using applctl::Bytes;

// Shared with the other unit tests (unit_pki.hpp).
using unit_pki::error_of;
using unit_pki::run;
inline void write(const std::string& path, std::string_view data) { unit_pki::write_text(path, data); }

inline std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

class Pki {
 public:
  static const Pki& get() {
    static const Pki pki;
    return pki;
  }

  std::string dir;
  std::string root_fp, int_fp, leaf_fp;        // SHA-256 fingerprints, lowercase hex, per openssl
  std::string root_spki, int_spki, leaf_spki;  // SHA-256 of the DER SubjectPublicKeyInfo, per openssl

  std::string path(const std::string& name) const { return dir + "/" + name; }
  Bytes bytes(const std::string& name) const { return applctl::read_file(path(name)); }
  std::string text(const std::string& name) const { return applctl::to_string(bytes(name)); }
  std::string sh(const std::string& command) const { return run(dir, command); }

  // `openssl x509 -fingerprint -sha256` of a PEM certificate file, as lowercase hex.
  std::string fingerprint(const std::string& cert_pem) const {
    std::string out = sh("openssl x509 -in " + cert_pem + " -noout -fingerprint -sha256");
    std::string hex;
    for (char c : out.substr(out.find('=') + 1))
      if (std::isxdigit(static_cast<unsigned char>(c))) hex += static_cast<char>(std::tolower(c));
    return hex;
  }
  // SHA-256 of the certificate's public key as openssl writes it in DER.
  std::string spki(const std::string& cert_pem) const {
    sh("openssl x509 -in " + cert_pem + " -noout -pubkey | openssl pkey -pubin -outform DER -out " + cert_pem + ".spki");
    return applctl::sha256_hex(bytes(cert_pem + ".spki"));
  }

  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;

 private:
  Pki() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "applctl-codec-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    write(path("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                          "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    write(path("leaf.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                            "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:leaf.codec.test\n"
                            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    // Root and intermediate: EC P-256; leaf: RSA 2048 (so PKCS#1 and SEC1 both get tested).
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem"
       " -subj '/CN=Codec Test Root' -days 3650 -extensions v3_ca");
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr"
       " -subj '/CN=Codec Test Intermediate'");
    sh("openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -set_serial 2 -days 3650 -extfile ca.ext"
       " -out int.pem");
    sh("openssl genrsa -out leaf.key 2048");
    sh("openssl req -new -key leaf.key -out leaf.csr -subj '/CN=leaf.codec.test'");
    sh("openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -set_serial 3 -days 3650 -extfile leaf.ext"
       " -out leaf.pem");
    sh("openssl x509 -in leaf.pem -outform DER -out leaf.der");
    sh("cat int.pem root.pem > chain.pem && cat leaf.pem int.pem root.pem > full.pem");
    root_fp = fingerprint("root.pem");
    int_fp = fingerprint("int.pem");
    leaf_fp = fingerprint("leaf.pem");
    root_spki = spki("root.pem");
    int_spki = spki("int.pem");
    leaf_spki = spki("leaf.pem");
  }
};

// A passphrase source that counts how often it was asked.
struct Asker {
  std::optional<std::string> answer;
  int calls = 0;
  applctl::PassphraseFn fn() {
    return [this]() -> std::optional<std::string> {
      ++calls;
      return answer;
    };
  }
};

inline std::vector<std::string> fingerprints(const applctl::Decoded& d) {
  std::vector<std::string> out;
  for (const auto& der : d.certificates) out.push_back(applctl::sha256_hex(der));
  return out;
}

inline applctl::Decoded decode_file(const Pki& pki, const std::string& name, const applctl::PassphraseFn& fn = {}) {
  Bytes data = pki.bytes(name);
  return applctl::decode_any(data, name, fn);
}

}  // namespace codec_test
