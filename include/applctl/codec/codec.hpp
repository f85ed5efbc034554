// Reading what a CA sends (any format, detected by content) and writing what browsers, vendors
// and failover peers read. Bytes in, values out; no files, no store.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "applctl/base/bytes.hpp"
#include "applctl/x509/keys.hpp"

namespace applctl {

// Asked for a passphrase only when the input turns out to be encrypted (so a TTY prompt or an
// env lookup happens only when needed). Returns nullopt when no passphrase source was given.
using PassphraseFn = std::function<std::optional<std::string>()>;

struct Decoded {
  std::string format;              // "der", "pem", "pkcs7-der", "pkcs7-pem", "pkcs12", "key"
  std::vector<Bytes> certificates; // DER, in input order, exact duplicates removed
  std::vector<PrivateKey> keys;    // every private key found (PKCS#1, SEC1, PKCS#8, PKCS#12)
  std::string friendly_name;       // PKCS#12: the friendlyName of certificates[0] when it is the
                                   // key's certificate ("" when absent)
  bool legacy_pkcs12 = false;      // a PKCS#12 using pre-PBES2 algorithms (RC2/RC4/DES/3DES); the
                                   // legacy provider got loaded when they needed it (RC2/RC4/DES)
};

// Detects the format by content (not by file name): DER X.509, PEM (several certificates and
// keys, leading text, CRLF), PKCS#7 DER/PEM, PKCS#12 (PBES2/AES and legacy RC2-40/3DES),
// private keys (PKCS#1, SEC1, PKCS#8 plain and encrypted, PEM or DER).
// `source` names the input in every error ("cannot read 'a.p12': ..."). Errors are BadInput with a
// hint: wrong passphrase, truncated input, trailing garbage, unknown PEM label, no passphrase
// given for an encrypted input, a PKCS#12 whose key does not match its certificate, input over
// 16 MiB. `passphrase` is called at most once, and only for an encrypted input (a PKCS#12 with an
// empty or absent password never asks); its result is cleansed after use. `passphrase_given`
// says it comes from a file or the environment, not a prompt: a PKCS#12 then tries it before no
// password at all (one key derivation instead of three for the usual protected file).
Decoded decode_any(BytesView data, const std::string& source, const PassphraseFn& passphrase,
                   bool passphrase_given = false);

// Writers. An empty passphrase is a Usage error; a key that does not match the certificate is
// BadInput. Passphrase-protected outputs use AES-256-CBC with PBKDF2 (PKCS#8, PKCS#12 default:
// PBES2 AES-256-CBC + HMAC-SHA-256 MAC); legacy PKCS#12 uses PBE-SHA1-3DES for the key,
// PBE-SHA1-RC2-40 for the certificates and a SHA-1 MAC (what old Windows and Java read).
Bytes encode_p7b(const std::vector<Bytes>& certificates_der);                      // DER PKCS#7 certs-only
std::string encode_pkcs8_encrypted_pem(const PrivateKey& key, const std::string& passphrase);
std::string encode_pkcs8_plain_pem(const PrivateKey& key);                          // --no-passphrase --insecure
Bytes encode_pkcs12(BytesView certificate_der, const PrivateKey& key, const std::vector<Bytes>& chain_der,
                    const std::string& friendly_name, const std::string& passphrase, bool legacy);

}  // namespace applctl
