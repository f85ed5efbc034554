// Secrets never leak: every passphrase, password, HMAC key and private key the test hands applctl
// (or has it make) is looked for in what applctl shows the rest of the machine: its
// /proc/PID/cmdline and /proc/PID/environ while it works, its stdout and stderr at -vv, the audit
// log, the files of `cert bundle`, `export-config`'s YAML and files, and the store directory.
// The scanner is checked to find a secret planted on purpose, so the test can fail.
#include <sys/stat.h>

#include <chrono>
#include <set>
#include <thread>

#include "background.hpp"

namespace {

using clitest::Appliance;
using clitest::Result;
using clitest::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The PEM marker of a private key, in two pieces so that no source file holds it whole.
const std::string kPrivateKeyMarker = std::string("PRIVATE ") + "KEY-----";

class Secrets {
 public:
  void add(const std::string& label, const std::string& value) {
    REQUIRE(value.size() >= 12);  // long enough not to match by chance
    items_.emplace_back(label, value);
  }
  // The body lines of the private key in a PEM file (one secret each), and the private scalar in hex when openssl
  // shows one (`priv:` of an EC key).
  void add_key(const std::string& label, const fs::path& pem) {
    std::istringstream in(clitest::slurp(pem));
    std::string line;
    int n = 0;
    bool in_key = false;  // the file may hold certificates too: only the key's block counts
    while (std::getline(in, line)) {
      if (line.rfind("-----", 0) == 0) {
        in_key = line.rfind("-----BEGIN", 0) == 0 && line.find(kPrivateKeyMarker) != std::string::npos;
        continue;
      }
      if (!in_key || line.find(':') != std::string::npos || line.size() < 16) continue;
      add(label + " line " + std::to_string(++n), line);
    }
    REQUIRE(n > 0);
    Result text = clitest::openssl({"pkey", "-in", pem.string(), "-noout", "-text"});
    REQUIRE(text.code == 0);
    auto from = text.out.find("priv:"), to = text.out.find("pub:");
    if (from == std::string::npos || to == std::string::npos) return;
    std::string hex;
    for (char c : text.out.substr(from + 5, to - from - 5))
      if (std::isxdigit(static_cast<unsigned char>(c)) != 0) hex += c;
    REQUIRE(hex.size() >= 64);
    add(label + " raw hex", hex);
  }
  std::size_t size() const { return items_.size(); }

  // The labels of the secrets `text` holds (also hex in either case).
  std::vector<std::string> in(const std::string& text, bool keys_too = true) const {
    std::vector<std::string> found;
    const std::string low = clitest::lower(text);
    for (const auto& [label, value] : items_) {
      if (!keys_too && label.rfind("key ", 0) == 0) continue;
      const bool hex = value.find_first_not_of("0123456789abcdef") == std::string::npos;
      if (text.find(value) != std::string::npos || (hex && low.find(value) != std::string::npos))
        found.push_back(label);
    }
    return found;
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Checks `text` (from `where`) holds no secret; counts what was scanned.
struct Scanner {
  const Secrets& secrets;
  int scanned = 0;
  void none_in(const std::string& where, const std::string& text, bool keys_too = true, bool marker_allowed = false) {
    ++scanned;
    INFO("scanned: " << where);
    CHECK(secrets.in(text, keys_too) == std::vector<std::string>{});
    if (!marker_allowed) CHECK(text.find(kPrivateKeyMarker) == std::string::npos);
  }
  void none_in(const std::string& where, const Result& r) {
    none_in(where + " (stdout)", r.out);
    none_in(where + " (stderr)", r.err);
  }
};

std::string proc_file(pid_t pid, const char* name) { return clitest::slurp(fs::path("/proc") / std::to_string(pid) / name); }

// True when the process has the file open (it has got past its argument parsing).
bool has_open(pid_t pid, const fs::path& file) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "fd", ec)) {
    std::error_code ec2;
    if (fs::read_symlink(e.path(), ec2) == file) return true;
  }
  return false;
}

// What a sampling of one running applctl saw.
struct Sampled {
  int samples = 0;         // readings of cmdline and environ
  int after_open = 0;      // of those, once the store was open
  int with_marker = 0;     // environ readings that showed the variable we know is there
  std::set<std::string> leaks;  // where: which secret
};

// Runs argv (with extra environment) in the background and reads its cmdline and environ until
// it exits. cmdline must never hold a secret; environ must not once the store is open (before
// that, the variable may still be there: applctl has not parsed its arguments yet).
Sampled sample_while_running(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                             const Secrets& secrets, const fs::path& db, const std::function<void()>& after_open,
                             Result* result) {
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::optional<clitest::Background> proc;
  proc.emplace(argv);
  for (const auto& [k, v] : env) ::unsetenv(k.c_str());
  Sampled s;
  bool released = false;
  const fs::path db_path = fs::canonical(db);
  const pid_t pid = proc->pid();
  for (auto end = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < end && proc->running();) {
    const bool open = has_open(pid, db_path);  // first: what is read next is at least this late
    std::string cmdline = proc_file(pid, "cmdline"), environ_text = proc_file(pid, "environ");
    if (!proc->running()) break;
    ++s.samples;
    for (const auto& l : secrets.in(cmdline)) s.leaks.insert("cmdline: " + l);
    if (open) {
      ++s.after_open;
      if (environ_text.find("APPLCTL_SECRETS_TEST=visible") != std::string::npos) ++s.with_marker;
      for (const auto& l : secrets.in(environ_text)) s.leaks.insert("environ: " + l);
      if (!released && s.after_open >= 50) {
        after_open();
        released = true;
      }
    }
    std::this_thread::sleep_for(2ms);
  }
  if (!released) after_open();
  REQUIRE_FALSE(proc->running());
  result->code = proc->stop();
  result->out = proc->out();
  result->err = proc->err();
  return s;
}

// sqlite3 holds the store's write lock until release() (at most ~20 s).
class LockHolder {
 public:
  explicit LockHolder(const fs::path& db) {
    const std::string script = "BEGIN IMMEDIATE;\n.shell touch '" + (dir_ / "locked").string() +
                               "'\n.shell i=0; while [ ! -e '" + (dir_ / "go").string() +
                               "' ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done\nCOMMIT;\n";
    clitest::spit(dir_ / "script", script);
    proc_.emplace(std::vector<std::string>{"sh", "-c", "sqlite3 \"$0\" < \"$1\"", db.string(), (dir_ / "script").string()});
    for (int i = 0; i < 1000 && !fs::exists(dir_ / "locked"); ++i) std::this_thread::sleep_for(10ms);
    REQUIRE(fs::exists(dir_ / "locked"));
  }
  void release() { clitest::spit(dir_ / "go", ""); }
  int wait() {
    release();
    return proc_->stop(0, 30s);
  }

 private:
  TempDir dir_;
  std::optional<clitest::Background> proc_;
};

std::string files_text(const fs::path& dir, const std::function<bool(const fs::path&)>& skip = {}) {
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && !(skip && skip(e.path()))) all += clitest::slurp(e.path());
  return all;
}

}  // namespace

TEST_CASE("the secret scanner finds a planted secret in text and in a process environment", "[cli][secrets]") {
  Secrets secrets;
  secrets.add("planted", "pl4nted-S3cret-0b7c");
  secrets.add("key hex", "00112233445566778899aabbccddeeff");
  CHECK(secrets.in("a log line with pl4nted-S3cret-0b7c in it") == std::vector<std::string>{"planted"});
  CHECK(secrets.in("priv 00112233445566778899AABBCCDDEEFF") == std::vector<std::string>{"key hex"});
  CHECK(secrets.in("priv 00112233445566778899AABBCCDDEEFF", false).empty());
  CHECK(secrets.in("nothing here").empty());
  // A process that does not take the variable out shows it in /proc/PID/environ.
  ::setenv("PLANTED_SECRET", "pl4nted-S3cret-0b7c", 1);
  clitest::Background sleeper({"sleep", "5"});
  ::unsetenv("PLANTED_SECRET");
  for (int i = 0; i < 500 && proc_file(sleeper.pid(), "cmdline").rfind("sleep", 0) != 0; ++i)
    std::this_thread::sleep_for(10ms);  // until it has been executed
  CHECK(secrets.in(proc_file(sleeper.pid(), "environ")) == std::vector<std::string>{"planted"});
}

TEST_CASE("no passphrase password or key appears in proc argv env logs audit bundles or exports", "[cli][secrets]") {
  const std::string p12_pass = "p12-Imp0rt-S3cret-4f1d", export_pass = "exp0rt-Pass-9a2c7e-x",
                    config_pass = "c0nfig-Pass-b81e-yy", kmip_key_pass = "kmip-K3y-Pass-31c0",
                    kmip_password = "kmip-Pa55word-77d3", eab_hmac = "c2VjcmV0LWVhYi1obWFjLWtleS0xMjM0NTY3ODkwYWI";
  Secrets secrets;
  secrets.add("import passphrase", p12_pass);
  secrets.add("export passphrase", export_pass);
  secrets.add("export-config passphrase", config_pass);
  secrets.add("kmip client key passphrase", kmip_key_pass);
  secrets.add("kmip password", kmip_password);
  secrets.add("eab hmac", eab_hmac);

  // Keys made by openssl: the one in the PKCS#12 that is imported, and the KMIP client's.
  TempDir pki;
  auto p = [&](const std::string& n) { return (pki / n).string(); };
  auto ok = [](const Result& r) {
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  };
  for (const char* k : {"corp", "kmip-ca", "client"})
    ok(clitest::openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(std::string(k) + ".key")}));
  ok(clitest::openssl({"req", "-x509", "-new", "-key", p("corp.key"), "-subj", "/CN=corp.example.com", "-addext",
                       "subjectAltName=DNS:corp.example.com", "-addext", "basicConstraints=critical,CA:FALSE", "-addext",
                       "extendedKeyUsage=serverAuth", "-days", "365", "-out", p("corp.pem")}));
  ok(clitest::run_process({"openssl", "pkcs12", "-export", "-in", p("corp.pem"), "-inkey", p("corp.key"), "-out", p("corp.p12"),
                           "-passout", "env:PASS"},
                          {{"PASS", p12_pass}}));
  ok(clitest::openssl({"req", "-x509", "-new", "-key", p("kmip-ca.key"), "-subj", "/CN=KMIP Test CA", "-days", "365",
                       "-out", p("kmip-ca.pem")}));
  ok(clitest::openssl({"req", "-new", "-key", p("client.key"), "-subj", "/CN=appliance", "-out", p("client.csr")}));
  ok(clitest::openssl({"x509", "-req", "-in", p("client.csr"), "-CA", p("kmip-ca.pem"), "-CAkey", p("kmip-ca.key"), "-days",
                       "365", "-out", p("client.pem")}));
  ok(clitest::run_process({"openssl", "pkey", "-in", p("client.key"), "-aes256", "-passout", "env:PASS", "-out",
                           p("client-enc.key")},
                          {{"PASS", kmip_key_pass}}));
  secrets.add_key("key corp", pki / "corp.key");
  secrets.add_key("key kmip client", pki / "client.key");
  clitest::spit(pki / "export.pass", export_pass + "\n");

  Appliance a;
  a.env["APPLCTL_SECRETS_TEST"] = "visible";
  std::vector<Result> runs;  // every command's output, scanned at the end
  auto must = [&](std::vector<std::string> args, int expect = 0) {
    args.insert(args.begin(), "-vv");
    Result r = a.run(args);
    INFO("applctl " << args.at(1) << " " << (args.size() > 2 ? args[2] : "") << ": " << r.out << r.err);
    REQUIRE(r.code == expect);
    runs.push_back(r);
    return r;
  };
  must({"init", "--hostname", "appl.example.com"});
  must({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "web.example.com"});
  // An explicit export of web's key, unencrypted: its lines are secrets from here on.
  must({"cert", "export", "web", "--format", "pem", "--with-key", "--no-passphrase", "--insecure", "-o", p("web-plain.pem")});
  secrets.add_key("key web", pki / "web-plain.pem");

  // cert import with --passphrase-env while another process holds the store's lock: the import
  // waits, and all the while its /proc/PID/environ must not show the passphrase.
  Sampled sampled;
  {
    LockHolder lock(a.db());
    Result r;
    sampled = sample_while_running({APPLCTL_BIN, "-vv", "--store", a.store.string(), "cert", "import", "--name", "corp",
                                    p("corp.p12"), "--passphrase-env", "P12_PASS"},
                                   {{"P12_PASS", p12_pass}, {"APPLCTL_SECRETS_TEST", "visible"}, {"APPLCTL_LOCK_TIMEOUT", "20"}},
                                   secrets, a.db(), [&] { lock.release(); }, &r);
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(lock.wait() == 0);
    runs.push_back(r);
  }
  INFO("proc samples " << sampled.samples << ", after the store was open " << sampled.after_open);
  CHECK(sampled.leaks == std::set<std::string>{});
  CHECK(sampled.after_open >= 50);
  CHECK(sampled.with_marker == sampled.after_open);  // environ was read, and the other variable is still there
  CHECK(a.json({"cert", "show", "corp"})["fingerprint_sha256"].is_string());

  // Exports with a passphrase (variable and file), bundles, export-config both ways.
  a.env["EXPORT_PASS"] = export_pass;
  a.env["CONFIG_PASS"] = config_pass;
  must({"cert", "export", "corp", "--format", "p12", "--with-key", "--with-chain", "-o", p("corp-out.p12"), "--passphrase-env",
        "EXPORT_PASS"});
  must({"cert", "export", "web", "--format", "pem", "--with-key", "-o", p("web-enc.pem"), "--passphrase-file", p("export.pass")});
  ok(clitest::openssl({"pkcs12", "-in", p("corp-out.p12"), "-noout", "-passin", "file:" + p("export.pass")}));
  must({"cert", "bundle", "web", "-o", p("web.zip")});
  must({"cert", "bundle", "corp", "-o", p("corp.zip")});
  Result yaml = must({"export-config", "--passphrase-env", "CONFIG_PASS"});
  must({"export-config", "-o", p("cfg"), "--passphrase-env", "CONFIG_PASS"});

  // KMIP settings without a server, with a password and an encrypted client key.
  a.env["KMIP_PASSWORD"] = kmip_password;
  a.env["KMIP_KEY_PASS"] = kmip_key_pass;
  must({"kmip", "configure", "--host", "kmip.example.com", "--ca", p("kmip-ca.pem"), "--client-cert", p("client.pem"),
        "--client-key", p("client-enc.key"), "--passphrase-env", "KMIP_KEY_PASS", "--username", "appliance",
        "--password-env", "KMIP_PASSWORD", "--no-test"});
  must({"status"});
  // An ACME account with external account binding against a server that is not there: the HMAC
  // key is read (and must not be shown) before the connection fails.
  a.env["EAB_HMAC"] = eab_hmac;
  Result acme = a.run({"-vv", "acme", "account", "--server", "https://127.0.0.1:1/directory", "--email", "ops@example.com",
                       "--eab-kid", "kid-1", "--eab-hmac-env", "EAB_HMAC", "--accept-tos"});
  CHECK(acme.code != 0);
  runs.push_back(acme);

  // apply of the exported configuration on a second appliance (passphrase_env: CONFIG_PASS).
  Appliance b;
  b.env["CONFIG_PASS"] = config_pass;
  Result applied = b.run({"-vv", "apply", "-f", p("cfg/appliance.yaml")});
  INFO(applied.out << applied.err);
  CHECK(applied.code == 0);
  runs.push_back(applied);
  CHECK(b.json({"cert", "show", "corp"})["fingerprint_sha256"] == a.json({"cert", "show", "corp"})["fingerprint_sha256"]);

  Scanner scan{secrets};
  int i = 0;
  for (const auto& r : runs) {
    // The only outputs allowed to hold a key are the files of explicit key exports, not logs.
    scan.none_in("command " + std::to_string(++i), r);
  }
  scan.none_in("export-config YAML on stdout", yaml.out);
  scan.none_in("export-config directory", files_text(pki / "cfg"));
  for (const char* zip : {"web.zip", "corp.zip"}) {
    TempDir unzipped;
    ok(clitest::run_process({"/usr/bin/python3", "-m", "zipfile", "-e", p(zip), unzipped.path.string()}));
    scan.none_in(std::string("bundle ") + zip, files_text(unzipped.path));
  }
  // The encrypted exports hold a key, but not in the clear and not with their passphrase.
  scan.none_in("encrypted PEM export", clitest::slurp(pki / "web-enc.pem"), true, true);
  scan.none_in("PKCS#12 export", clitest::slurp(pki / "corp-out.p12"));
  CHECK(clitest::slurp(pki / "web-enc.pem").find("ENCRYPTED " + kPrivateKeyMarker) != std::string::npos);
  // The audit log, and the whole database (it holds keys, so only the other secrets count).
  for (Appliance* s : {&a, &b}) {
    Result audit = clitest::run_process({"sqlite3", s->db().string(), "SELECT * FROM audit_log"});
    REQUIRE(audit.code == 0);
    CHECK_FALSE(audit.out.empty());
    scan.none_in("audit log", audit.out);
    scan.none_in("database files", files_text(s->store, [](const fs::path& f) { return f.filename() != "applctl.db" &&
                                                                                         f.filename() != "applctl.db-wal"; }),
                 false, true);
    // The other files of the store (kmip.json is the credentials file: 0600, read by applctl only).
    scan.none_in("other store files", files_text(s->store, [](const fs::path& f) {
                   std::string n = f.filename();
                   return n.rfind("applctl.db", 0) == 0 || n == "kmip.json";
                 }));
  }
  REQUIRE(fs::exists(a.store / "kmip.json"));
  CHECK(clitest::mode_of(a.store / "kmip.json") == 0600);
  INFO("secrets " << secrets.size() << ", texts scanned " << scan.scanned);
  CHECK(secrets.size() >= 12);
  WARN("secrets: " << secrets.size() << " secrets, " << scan.scanned << " texts scanned, " << sampled.samples
                   << " /proc samples (" << sampled.after_open << " with the store open)");
}
