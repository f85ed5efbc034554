// OpenSSL ownership and error handling. Internal to lib/: the public headers expose only
// <openssl/types.h> names. Every OpenSSL object is owned by one of these from the line that
// creates it; `check`/`check_ptr` throw with the function name and the drained error queue.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"

namespace applctl::ossl {

template <auto F>
struct Free {
  void operator()(auto* p) const noexcept { F(p); }
};

using BioPtr = std::unique_ptr<BIO, Free<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
using X509VerifyParamPtr = std::unique_ptr<X509_VERIFY_PARAM, Free<X509_VERIFY_PARAM_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Free<GENERAL_NAME_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Free<BASIC_CONSTRAINTS_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, Free<PKCS7_free>>;
using Pkcs12Ptr = std::unique_ptr<PKCS12, Free<PKCS12_free>>;
using Pkcs8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, Free<PKCS8_PRIV_KEY_INFO_free>>;
using X509SigPtr = std::unique_ptr<X509_SIG, Free<X509_SIG_free>>;
inline void free_ossl_string(char* p) { OPENSSL_free(p); }
using OsslString = std::unique_ptr<char, Free<free_ossl_string>>;

inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<free_x509_stack>>;

// Drains the thread's OpenSSL error queue into one line ("" when empty).
std::string drain_errors();
// Throws Error(kind) "<what>: <queue>" (the queue may be empty; the function name is always there).
[[noreturn]] void raise(std::string_view what, ErrorKind kind = ErrorKind::Failed);

inline void check(int rc, std::string_view what, ErrorKind kind = ErrorKind::Failed) {
  if (rc <= 0) raise(what, kind);
}
template <typename T>
T* check_ptr(T* p, std::string_view what, ErrorKind kind = ErrorKind::Failed) {
  if (p == nullptr) raise(what, kind);
  return p;
}

// Memory BIOs.
BioPtr mem_bio(BytesView data);  // read-only view of data (data must outlive the BIO)
BioPtr new_mem_bio();
Bytes bio_bytes(BIO* bio);       // everything written to a memory BIO

// DER encoders for any i2d_* function.
template <typename T, typename F>
Bytes to_der(T* obj, F i2d, std::string_view what) {
  int len = i2d(obj, nullptr);
  if (len <= 0) raise(what);
  Bytes out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d(obj, &p) != len) raise(what);
  return out;
}

X509Ptr x509_from_der(BytesView der, std::string_view what);

// The certificate that is exactly these DER bytes, or null (not a certificate, or bytes after
// it). A command reads the same certificate at several steps (decode the file, inspect, verify),
// and in OpenSSL 3 each d2i_X509 of an EC key costs as much as a signature check, so the last
// few parsed are kept and shared (up-referenced; thread-safe). Errors are left off the queue.
X509Ptr parse_x509(BytesView der);
X509ReqPtr req_from_der(BytesView der, std::string_view what);

}  // namespace applctl::ossl
