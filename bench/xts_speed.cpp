// Throughput of the encrypted store's page cipher, in the units of `openssl speed` (1000s of
// bytes per second), for scripts/bench: XTS-AES-128 alone over the 4064 data bytes of a page
// (compared with `openssl speed -evp aes-128-xts -bytes 4064`), then a whole seal (XTS + the
// HMAC-SHA-256 tag) and a whole open (tag check + XTS decryption), as the VFS does per page.
// Usage: applctl_xts_speed [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "applctl/store/page_cipher.hpp"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double kbytes_per_second(double seconds, F&& per_page) {
  std::vector<std::uint8_t> pages(256 * applctl::kPageSize, 0x5a);
  std::uint64_t done = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    for (std::size_t i = 0; i < 256; ++i) {
      per_page(i * applctl::kPageSize, std::span<std::uint8_t, applctl::kPageSize>(pages.data() + i * applctl::kPageSize,
                                                                                   applctl::kPageSize));
    }
    done += 256;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(done) * applctl::kPageDataSize / elapsed / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const applctl::PageKeys keys = applctl::PageKeys::derive(applctl::Bytes(32, 7));
  applctl::PageCipher cipher(keys);
  using applctl::PageFile;
  const double xts = kbytes_per_second(seconds, [&](std::uint64_t pos, auto page) { cipher.encrypt_data(PageFile::Database, pos, page); });
  const double seal = kbytes_per_second(seconds, [&](std::uint64_t pos, auto page) { cipher.seal(PageFile::Database, pos, page); });
  // Pages sealed once, then opened (an open decrypts in place, so each round re-seals first,
  // and the seal's time is taken off).
  const double seal_open = kbytes_per_second(seconds, [&](std::uint64_t pos, auto page) {
    cipher.seal(PageFile::Database, pos, page);
    if (!cipher.open(PageFile::Database, pos, page)) std::abort();
  });
  const double open = 1.0 / (1.0 / seal_open - 1.0 / seal);
  std::printf("xts %.0f\nseal %.0f\nopen %.0f\n", xts, seal, open);
  return 0;
}
