// decode_any: detects what a CA sent by its content and hands it to the right decoder. Shared
// helpers of the codec (errors, passphrase, providers, de-duplication) live here too.
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "codec/internal.hpp"

namespace applctl::codec {

void bad_input(const std::string& source, std::string_view problem, std::string hint) {
  throw Error(ErrorKind::BadInput, fmt::format("cannot read '{}': {}", source, problem), std::move(hint));
}

void cleanse(std::string& s) noexcept {
  s.resize(s.capacity());  // capacity() never throws and resizing within it does not allocate
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

const std::string& Passphrase::get() {
  if (!asked_) {
    asked_ = true;
    std::optional<std::string> got;
    if (fn_) got = fn_();
    if (got) {
      have_ = true;
      value_ = *got;
      cleanse(*got);
    }
  }
  if (!have_)
    fail(ErrorKind::BadInput, fmt::format("'{}' is encrypted and no passphrase was given", source_),
         "use --passphrase-file FILE or --passphrase-env VAR");
  return value_;
}

namespace {

// The providers this process loaded itself; unloaded at exit, before OpenSSL's own cleanup
// (this object is created after OpenSSL initialised, so it is destroyed before).
struct LoadedProviders {
  OSSL_PROVIDER* default_provider = nullptr;
  OSSL_PROVIDER* legacy_provider = nullptr;
  ~LoadedProviders() {
    if (legacy_provider != nullptr) OSSL_PROVIDER_unload(legacy_provider);
    if (default_provider != nullptr) OSSL_PROVIDER_unload(default_provider);
  }
};

}  // namespace

bool load_legacy_provider() {
  static std::mutex mutex;
  static LoadedProviders loaded;
  std::lock_guard lock(mutex);
  if (loaded.legacy_provider != nullptr) return true;
  // Explicitly loading any provider turns off the implicit `default` one: load it first.
  if (loaded.default_provider == nullptr) loaded.default_provider = OSSL_PROVIDER_load(nullptr, "default");
  loaded.legacy_provider = OSSL_PROVIDER_load(nullptr, "legacy");
  ERR_clear_error();
  return loaded.legacy_provider != nullptr;
}

bool legacy_provider_loaded() { return OSSL_PROVIDER_available(nullptr, "legacy") == 1; }

ErrorQueue ErrorQueue::drain() {
  ErrorQueue q;
  unsigned long code = 0;
  const char* data = nullptr;
  int flags = 0;
  while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    int lib = ERR_GET_LIB(code);
    int reason = ERR_GET_REASON(code);
    if (reason == ERR_R_UNSUPPORTED || reason == ERR_R_FETCH_FAILED ||
        (lib == ERR_LIB_EVP && (reason == EVP_R_UNSUPPORTED_ALGORITHM || reason == EVP_R_UNSUPPORTED_CIPHER ||
                                reason == EVP_R_UNKNOWN_CIPHER)))
      q.unsupported = true;
    if ((lib == ERR_LIB_EVP && reason == EVP_R_BAD_DECRYPT) || (lib == ERR_LIB_PEM && reason == PEM_R_BAD_DECRYPT))
      q.bad_decrypt = true;
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!q.text.empty()) q.text += "; ";
    q.text += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') q.text += fmt::format(" ({})", data);
  }
  return q;
}

bool same_public_key(const EVP_PKEY* a, const EVP_PKEY* b) {
  if (a == nullptr || b == nullptr) return false;
  ERR_set_mark();
  bool same = EVP_PKEY_eq(a, b) == 1;
  ERR_pop_to_mark();
  return same;
}

void add_certificate(Decoded& out, Bytes der) {
  if (std::find(out.certificates.begin(), out.certificates.end(), der) == out.certificates.end())
    out.certificates.push_back(std::move(der));
}

void add_key(Decoded& out, ossl::PkeyPtr key) {
  for (const PrivateKey& k : out.keys)
    if (same_public_key(k.get(), key.get())) return;
  out.keys.emplace_back(key.release());
}

void add_pkcs7_certificates(Decoded& out, PKCS7* p7, const std::string& source) {
  STACK_OF(X509)* certs = nullptr;
  int nid = OBJ_obj2nid(p7->type);
  if (nid == NID_pkcs7_signed && p7->d.sign != nullptr)
    certs = p7->d.sign->cert;
  else if (nid == NID_pkcs7_signedAndEnveloped && p7->d.signed_and_enveloped != nullptr)
    certs = p7->d.signed_and_enveloped->cert;
  else
    bad_input(source, fmt::format("a PKCS#7 {} carries no certificates", OBJ_nid2ln(nid)));
  for (int i = 0; i < sk_X509_num(certs); ++i)
    add_certificate(out, ossl::to_der(sk_X509_value(certs, i), i2d_X509, "i2d_X509"));
}

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

bool only_space(BytesView rest) { return std::all_of(rest.begin(), rest.end(), is_space); }

namespace {

// The outer TLV's total size from its header, without trusting it.
struct OuterSize {
  enum class Kind { Definite, Indefinite, Truncated, Invalid } kind = Kind::Invalid;
  std::size_t total = 0;
};

OuterSize outer_size(BytesView d) {
  if (d.size() < 2) return {OuterSize::Kind::Truncated, 0};
  std::uint8_t first = d[1];
  if (first < 0x80) return {OuterSize::Kind::Definite, 2u + first};
  if (first == 0x80) return {OuterSize::Kind::Indefinite, 0};
  std::size_t n = first & 0x7fu;
  if (n > 4) return {OuterSize::Kind::Invalid, 0};  // > 4 GiB: not anything we read
  if (d.size() < 2 + n) return {OuterSize::Kind::Truncated, 0};
  std::size_t len = 0;
  for (std::size_t i = 0; i < n; ++i) len = (len << 8) | d[2 + i];
  return {OuterSize::Kind::Definite, 2 + n + len};
}

// Runs a d2i function; returns the object and how many bytes it consumed.
template <typename Ptr, typename D2i>
std::pair<Ptr, std::size_t> try_d2i(BytesView der, D2i d2i) {
  const unsigned char* p = der.data();
  ERR_set_mark();
  Ptr obj(d2i(nullptr, &p, static_cast<long>(der.size())));
  ERR_pop_to_mark();
  if (!obj) return {nullptr, 0};
  return {std::move(obj), static_cast<std::size_t>(p - der.data())};
}

void check_trailing(BytesView der, std::size_t used, const std::string& source, std::string_view what) {
  if (!only_space(der.subspan(used)))
    bad_input(source, fmt::format("trailing data after the {} ({} bytes after byte {})", what, der.size() - used, used),
              "the file holds more than one DER object; split it or convert it to PEM");
}

EVP_PKEY* d2i_rsa(EVP_PKEY** a, const unsigned char** pp, long len) {
  return d2i_PrivateKey_ex(EVP_PKEY_RSA, a, pp, len, nullptr, nullptr);
}
EVP_PKEY* d2i_ec(EVP_PKEY** a, const unsigned char** pp, long len) {
  return d2i_PrivateKey_ex(EVP_PKEY_EC, a, pp, len, nullptr, nullptr);
}

void decode_der(BytesView der, const std::string& source, Passphrase& pass, Decoded& out) {
  OuterSize size = outer_size(der);
  if (size.kind == OuterSize::Kind::Truncated || (size.kind == OuterSize::Kind::Definite && size.total > der.size()))
    bad_input(source, fmt::format("truncated DER (the outer SEQUENCE needs {} bytes, the input has {})",
                                  size.kind == OuterSize::Kind::Truncated ? std::string("more") : std::to_string(size.total),
                                  der.size()));
  if (size.kind == OuterSize::Kind::Invalid) bad_input(source, "no certificate or key found (invalid DER length)");

  if (auto [x, used] = try_d2i<ossl::X509Ptr>(der, d2i_X509); x) {
    check_trailing(der, used, source, "certificate");
    out.format = "der";
    add_certificate(out, Bytes(der.begin(), der.begin() + static_cast<std::ptrdiff_t>(used)));
    return;
  }
  if (auto [p7, used] = try_d2i<ossl::Pkcs7Ptr>(der, d2i_PKCS7); p7) {
    check_trailing(der, used, source, "PKCS#7");
    out.format = "pkcs7-der";
    add_pkcs7_certificates(out, p7.get(), source);
    return;
  }
  if (auto [p12, used] = try_d2i<ossl::Pkcs12Ptr>(der, d2i_PKCS12); p12) {
    check_trailing(der, used, source, "PKCS#12");
    out.format = "pkcs12";
    decode_pkcs12(p12.get(), source, pass, out);
    return;
  }
  out.format = "key";
  if (auto [p8, used] = try_d2i<ossl::Pkcs8Ptr>(der, d2i_PKCS8_PRIV_KEY_INFO); p8) {
    check_trailing(der, used, source, "private key");
    add_key(out, decode_key(KeyForm::Pkcs8, der.first(used), source, pass, "the PKCS#8 private key"));
    return;
  }
  if (auto [sig, used] = try_d2i<ossl::X509SigPtr>(der, d2i_X509_SIG); sig) {
    check_trailing(der, used, source, "private key");
    add_key(out, decode_key(KeyForm::EncryptedPkcs8, der.first(used), source, pass, "the encrypted PKCS#8 private key"));
    return;
  }
  for (auto d2i : {d2i_rsa, d2i_ec}) {
    if (auto [key, used] = try_d2i<ossl::PkeyPtr>(der, d2i); key) {
      check_trailing(der, used, source, "private key");
      add_key(out, std::move(key));
      return;
    }
  }
  bad_input(source, "no certificate or key found (not a DER certificate, PKCS#7, PKCS#12 or private key)");
}

bool contains(BytesView data, std::string_view needle) {
  return std::search(data.begin(), data.end(), needle.begin(), needle.end()) != data.end();
}

// Text that a Windows editor saved: a UTF-8 byte-order mark before the PEM (Notepad), or UTF-16
// with its byte-order mark. openssl reads the first; both read here as the ASCII text they hold.
// `storage` keeps transcoded UTF-16.
BytesView without_bom(BytesView data, Bytes& storage, const std::string& source) {
  if (data.size() >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) return data.subspan(3);
  if (data.size() < 2 || !((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF))) return data;
  const bool little = data[0] == 0xFF;
  BytesView units = data.subspan(2);
  if (units.size() % 2 != 0) bad_input(source, "UTF-16 text (it starts with a byte-order mark) of an odd length");
  storage.reserve(units.size() / 2);
  for (std::size_t i = 0; i < units.size(); i += 2) {
    const unsigned unit = little ? units[i] | (units[i + 1] << 8) : (units[i] << 8) | units[i + 1];
    if (unit >= 0x80)
      bad_input(source, fmt::format("UTF-16 text with a character outside ASCII (U+{:04X}): not PEM", unit),
                "save the file as ASCII or UTF-8, or export the certificate as DER (.cer)");
    storage.push_back(static_cast<std::uint8_t>(unit));
  }
  return storage;
}

}  // namespace
}  // namespace applctl::codec

namespace applctl {

Decoded decode_any(BytesView data, const std::string& source, const PassphraseFn& passphrase,
                   bool passphrase_given) {
  using namespace codec;
  if (data.size() > max_input_size)
    bad_input(source, fmt::format("the input is larger than 16 MiB ({} bytes)", data.size()),
              "certificates, keys and PKCS#12 files are far smaller; is this the right file?");
  Bytes transcoded;
  data = without_bom(data, transcoded, source);
  if (only_space(data)) bad_input(source, "no certificate or key found (the input is empty)");

  ERR_clear_error();  // messages carry only this call's OpenSSL errors
  Passphrase pass(passphrase, source, passphrase_given);
  Decoded out;
  // DER always starts with a SEQUENCE (0x30); a text file starting with '0' that holds PEM
  // blocks is still PEM.
  if (contains(data, "-----BEGIN "))
    decode_pem(data, source, pass, out);
  else if (data[0] == 0x30)
    decode_der(data, source, pass, out);
  else
    bad_input(source, "no certificate or key found (neither PEM nor DER)");

  if (out.certificates.empty() && out.keys.empty()) bad_input(source, "no certificate or key found");
  return out;
}

}  // namespace applctl
