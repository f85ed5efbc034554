// [iofault] The store's file system failing under applctl: a full disk (a small tmpfs this test
// mounts when it may, and a file size limit that needs no privilege), a file system remounted
// read-only, the store directory removed (or its database renamed) while a writer waits for the
// lock. Each time: a clear error naming the store and the cause, exit 1, nothing changed, and
// `applctl doctor` clean once the fault is gone.
#include <sys/mount.h>

#include <string>

#include "cli/spawn.hpp"
#include "cli/test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::Child;
using clitest::Result;
using clitest::run_process;
using clitest::TempDir;
namespace fs = std::filesystem;

using clitest::has;

// A tmpfs of `kib` KiB mounted on a new directory, unmounted (lazily if busy) at the end.
struct Tmpfs {
  TempDir parent;
  fs::path dir = parent / "mnt";
  bool mounted = false;
  explicit Tmpfs(int kib) {
    fs::create_directories(dir);
    const std::string opts = "size=" + std::to_string(kib) + "k,mode=0700";
    mounted = ::geteuid() == 0 && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted && ::umount2(dir.c_str(), 0) != 0) ::umount2(dir.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool remount(bool read_only) {
    return ::mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT | (read_only ? MS_RDONLY : 0), nullptr) == 0;
  }
};

// Writes zeroes into `file` until the file system refuses: the disk is full.
void fill(const fs::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  std::string block(4096, '\0');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  while (::write(fd, block.data(), 1) > 0) {
  }
  ::close(fd);
}

// A store with the factory default, two certificates and an address, at a.store; the import
// passphrase of FaultInputs in IO_PASS.
void fill_store(Appliance& a) {
  a.env["IO_PASS"] = "io pass";
  a.json({"init", "--hostname", "appl.example.com"});
  a.json({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "web.example.com"});
  a.json({"ip", "add", "192.0.2.10"});
  a.json({"ip", "assign", "web", "192.0.2.10"});
  a.json({"cert", "list"});  // the -wal and -shm files exist (applctl keeps them), as on a live appliance
}

struct FaultInputs {
  TempDir dir;
  fs::path p12 = dir / "corp.p12", yaml = dir / "appliance.yaml";
  FaultInputs() {
    const auto& pki = clitest::test_pki();
    clitest::openssl_ok({"pkcs12", "-export", "-in", (pki / "leaf.pem").string(), "-inkey", (pki / "leaf.key").string(),
                         "-certfile", (pki / "int.pem").string(), "-passout", "pass:io pass", "-out", p12.string()});
    clitest::spit(yaml,
                  "version: 1\ncertificates:\n  - name: site\n    self_signed: {key: \"ec:P-256\", cn: site.example.com}\n"
                  "  - name: corp\n    import: {file: corp.p12, passphrase_env: IO_PASS}\n"
                  "ips:\n  - {address: 192.0.2.30, certificate: site}\ndefault: site\n");
  }
  // The writes every fault is tried with.
  std::vector<std::vector<std::string>> writes() const {
    return {{"cert", "import", p12.string(), "--passphrase-env", "IO_PASS"},
            {"cert", "self-signed", "--name", "new", "--key", "ec:P-256", "--cn", "new.example.com"},
            {"apply", "-f", yaml.string()}};
  }
};

// Everything the store holds, read by the sqlite3 CLI without a write: a read-write sqlite3 that
// closes last checkpoints and deletes the -wal and -shm files (applctl keeps them), and a store
// without its -shm cannot even be read on a full disk.
std::string dump(const Appliance& a) {
  Result r = run_process({"sqlite3", "-readonly", a.db().string(),
                          "SELECT * FROM certificates; SELECT * FROM keys; SELECT * FROM requests;"
                          " SELECT * FROM settings; SELECT * FROM ip_addresses; SELECT * FROM renewals;"
                          " SELECT count(*) FROM audit_log;"});
  INFO("sqlite3 -readonly: " << r.err);
  CHECK(r.code == 0);
  return r.out;
}

void check_doctor_clean(const Appliance& a) {
  Result d = a.run({"doctor"});
  INFO("doctor: " << d.out << d.err);
  CHECK(d.code == 0);
}

}  // namespace

TEST_CASE("a full disk (tmpfs): writes fail naming the store and the cause, nothing changes", "[cli][iofault][long]") {
  Tmpfs t(768);
  if (!t.mounted) {
    WARN("cannot mount a tmpfs here (not root?): the file size limit variant covers the full disk");
    return;
  }
  FaultInputs in;
  Appliance a;
  a.store = t.dir / "store";
  fill_store(a);
  const std::string before = dump(a);
  fill(t.dir / "filler");
  for (const auto& args : in.writes()) {
    Result r = a.run(args);
    INFO("applctl " << args[0] << " " << args[1] << ": exit " << r.code << "\n" << r.err);
    CHECK(r.code == 1);
    CHECK(has(r.err, "no space left"));
    CHECK(has(r.err, a.store.string()));
    CHECK(has(r.err, "the store is unchanged"));
    CHECK(dump(a) == before);
  }
  // Reads still work on the full disk.
  CHECK(a.run({"cert", "list"}).code == 0);
  fs::remove(t.dir / "filler");
  CHECK(dump(a) == before);
  check_doctor_clean(a);
  for (const auto& args : in.writes()) {
    Result r = a.run(args);
    INFO(r.err);
    CHECK(r.code == 0);  // the same commands succeed with space
  }
  check_doctor_clean(a);
}

TEST_CASE("a file size limit (RLIMIT_FSIZE, SIGXFSZ ignored): writes fail clearly, nothing changes", "[cli][iofault][long]") {
  FaultInputs in;
  Appliance a;
  fill_store(a);
  const std::string before = dump(a);
  TempDir scratch;
  for (const auto& args : in.writes()) {
    std::vector<std::string> argv{APPLCTL_BIN, "--store", a.store.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    Result r = clitest::run_limited(argv, scratch.path, {a.env, 8192});
    INFO("applctl " << args[0] << " " << args[1] << ": exit " << r.code << "\n" << r.err);
    CHECK(r.code == 1);
    CHECK(has(r.err, "file size limit"));
    CHECK(has(r.err, a.store.string()));
    CHECK(dump(a) == before);
  }
  check_doctor_clean(a);
  for (const auto& args : in.writes()) CHECK(a.run(args).code == 0);
  check_doctor_clean(a);
}

TEST_CASE("a read-only file system: reads work, writes fail clearly, nothing changes", "[cli][iofault][long]") {
  Tmpfs t(2048);
  if (!t.mounted) {
    WARN("cannot mount a tmpfs here (not root?): skipped");
    return;
  }
  FaultInputs in;
  Appliance a;
  a.store = t.dir / "store";
  fill_store(a);
  const std::string before = dump(a);
  const auto list = a.json({"cert", "list"});
  REQUIRE(t.remount(true));
  for (const auto& args : std::vector<std::vector<std::string>>{{"cert", "list"}, {"status"}, {"ip", "list"}, {"doctor"}}) {
    Result r = a.run(args);
    INFO("applctl " << args[0] << ": " << r.err);
    CHECK(r.code == 0);
  }
  CHECK(a.json({"cert", "list"}) == list);
  auto writes = in.writes();
  writes.push_back({"ip", "assign", "web", "192.0.2.10"});
  writes.push_back({"cert", "rename", "web", "www"});
  for (const auto& args : writes) {
    Result r = a.run(args);
    INFO("applctl " << args[0] << " " << args[1] << ": exit " << r.code << "\n" << r.err);
    CHECK(r.code == 1);
    CHECK(has(r.err, "read-only file system"));
    CHECK(has(r.err, a.store.string()));
  }
  REQUIRE(t.remount(false));
  CHECK(dump(a) == before);
  check_doctor_clean(a);
}

TEST_CASE("the store removed or its database renamed while a writer waits for the lock", "[cli][iofault][long]") {
  for (const bool remove_dir : {true, false}) {
    INFO((remove_dir ? "rm -rf the store directory" : "mv the database file"));
    Appliance a;
    fill_store(a);
    TempDir work;
    clitest::LockHolder holder(a.db(), work.path);
    std::vector<std::string> argv{APPLCTL_BIN, "--store", a.store.string(), "cert", "self-signed", "--name", "late",
                                  "--key", "ec:P-256", "--cn", "late.example.com"};
    Child writer = clitest::spawn(argv, work / "w.out", work / "w.err", {{{"APPLCTL_LOCK_TIMEOUT", "30"}}, -1});
    // The writer has the store open (its database among its open files) and waits for the lock.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool open = false;
    while (!open && std::chrono::steady_clock::now() < deadline) {
      std::error_code ec;
      for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(writer.pid) + "/fd", ec)) {
        std::error_code ec2;
        if (fs::read_symlink(fd.path(), ec2) == a.db()) open = true;
      }
      if (!open) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(open);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // now in the busy wait
    const fs::path moved = work / "moved.db";
    if (remove_dir)
      fs::remove_all(a.store);
    else
      fs::rename(a.db(), moved);
    CHECK(holder.finish() == 0);
    const int code = clitest::wait_child(writer);
    const std::string err = clitest::slurp(writer.err);
    INFO("writer: exit " << code << "\n" << err);
    CHECK(code == 1);
    CHECK(has(err, "was removed or moved while this command ran"));
    CHECK(has(err, a.store.string()));
    // Nothing recreated in its place: no half store.
    CHECK_FALSE(fs::exists(a.db()));
    if (remove_dir) CHECK_FALSE(fs::exists(a.store));
    if (!remove_dir) {
      fs::rename(moved, a.db());
      check_doctor_clean(a);
      CHECK(a.run({"cert", "show", "late"}).code == 4);  // the write did not land in the moved file either
    }
  }
}
