// The cipher of an encrypted store (data at rest, seed 003): every page image is encrypted with
// XTS-AES-128, its position in its file as the tweak (as a disk encrypts a sector), and carries an
// HMAC-SHA-256 tag in its last 32 bytes, the page's reserved bytes. So a wrong key or an altered,
// moved or truncated page is detected, never decrypted to garbage.
//
// Both keys come from the key held by the KMIP server, through HKDF-SHA-256 with distinct labels;
// the KMIP key itself is wiped as soon as they are derived, and they are wiped on destruction.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "applctl/base/bytes.hpp"

namespace applctl {

inline constexpr std::size_t kPageSize = 4096;  // SQLite's default; the only one an encrypted store uses
inline constexpr std::size_t kPageTagSize = 32;  // HMAC-SHA-256, in the page's reserved bytes
inline constexpr std::size_t kPageDataSize = kPageSize - kPageTagSize;

// Which file a page image lives in: a page moved from one to another fails its tag.
enum class PageFile : std::uint8_t { Database = 'D', Journal = 'J', Wal = 'W' };

// The derived keys: XTS-AES-128 (two 128-bit halves, never equal) and HMAC-SHA-256.
class PageKeys {
 public:
  // HKDF-SHA-256 over the KMIP key (at least 16 bytes).
  static PageKeys derive(BytesView master);
  PageKeys(const PageKeys&);
  PageKeys& operator=(const PageKeys&) = delete;
  ~PageKeys();
  // Identifies the key without revealing it: HMAC(mac key, "applctl key check"), hex. Kept beside
  // the store so a different key is named as such, not mistaken for a damaged page.
  std::string check_value() const;

 private:
  friend class PageCipher;
  PageKeys() = default;
  std::array<std::uint8_t, 32> xts_{};
  std::array<std::uint8_t, 32> mac_{};
};

// Seals and opens page images in place. Holds OpenSSL contexts: one per open file, one thread.
class PageCipher {
 public:
  explicit PageCipher(const PageKeys& keys);
  ~PageCipher();
  PageCipher(const PageCipher&) = delete;
  PageCipher& operator=(const PageCipher&) = delete;

  // Encrypts page[0, kPageDataSize) and writes the tag over page[kPageDataSize, kPageSize).
  void seal(PageFile file, std::uint64_t position, std::span<std::uint8_t, kPageSize> page);
  // The XTS half of seal(): page[0, kPageDataSize) encrypted, no tag (what the benchmark times
  // against `openssl speed -evp aes-128-xts`).
  void encrypt_data(PageFile file, std::uint64_t position, std::span<std::uint8_t, kPageSize> page);
  // Checks the tag, then decrypts in place and zeroes the tag bytes (SQLite keeps them zero);
  // false (page untouched) when the tag does not match.
  bool open(PageFile file, std::uint64_t position, std::span<std::uint8_t, kPageSize> page);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// XTS-AES-128 of one data unit (>= 16 bytes), for the IEEE 1619 vectors and the benchmark.
// key: 32 bytes (key1 || key2); tweak: 16 bytes, the data unit number little-endian.
Bytes xts_aes128(BytesView key, BytesView tweak, BytesView in, bool encrypt);

}  // namespace applctl
