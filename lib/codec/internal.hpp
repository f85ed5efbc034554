// Shared between the codec's translation units (codec_*.cpp); not part of the public API.
#pragma once

#include <string>
#include <string_view>

#include "applctl/codec/codec.hpp"
#include "base/ossl.hpp"

namespace applctl::codec {

inline constexpr std::size_t max_input_size = 16u * 1024u * 1024u;

// Throws BadInput "cannot read '<source>': <problem>".
[[noreturn]] void bad_input(const std::string& source, std::string_view problem, std::string hint = {});

// Overwrites a string's whole buffer (not only its current size) and empties it.
void cleanse(std::string& s) noexcept;

// The caller's passphrase, asked for at most once and only when an input turns out to be
// encrypted; the copy is cleansed on destruction.
class Passphrase {
 public:
  Passphrase(const PassphraseFn& fn, const std::string& source, bool given = false)
      : fn_(fn), source_(source), given_(given) {}
  ~Passphrase() { cleanse(value_); }
  Passphrase(const Passphrase&) = delete;
  Passphrase& operator=(const Passphrase&) = delete;

  // Asks (once); throws BadInput "'<source>' is encrypted and no passphrase was given".
  const std::string& get();
  bool asked() const { return asked_; }
  bool given() const { return given_; }  // from a file or the environment: asking is free

 private:
  const PassphraseFn& fn_;
  const std::string& source_;
  std::string value_;
  bool asked_ = false;
  bool have_ = false;
  bool given_ = false;
};

// Loads OpenSSL's `legacy` provider (RC2, RC4, single DES) together with `default` into the
// default library context, once per process. Returns false when the legacy provider is not
// installed. Both stay loaded for the life of the process.
bool load_legacy_provider();
bool legacy_provider_loaded();

// OpenSSL error-queue helpers: take the whole queue once, then ask questions about it.
struct ErrorQueue {
  std::string text;  // "" when empty
  bool unsupported = false;  // an algorithm could not be fetched (e.g. RC2 without `legacy`)
  bool bad_decrypt = false;  // a decryption failed its padding check
  static ErrorQueue drain();
};

// Runs attempt() (which returns an owning pointer, null on failure). When it failed because an
// algorithm was missing and the legacy provider is not loaded yet, loads it and tries once more.
// On failure `queue` holds the OpenSSL errors of the last attempt.
template <typename F>
auto retry_with_legacy(F&& attempt, ErrorQueue& queue) {
  auto result = attempt();
  if (!result) {
    queue = ErrorQueue::drain();
    if (queue.unsupported && !legacy_provider_loaded() && load_legacy_provider()) {
      result = attempt();
      if (!result) queue = ErrorQueue::drain();
    }
  }
  return result;
}

// EVP_PKEY_eq without leaving errors behind ("different key types"); a null key matches nothing.
bool same_public_key(const EVP_PKEY* a, const EVP_PKEY* b);

// Appends a DER certificate unless an identical one is already there.
void add_certificate(Decoded& out, Bytes der);
// Appends a key unless an equal key (same public half) is already there.
void add_key(Decoded& out, ossl::PkeyPtr key);

// The certificates of a PKCS#7 signedData (or signedAndEnveloped), in their order.
void add_pkcs7_certificates(Decoded& out, PKCS7* p7, const std::string& source);

// Private keys from DER. `what` names the object in errors ("PEM block 2 ('PRIVATE KEY')").
// `decrypted`: the DER came out of legacy PEM decryption, so garbage means a wrong passphrase.
enum class KeyForm { Pkcs8, EncryptedPkcs8, Rsa, Ec };
ossl::PkeyPtr decode_key(KeyForm form, BytesView der, const std::string& source, Passphrase& pass,
                         std::string_view what, bool decrypted = false);

// Legacy PEM encryption (RFC 1421 headers "Proc-Type: 4,ENCRYPTED" + "DEK-Info: AES-256-CBC,<iv>"):
// decrypts `der` in place; false when the headers ask for no encryption. `headers` are the block's
// header lines, each ending in '\n'.
bool decrypt_pem_body(const std::string& headers, Bytes& der, const std::string& source, Passphrase& pass,
                      std::string_view what);

// Throws BadInput "cannot read '<source>': wrong passphrase (<why>)" with the hint to check it.
[[noreturn]] void wrong_passphrase(const std::string& source, std::string_view why);

// PKCS#12: certificates (end entity first) and keys; checks the key matches its certificate.
void decode_pkcs12(PKCS12* p12, const std::string& source, Passphrase& pass, Decoded& out);

// PEM text (several blocks, any text around them, CRLF). `data` contains "-----BEGIN ".
void decode_pem(BytesView data, const std::string& source, Passphrase& pass, Decoded& out);

// DER helpers.
bool is_space(std::uint8_t c);
bool only_space(BytesView rest);

}  // namespace applctl::codec
