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

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) out += fmt::format("\\x{:02x}", b);
    else out += c;
  }
  return out;
}

std::string sha256_hex(BytesView b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(b.data(), b.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::Failed, "EVP_Digest(SHA-256) failed");
  return hex({md, len});
}

std::string base64_encode(BytesView b) {
  std::string out(4 * ((b.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), b.data(), static_cast<int>(b.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Bytes base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') clean += c;
  if (clean.size() % 4 != 0) fail(ErrorKind::BadInput, "invalid base64: the length is not a multiple of 4");
  Bytes out(clean.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) fail(ErrorKind::BadInput, "invalid base64: unexpected character");
  std::size_t pad = 0;  // EVP_DecodeBlock counts the '=' padding as zero bytes
  for (auto it = clean.rbegin(); it != clean.rend() && *it == '=' && pad < 2; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
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
