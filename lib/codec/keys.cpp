// Private keys in every form a CA or an old server hands over: PKCS#8 plain and encrypted,
// PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY"), and legacy PEM encryption headers.
#include <openssl/pem.h>

#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "codec/internal.hpp"

namespace applctl::codec {

void wrong_passphrase(const std::string& source, std::string_view why) {
  throw Error(ErrorKind::BadInput, fmt::format("cannot read '{}': wrong passphrase ({})", source, why),
              "check the passphrase");
}

namespace {

template <typename Ptr, typename D2i>
Ptr parse_exact(BytesView der, D2i d2i) {
  const unsigned char* p = der.data();
  ERR_set_mark();
  Ptr obj(d2i(nullptr, &p, static_cast<long>(der.size())));
  ERR_pop_to_mark();
  if (obj && p != der.data() + der.size()) obj.reset();
  return obj;
}

ossl::PkeyPtr from_pkcs8(const PKCS8_PRIV_KEY_INFO* p8, const std::string& source, std::string_view what) {
  ossl::PkeyPtr key(EVP_PKCS82PKEY_ex(p8, nullptr, nullptr));
  if (!key) bad_input(source, fmt::format("invalid private key in {}: {}", what, ErrorQueue::drain().text));
  return key;
}

ossl::PkeyPtr decrypt_pkcs8(BytesView der, const std::string& source, Passphrase& pass, std::string_view what) {
  auto sig = parse_exact<ossl::X509SigPtr>(der, d2i_X509_SIG);
  if (!sig) bad_input(source, fmt::format("invalid encrypted PKCS#8 private key in {}", what));
  const std::string& pw = pass.get();
  ErrorQueue queue;
  ossl::Pkcs8Ptr p8 = retry_with_legacy(
      [&] {
        return ossl::Pkcs8Ptr(PKCS8_decrypt_ex(sig.get(), pw.data(), static_cast<int>(pw.size()), nullptr, nullptr));
      },
      queue);
  if (!p8) {
    if (queue.unsupported)
      bad_input(source, fmt::format("unsupported encryption algorithm in {}: {}", what, queue.text));
    wrong_passphrase(source, fmt::format("cannot decrypt {}", what));
  }
  return from_pkcs8(p8.get(), source, what);
}

int copy_passphrase(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* pw = static_cast<const std::string*>(user);
  if (pw->size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, pw->data(), pw->size());
  return static_cast<int>(pw->size());
}

}  // namespace

ossl::PkeyPtr decode_key(KeyForm form, BytesView der, const std::string& source, Passphrase& pass,
                         std::string_view what, bool decrypted) {
  auto invalid = [&](std::string_view kind) -> ossl::PkeyPtr {
    if (decrypted) wrong_passphrase(source, fmt::format("{} did not decrypt to a key", what));
    bad_input(source, fmt::format("invalid {} private key in {}", kind, what));
  };
  switch (form) {
    case KeyForm::Pkcs8: {
      auto p8 = parse_exact<ossl::Pkcs8Ptr>(der, d2i_PKCS8_PRIV_KEY_INFO);
      if (!p8) return invalid("PKCS#8");
      return from_pkcs8(p8.get(), source, what);
    }
    case KeyForm::EncryptedPkcs8:
      return decrypt_pkcs8(der, source, pass, what);
    case KeyForm::Rsa:
    case KeyForm::Ec: {
      int type = form == KeyForm::Rsa ? EVP_PKEY_RSA : EVP_PKEY_EC;
      auto key = parse_exact<ossl::PkeyPtr>(der, [type](EVP_PKEY** a, const unsigned char** pp, long len) {
        return d2i_PrivateKey_ex(type, a, pp, len, nullptr, nullptr);
      });
      if (!key) return invalid(form == KeyForm::Rsa ? "PKCS#1 RSA" : "SEC1 EC");
      return key;
    }
  }
  return invalid("unknown");
}

bool decrypt_pem_body(const std::string& headers, Bytes& der, const std::string& source, Passphrase& pass,
                      std::string_view what) {
  EVP_CIPHER_INFO info{};
  std::string header_copy = headers;  // PEM_get_EVP_CIPHER_INFO wants a mutable string
  if (PEM_get_EVP_CIPHER_INFO(header_copy.data(), &info) != 1)
    bad_input(source, fmt::format("unsupported PEM encryption headers in {}: {}", what, ErrorQueue::drain().text));
  if (info.cipher == nullptr) return false;  // headers, but no encryption
  if (der.size() > INT_MAX) bad_input(source, fmt::format("{} is too large", what));

  const std::string& pw = pass.get();
  Bytes work;
  ErrorQueue queue;
  // PEM_do_header decrypts in place; work on a copy so a retry starts from the ciphertext.
  bool ok = retry_with_legacy(
      [&] {
        work = der;
        long len = static_cast<long>(work.size());
        bool done = PEM_do_header(&info, work.data(), &len, copy_passphrase, const_cast<std::string*>(&pw)) == 1;
        if (done) work.resize(static_cast<std::size_t>(len));
        return done;
      },
      queue);
  if (!ok) {
    OPENSSL_cleanse(work.data(), work.size());
    if (queue.unsupported)
      bad_input(source, fmt::format("unsupported PEM encryption in {}: {}", what, queue.text));
    wrong_passphrase(source, fmt::format("cannot decrypt {}", what));
  }
  OPENSSL_cleanse(der.data(), der.size());
  der.swap(work);
  return true;
}

}  // namespace applctl::codec
