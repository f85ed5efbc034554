// Byte buffers, hex, the one base64 codec, SHA-256, bounded file reads and atomic writes (see
// applctl/base/bytes.hpp).
#include "applctl/base/bytes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "applctl/base/error.hpp"

namespace applctl {

std::string hex(BytesView b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (auto c : b) {
    out += digits[c >> 4];
    out += digits[c & 0x0f];
  }
  return out;
}

namespace {

// The length of the well-formed UTF-8 sequence s starts with that is not a control character
// (shortest form, no surrogates, at most U+10FFFF; C0, DEL and C1 excluded), or 0.
std::size_t text_char_length(std::string_view s) {
  const auto b = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  const auto cont = [&](std::size_t i) { return (b(i) & 0xC0) == 0x80; };
  const unsigned c = b(0);
  if (c < 0x80) return (c >= 0x20 && c != 0x7f) ? 1 : 0;
  if (c == 0xC2) return b(1) >= 0xA0 && b(1) <= 0xBF ? 2 : 0;  // C2 80..C2 9F: C1 controls
  if (c >= 0xC3 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return b(1) >= lo && b(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return b(1) >= lo && b(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string printable(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = text_char_length(s.substr(i)); n != 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    // An offending byte; a C1 control's two bytes are both escaped.
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t bytes = (b == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                               static_cast<unsigned char>(s[i + 1]) <= 0x9F)
                                  ? 2
                                  : 1;
    for (std::size_t k = 0; k < bytes; ++k) {
      const auto v = static_cast<unsigned char>(s[i + k]);
      out += "\\x";
      out += digits[v >> 4];
      out += digits[v & 0x0f];
    }
    i += bytes;
  }
  return out;
}

bool is_printable(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = text_char_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sha256_hex(BytesView b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(b.data(), b.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::Failed, "EVP_Digest(SHA-256) failed");
  return hex({md, len});
}

namespace {

const char* alphabet_of(const Base64Rules& rules) {
  return rules.alphabet == Base64Rules::Alphabet::Url
             ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

int sextet(char c, const Base64Rules& rules) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  const bool url = rules.alphabet == Base64Rules::Alphabet::Url;
  if (c == (url ? '-' : '+')) return 62;
  if (c == (url ? '_' : '/')) return 63;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string base64_encode(BytesView b, const Base64Rules& rules) {
  const char* abc = alphabet_of(rules);
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{b[i]} << 16) | (std::uint32_t{b[i + 1]} << 8) | b[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += abc[(v >> shift) & 63];
  }
  const std::size_t rest = b.size() - i;  // 0, 1 or 2 bytes: 0, 2 or 3 characters
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{b[i]} << 16;
    if (rest == 2) v |= std::uint32_t{b[i + 1]} << 8;
    for (std::size_t k = 0; k <= rest; ++k) out += abc[(v >> (18 - 6 * k)) & 63];
    if (rules.padded) out.append(3 - rest, '=');
  }
  return out;
}

std::optional<Bytes> base64_try_decode(std::string_view text, const Base64Rules& rules, std::string* why) {
  auto refuse = [&](std::string reason) -> std::optional<Bytes> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  Bytes out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t chars = 0, pad = 0;
  for (char c : text) {
    if (rules.skip_whitespace && is_space(c)) continue;
    if (c == '=') {
      if (!rules.padded) return refuse("unexpected character '='");
      ++pad;
      continue;
    }
    if (pad > 0) return refuse("data after '=' padding");
    const int v = sextet(c, rules);
    if (v < 0) return refuse(fmt::format("unexpected character '{}'", printable(std::string(1, c))));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    ++chars;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  if (chars % 4 == 1) return refuse("impossible length");
  if (rules.padded && (chars + pad) % 4 != 0) return refuse("the length is not a multiple of 4");
  if (rules.padded && pad != (4 - chars % 4) % 4) return refuse("wrong '=' padding");
  if (rules.canonical && (acc & ((1u << bits) - 1)) != 0) return refuse("non-zero trailing bits");
  return out;
}

Bytes base64_decode(std::string_view text, const Base64Rules& rules) {
  std::string why;
  auto out = base64_try_decode(text, rules, &why);
  if (!out)
    fail(ErrorKind::BadInput,
         fmt::format("invalid {}: {}", rules.alphabet == Base64Rules::Alphabet::Url ? "base64url" : "base64", why));
  return std::move(*out);
}

Bytes read_stream(std::istream& in, const std::string& name, std::size_t limit) {
  Bytes data;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.insert(data.end(), buf, buf + in.gcount());
    if (data.size() > limit)  // a device like /dev/zero or a pipe that never ends stops here
      fail(ErrorKind::BadInput, fmt::format("cannot read '{}': larger than {}", name,
                                             limit % (1u << 20) == 0 ? fmt::format("{} MiB", limit >> 20)
                                                                     : fmt::format("{} bytes", limit)),
           "is it the right file? certificates, keys and configuration files are small");
  }
  if (in.bad()) fail(ErrorKind::BadInput, fmt::format("cannot read '{}': read error", name));
  return data;
}

Bytes read_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    fail(ErrorKind::BadInput,
         fmt::format("cannot read '{}': {}", path, std::strerror(err)));
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(ErrorKind::BadInput, fmt::format("cannot read '{}': it is a directory", path));
  return read_stream(in, path, limit);
}

namespace {

// Writes all of data to fd; false with errno set on failure.
bool write_all(int fd, BytesView data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& given, BytesView data, unsigned mode, bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code ec;
  struct stat st{};
  if (::stat(given.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    // A device, a FIFO or a socket (/dev/null, /dev/stdout into a pipe) is written into as it
    // is, as the openssl CLI does: a rename would replace it with a regular file.
    int fd = ::open(given.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || !write_all(fd, data)) {
      int err = errno;
      if (fd >= 0) ::close(fd);
      fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, std::strerror(err)));
    }
    ::close(fd);
    return;
  }
  if (!overwrite && fs::exists(given, ec))
    fail(ErrorKind::Refused, fmt::format("'{}' already exists", given), "pass --force to overwrite it");
  // A symbolic link stays a link: the file it names is written (created when it does not exist).
  std::string path = given;
  if (fs::is_symlink(fs::symlink_status(given, ec))) {
    fs::path named = fs::canonical(given, ec);
    if (ec) {
      ec.clear();
      fs::path link = fs::read_symlink(given, ec);
      if (ec) fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, ec.message()));
      named = link.is_absolute() ? link : fs::path(given).parent_path() / link;
    }
    path = named.string();
  }
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  unsigned char rnd[6];
  RAND_bytes(rnd, sizeof rnd);
  fs::path tmp = dir / fmt::format(".{}.{}.tmp", target.filename().string(), hex(rnd));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, std::strerror(errno)));
  ::fchmod(fd, static_cast<mode_t>(mode));  // exact mode, whatever the umask
  if (!write_all(fd, data)) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, std::strerror(err)));
  }
  // Replacing a file (a renewal over the old certificate) or writing a key is flushed to disk
  // first, so a power cut never leaves an empty file where a good one was. A new public file
  // (a CSR, an exported certificate) can be written again, so it is not worth an fsync.
  const bool durable = overwrite || (mode & 0077) == 0;
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, std::strerror(err)));
  }
  if (!overwrite) {
    // link(2) fails if the target appeared meanwhile, so a racing writer is never clobbered.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      if (err == EEXIST)
        fail(ErrorKind::Refused, fmt::format("'{}' already exists", given), "pass --force to overwrite it");
      fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, std::strerror(err)));
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(ErrorKind::Failed, fmt::format("cannot write '{}': {}", given, std::strerror(err)));
  }
}

}  // namespace applctl
