// Writers for what browsers, vendors and failover peers read: PKCS#7 certs-only bundles and
// PKCS#8 private keys (PKCS#12 is in pkcs12.cpp).
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "codec/internal.hpp"

namespace applctl {
namespace {

using AlgorPtr = std::unique_ptr<X509_ALGOR, ossl::Free<X509_ALGOR_free>>;

// PEM text of a key from a secure-heap BIO (cleared when freed).
template <typename Write>
std::string key_pem(Write write, std::string_view what) {
  ossl::BioPtr bio(ossl::check_ptr(BIO_new(BIO_s_secmem()), "BIO_new(BIO_s_secmem)"));
  ossl::check(write(bio.get()), what);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) ossl::raise(what);
  return std::string(data, static_cast<std::size_t>(len));
}

ossl::Pkcs8Ptr to_pkcs8(const PrivateKey& key) {
  return ossl::Pkcs8Ptr(ossl::check_ptr(EVP_PKEY2PKCS8(key.get()), "EVP_PKEY2PKCS8"));
}

}  // namespace

Bytes encode_p7b(const std::vector<Bytes>& certificates_der) {
  if (certificates_der.empty()) fail(ErrorKind::Usage, "encode_p7b: no certificates to write");
  // A degenerate signedData (no signers), as `openssl crl2pkcs7 -nocrl` writes it. OpenSSL encodes
  // the certificates as an ordered list, so the leaf stays first.
  ossl::Pkcs7Ptr p7(ossl::check_ptr(PKCS7_new(), "PKCS7_new"));
  ossl::check(PKCS7_set_type(p7.get(), NID_pkcs7_signed), "PKCS7_set_type");
  p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);  // static object, nothing to free
  for (const Bytes& der : certificates_der) {
    ossl::X509Ptr x = ossl::x509_from_der(der, "d2i_X509 (PKCS#7 certificate)");
    ossl::check(PKCS7_add_certificate(p7.get(), x.get()), "PKCS7_add_certificate");  // takes its own reference
  }
  return ossl::to_der(p7.get(), i2d_PKCS7, "i2d_PKCS7");
}

std::string encode_pkcs8_encrypted_pem(const PrivateKey& key, const std::string& passphrase) {
  if (passphrase.empty())
    fail(ErrorKind::Usage, "an encrypted private key needs a non-empty passphrase",
         "use --passphrase-file FILE or --passphrase-env VAR (or --no-passphrase --insecure)");
  ossl::Pkcs8Ptr p8 = to_pkcs8(key);
  // PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, a 16-byte random salt and PKCS5_DEFAULT_ITER
  // (2048) iterations: what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes, so every tool reads it.
  unsigned char salt[16];
  ossl::check(RAND_bytes(salt, sizeof salt), "RAND_bytes");
  AlgorPtr pbe(ossl::check_ptr(PKCS5_pbe2_set_iv_ex(EVP_aes_256_cbc(), PKCS5_DEFAULT_ITER, salt, sizeof salt, nullptr,
                                                    NID_hmacWithSHA256, nullptr),
                               "PKCS5_pbe2_set_iv_ex"));
  ossl::X509SigPtr sig(ossl::check_ptr(
      PKCS8_set0_pbe_ex(passphrase.data(), static_cast<int>(passphrase.size()), p8.get(), pbe.get(), nullptr, nullptr),
      "PKCS8_set0_pbe_ex"));
  pbe.release();  // owned by sig now
  return key_pem([&](BIO* bio) { return PEM_write_bio_PKCS8(bio, sig.get()); }, "PEM_write_bio_PKCS8");
}

std::string encode_pkcs8_plain_pem(const PrivateKey& key) {
  ossl::Pkcs8Ptr p8 = to_pkcs8(key);
  return key_pem([&](BIO* bio) { return PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio, p8.get()); },
                 "PEM_write_bio_PKCS8_PRIV_KEY_INFO");
}

}  // namespace applctl
