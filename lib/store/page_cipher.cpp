// XTS-AES-128 + HMAC-SHA-256 page images for the encrypted store (see page_cipher.hpp).
#include "applctl/store/page_cipher.hpp"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "base/ossl.hpp"

namespace applctl {

namespace {

using KdfPtr = std::unique_ptr<EVP_KDF, ossl::Free<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, ossl::Free<EVP_KDF_CTX_free>>;
using MacPtr = std::unique_ptr<EVP_MAC, ossl::Free<EVP_MAC_free>>;
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, ossl::Free<EVP_MAC_CTX_free>>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, ossl::Free<EVP_CIPHER_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, ossl::Free<EVP_CIPHER_CTX_free>>;

constexpr char kSalt[] = "applctl store encryption v1";

void hkdf(BytesView master, std::string_view info, std::span<std::uint8_t> out) {
  KdfPtr kdf(ossl::check_ptr(EVP_KDF_fetch(nullptr, "HKDF", nullptr), "EVP_KDF_fetch(HKDF)"));
  KdfCtxPtr ctx(ossl::check_ptr(EVP_KDF_CTX_new(kdf.get()), "EVP_KDF_CTX_new"));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(master.data()), master.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt), sizeof kSalt - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  ossl::check(EVP_KDF_derive(ctx.get(), out.data(), out.size(), params), "EVP_KDF_derive(HKDF)");
}

MacCtxPtr hmac_sha256(BytesView key) {
  MacPtr mac(ossl::check_ptr(EVP_MAC_fetch(nullptr, "HMAC", nullptr), "EVP_MAC_fetch(HMAC)"));
  MacCtxPtr ctx(ossl::check_ptr(EVP_MAC_CTX_new(mac.get()), "EVP_MAC_CTX_new"));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  ossl::check(EVP_MAC_init(ctx.get(), key.data(), key.size(), params), "EVP_MAC_init");
  return ctx;
}

CipherCtxPtr xts_context(BytesView key, bool encrypt) {
  CipherPtr cipher(ossl::check_ptr(EVP_CIPHER_fetch(nullptr, "AES-128-XTS", nullptr), "EVP_CIPHER_fetch(AES-128-XTS)"));
  CipherCtxPtr ctx(ossl::check_ptr(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new"));
  ossl::check(EVP_CipherInit_ex2(ctx.get(), cipher.get(), key.data(), nullptr, encrypt ? 1 : 0, nullptr),
              "EVP_CipherInit_ex2(AES-128-XTS)");
  return ctx;
}

void xts_unit(EVP_CIPHER_CTX* ctx, const std::uint8_t* tweak, const std::uint8_t* in, std::uint8_t* out, std::size_t n) {
  int len = 0;
  ossl::check(EVP_CipherInit_ex2(ctx, nullptr, nullptr, tweak, -1, nullptr), "EVP_CipherInit_ex2(tweak)");
  ossl::check(EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(n)), "EVP_CipherUpdate(AES-128-XTS)");
}

// The tweak: the position little-endian, the file's kind in the last byte.
std::array<std::uint8_t, 16> tweak_of(PageFile file, std::uint64_t position) {
  std::array<std::uint8_t, 16> t{};
  for (int i = 0; i < 8; ++i) t[i] = static_cast<std::uint8_t>(position >> (8 * i));
  t[15] = static_cast<std::uint8_t>(file);
  return t;
}

}  // namespace

PageKeys PageKeys::derive(BytesView master) {
  if (master.size() < 16) fail(ErrorKind::Failed, "the store key is shorter than 128 bits");
  PageKeys k;
  hkdf(master, "xts-aes-128 page key", k.xts_);
  hkdf(master, "hmac-sha-256 page tag", k.mac_);
  // OpenSSL refuses XTS keys whose halves are equal; HKDF makes that a 2^-128 event.
  if (CRYPTO_memcmp(k.xts_.data(), k.xts_.data() + 16, 16) == 0) fail(ErrorKind::Failed, "derived XTS key halves are equal");
  return k;
}

PageKeys::PageKeys(const PageKeys& o) : xts_(o.xts_), mac_(o.mac_) {}

PageKeys::~PageKeys() {
  OPENSSL_cleanse(xts_.data(), xts_.size());
  OPENSSL_cleanse(mac_.data(), mac_.size());
}

std::string PageKeys::check_value() const {
  MacCtxPtr ctx = hmac_sha256(mac_);
  const std::string_view label = "applctl key check";
  std::uint8_t out[32];
  std::size_t n = 0;
  ossl::check(EVP_MAC_update(ctx.get(), reinterpret_cast<const std::uint8_t*>(label.data()), label.size()), "EVP_MAC_update");
  ossl::check(EVP_MAC_final(ctx.get(), out, &n, sizeof out), "EVP_MAC_final");
  return hex(BytesView(out, n));
}

struct PageCipher::Impl {
  CipherCtxPtr enc, dec;
  MacCtxPtr mac;

  void tag(const std::array<std::uint8_t, 16>& tweak, const std::uint8_t* data, std::uint8_t* out) {
    // A NULL key re-initialises HMAC with the key it already holds.
    ossl::check(EVP_MAC_init(mac.get(), nullptr, 0, nullptr), "EVP_MAC_init");
    ossl::check(EVP_MAC_update(mac.get(), tweak.data(), tweak.size()), "EVP_MAC_update");
    ossl::check(EVP_MAC_update(mac.get(), data, kPageDataSize), "EVP_MAC_update");
    std::size_t n = 0;
    ossl::check(EVP_MAC_final(mac.get(), out, &n, kPageTagSize), "EVP_MAC_final");
  }
};

PageCipher::PageCipher(const PageKeys& keys) : impl_(std::make_unique<Impl>()) {
  impl_->enc = xts_context(keys.xts_, true);
  impl_->dec = xts_context(keys.xts_, false);
  impl_->mac = hmac_sha256(keys.mac_);
}

PageCipher::~PageCipher() = default;

void PageCipher::encrypt_data(PageFile file, std::uint64_t position, std::span<std::uint8_t, kPageSize> page) {
  const auto tweak = tweak_of(file, position);
  xts_unit(impl_->enc.get(), tweak.data(), page.data(), page.data(), kPageDataSize);
}

void PageCipher::seal(PageFile file, std::uint64_t position, std::span<std::uint8_t, kPageSize> page) {
  encrypt_data(file, position, page);
  impl_->tag(tweak_of(file, position), page.data(), page.data() + kPageDataSize);
}

bool PageCipher::open(PageFile file, std::uint64_t position, std::span<std::uint8_t, kPageSize> page) {
  const auto tweak = tweak_of(file, position);
  std::uint8_t expected[kPageTagSize];
  impl_->tag(tweak, page.data(), expected);
  if (CRYPTO_memcmp(expected, page.data() + kPageDataSize, kPageTagSize) != 0) return false;
  xts_unit(impl_->dec.get(), tweak.data(), page.data(), page.data(), kPageDataSize);
  // SQLite never writes the reserved bytes, so they are zero in every page it holds: the WAL's and
  // the journal's checksums, taken over the page in memory, match the page read back.
  std::memset(page.data() + kPageDataSize, 0, kPageTagSize);
  return true;
}

Bytes xts_aes128(BytesView key, BytesView tweak, BytesView in, bool encrypt) {
  if (key.size() != 32 || tweak.size() != 16 || in.size() < 16) fail(ErrorKind::BadInput, "XTS-AES-128 needs a 32-byte key, a 16-byte tweak and 16 bytes or more");
  CipherCtxPtr ctx = xts_context(key, encrypt);
  Bytes out(in.size());
  xts_unit(ctx.get(), tweak.data(), in.data(), out.data(), in.size());
  return out;
}

}  // namespace applctl
