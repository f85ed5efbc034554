// `acme account --account-key FILE`: an ACME account key that another client made (certbot,
// lego), read from its PEM file. Only what our JWS signs with is taken: EC P-256 (ES256).
// Every refusal names the file and the problem; none quotes the file's content.
#include <fstream>
#include <iterator>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "base/ossl.hpp"

namespace applctl::acme {

namespace {

[[noreturn]] void bad_key(const std::filesystem::path& file, std::string_view problem, std::string hint = {}) {
  fail(ErrorKind::BadInput, fmt::format("cannot use account key '{}': {}", printable(file.string()), problem),
       std::move(hint));
}

// OpenSSL asks for a passphrase only when the key is encrypted; we have none to give (and must
// not let OpenSSL prompt on the terminal).
int no_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

}  // namespace

PrivateKey read_account_key(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) bad_key(file, "no such file");
  if (std::filesystem::is_directory(file, ec)) bad_key(file, "it is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) bad_key(file, "the file cannot be read (permissions?)");
  Bytes data = read_stream(in, file.string(), 64 * 1024);  // an account key is a few hundred bytes
  std::string text(data.begin(), data.end());
  OPENSSL_cleanse(data.data(), data.size());
  struct Cleanse {
    std::string& s;
    ~Cleanse() { OPENSSL_cleanse(s.data(), s.size()); }
  } cleanse{text};

  const std::string encrypted_hint =
      "applctl takes no passphrase for an account key: decrypt it first, e.g. "
      "openssl pkey -in ENCRYPTED.key -out plain.key (keep plain.key 0600 and remove it after)";
  // PEM labels are matched without their dashes, so no key marker appears in this source.
  if (contains(text, "BEGIN ENCRYPTED PRIVATE KEY") || contains(text, "Proc-Type: 4,ENCRYPTED"))
    bad_key(file, "the private key is encrypted", encrypted_hint);

  bool asked = false;
  ossl::BioPtr bio = ossl::mem_bio(as_bytes(text));
  ossl::PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, &asked));
  ERR_clear_error();  // the queue would only say "no start line"; the message below says more
  if (asked) bad_key(file, "the private key is encrypted", encrypted_hint);
  if (!pkey) {
    const char* hint = "a PEM private key: labelled PRIVATE KEY (PKCS#8) or EC PRIVATE KEY (SEC1)";
    if (contains(text, "-----BEGIN CERTIFICATE-----"))
      bad_key(file, "not a private key: the file holds a certificate", hint);
    if (contains(text, "PUBLIC KEY-----")) bad_key(file, "not a private key: the file holds a public key", hint);
    if (contains(text, "PRIVATE KEY")) bad_key(file, "the PEM private key cannot be decoded", hint);
    bad_key(file, "not a private key: no PEM private key found", hint);
  }

  const char* unsupported = "only EC P-256 (ES256) account keys are supported";
  if (!EVP_PKEY_is_a(pkey.get(), "EC")) {
    const char* type = EVP_PKEY_is_a(pkey.get(), "RSA") || EVP_PKEY_is_a(pkey.get(), "RSA-PSS") ? "RSA"
                       : EVP_PKEY_is_a(pkey.get(), "ED25519")                                    ? "Ed25519"
                       : EVP_PKEY_is_a(pkey.get(), "ED448")                                      ? "Ed448"
                                                                                                 : "another type of";
    bad_key(file, fmt::format("{} key; {}", type, unsupported),
            "give the key of an account made with an EC P-256 key, or let applctl make one (no --account-key)");
  }
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
    ERR_clear_error();
    bad_key(file, fmt::format("EC key on explicit or unknown curve parameters; {}", unsupported));
  }
  const std::string curve(group, len);
  if (curve != "prime256v1" && curve != "P-256") {
    const std::string shown = curve == "secp384r1" ? "P-384" : curve == "secp521r1" ? "P-521" : curve;
    bad_key(file, fmt::format("EC key on curve {}; {}", printable(shown), unsupported),
            "give the key of an account made with an EC P-256 key, or let applctl make one (no --account-key)");
  }
  return PrivateKey(pkey.release());
}

}  // namespace applctl::acme
