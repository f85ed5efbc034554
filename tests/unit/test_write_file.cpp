// write_file_atomic: new files, --force replacements, symbolic links, FIFOs.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>

#include "applctl/base/bytes.hpp"
#include "applctl/base/error.hpp"
#include "unit_pki.hpp"

namespace fs = std::filesystem;
using applctl::Bytes;
using applctl::write_file_atomic;
using unit_pki::TempDir;

namespace {

std::string slurp(const fs::path& p) { return unit_pki::read_text(p.string()); }

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

unsigned lstat_mode(const fs::path& p) {
  struct stat st{};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("write_file_atomic creates with the mode, refuses an existing file and replaces it when told", "[bytes]") {
  TempDir d;
  const fs::path f = d.path() / "out.pem";
  write_file_atomic(f.string(), bytes("one"), 0600, false);
  CHECK(slurp(f) == "one");
  CHECK(lstat_mode(f) == 0600);
  try {
    write_file_atomic(f.string(), bytes("two"), 0644, false);
    FAIL("an existing file was overwritten without overwrite");
  } catch (const applctl::Error& e) {
    CHECK(e.kind() == applctl::ErrorKind::Refused);
  }
  CHECK(slurp(f) == "one");
  write_file_atomic(f.string(), bytes("two"), 0644, true);
  CHECK(slurp(f) == "two");
  CHECK(lstat_mode(f) == 0644);
  CHECK(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator()) == 1);  // no temporary file left
}

TEST_CASE("write_file_atomic writes through a symbolic link and keeps the link", "[bytes]") {
  TempDir d;
  fs::create_directory(d.path() / "real");
  const fs::path file = d.path() / "real" / "cert.pem";
  const fs::path link = d.path() / "current.pem";
  write_file_atomic(file.string(), bytes("old"), 0644, false);
  fs::create_symlink("real/cert.pem", link);
  write_file_atomic(link.string(), bytes("new"), 0644, true);
  CHECK(fs::is_symlink(fs::symlink_status(link)));
  CHECK(fs::read_symlink(link) == "real/cert.pem");
  CHECK(slurp(file) == "new");

  // A link to a file that does not exist yet: the file is created, the link stays.
  const fs::path dangling = d.path() / "next.pem";
  fs::create_symlink("real/next.pem", dangling);
  write_file_atomic(dangling.string(), bytes("next"), 0600, false);
  CHECK(fs::is_symlink(fs::symlink_status(dangling)));
  CHECK(slurp(d.path() / "real" / "next.pem") == "next");
  CHECK(lstat_mode(d.path() / "real" / "next.pem") == 0600);
}

TEST_CASE("write_file_atomic writes into a FIFO instead of replacing it", "[bytes]") {
  // /dev/null and /dev/stdout in a pipe are the same case; a FIFO of the test's own is safe to use.
  TempDir d;
  const fs::path fifo = d.path() / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto reader = std::async(std::launch::async, [&] { return slurp(fifo); });
  write_file_atomic(fifo.string(), bytes("through the pipe"), 0644, false);  // no --force needed
  CHECK(reader.get() == "through the pipe");
  struct stat st{};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK(std::distance(fs::directory_iterator(d.path()), fs::directory_iterator()) == 1);
}
