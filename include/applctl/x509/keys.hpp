// Key specs (`--key rsa:3072`), key generation, and the private key value type.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "applctl/base/bytes.hpp"

namespace applctl {

enum class KeyType { RSA, EC, ED25519 };

struct KeySpec {
  KeyType type = KeyType::RSA;
  int bits = 3072;    // RSA modulus bits; EC/Ed25519: the curve's size
  std::string curve;  // "P-256", "P-384" for EC

  // rsa:2048 | rsa:3072 | rsa:4096 | ec:P-256 | ec:P-384 | ed25519 (case-insensitive;
  // "ec:prime256v1"/"ec:secp384r1" are accepted aliases). RSA below 2048 -> BadInput.
  static KeySpec parse(std::string_view text);
  static KeySpec default_spec() { return {}; }
  std::string str() const;  // the canonical spelling, e.g. "ec:P-256"
};

// What `cert show` prints of a public key.
struct KeyInfo {
  std::string type;  // "RSA", "EC", "ED25519"
  int bits = 0;
  std::string curve;  // EC only
  bool weak() const;  // RSA < 2048, EC < 256
  std::string spec() const;  // back to a KeySpec string when it is one ("rsa:2048"), else type/bits
};

KeyInfo key_info(const EVP_PKEY* pkey);

// A private key (or, for public-only values, the public half). Shared, immutable.
class PrivateKey {
 public:
  static PrivateKey generate(const KeySpec& spec);
  // Unencrypted PKCS#8 DER, as the store keeps it.
  static PrivateKey from_pkcs8_der(BytesView der);

  Bytes pkcs8_der() const;
  Bytes spki_der() const;           // SubjectPublicKeyInfo DER
  std::string spki_sha256() const;  // what links certificates and requests to their key
  // Sets spki_sha256() from the SubjectPublicKeyInfo X509_set_pubkey or X509_REQ_set_pubkey just
  // encoded from this key, so the key is not encoded a second time.
  void remember_spki(const X509_PUBKEY* encoded_from_this_key) const;
  KeyInfo info() const;
  EVP_PKEY* get() const { return pkey_.get(); }

  explicit PrivateKey(EVP_PKEY* owned);  // takes ownership

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
  // Encoding a provider key is costly in OpenSSL 3; the hash is computed once per key.
  mutable std::shared_ptr<const std::string> spki_sha256_;
};

// SHA-256 of the DER SubjectPublicKeyInfo of any public key.
std::string spki_sha256(EVP_PKEY* pkey);
// The same of a SubjectPublicKeyInfo as it is, without encoding a key: equal to the above only
// for one OpenSSL encoded (X509_set_pubkey); a certificate's own may be encoded differently.
std::string spki_sha256(const X509_PUBKEY* spki);

}  // namespace applctl
