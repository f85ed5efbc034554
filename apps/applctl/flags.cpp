// Flags that several verbs share, defined once: subject fields, key spec, SANs, secrets, timeouts,
// certificate files.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

#include "applctl/codec/codec.hpp"
#include "applctl/base/error.hpp"
#include "applctl/provision/provision.hpp"
#include "applctl/base/secret_env.hpp"
#include "cli.hpp"

#include <sys/stat.h>

namespace applctl::cli {

void add_subject_flags(CLI::App& app, Subject& s) {
  app.add_option("--country", s.country, "Country: ISO 3166-1 alpha-2 code, e.g. US")->group("Subject");
  app.add_option("--state", s.state, "State or province, in full")->group("Subject");
  app.add_option("--locality", s.locality, "City or locality")->group("Subject");
  app.add_option("--org", s.org, "Organization")->group("Subject");
  app.add_option("--ou", s.ou, "Organizational unit")->group("Subject");
  app.add_option("--cn", s.cn, "Common name (a DNS name here also becomes the first SAN)")->group("Subject");
}

void add_key_flag(CLI::App& app, std::string& spec) {
  app.add_option("--key", spec, "Key: rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ed25519")
      ->default_str("rsa:3072");
}

void add_san_flag(CLI::App& app, std::vector<std::string>& sans) {
  app.add_option("--san", sans, "Subject alternative name: DNS:name, IP:addr or a bare name (repeatable)")
      ->allow_extra_args(false);
}

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000));
}

std::vector<Bytes> read_certificate_files(const std::vector<std::string>& files) {
  std::vector<Bytes> out;
  for (const auto& f : files) {
    Decoded d = decode_any(read_file(f), f, {});
    if (d.certificates.empty()) fail(ErrorKind::BadInput, fmt::format("'{}' holds no certificate", f));
    for (auto& c : d.certificates) out.push_back(std::move(c));
  }
  return out;
}

void take_env_at_parse(const std::string& var) { take_secret_env(var); }

void add_passphrase_flags(CLI::App& app, SecretSource& src) {
  auto* f = app.add_option("--passphrase-file", src.file, "Read the passphrase from the first line of FILE");
  auto* e = app.add_option("--passphrase-env", src.env, "Read the passphrase from environment variable VAR")
                ->each(take_env_at_parse);
  f->excludes(e);
}

void refuse_existing(const std::string& path, bool force) {
  struct stat st{};
  if (path.empty() || force || ::stat(path.c_str(), &st) != 0) return;
  // A device or a pipe (-o /dev/stdout) is written into, nothing is overwritten (write_file_atomic).
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
    fail(ErrorKind::Refused, fmt::format("'{}' already exists", path), "pass --force to overwrite it");
}

namespace {

std::optional<std::string> prompt_tty(const std::string& prompt, bool echo = false) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  termios old{};
  const bool is_term = !echo && ::tcgetattr(fd, &old) == 0;
  if (is_term) {
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string text = prompt + ": ";
  (void)!::write(fd, text.data(), text.size());
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  if (!echo) (void)!::write(fd, "\n", 1);  // the user's newline was not echoed
  if (is_term) ::tcsetattr(fd, TCSAFLUSH, &old);
  ::close(fd);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

bool confirm_on_tty(const std::string& question) {
  auto answer = prompt_tty(question + " [y/N]", true);
  return answer && (*answer == "y" || *answer == "Y" || *answer == "yes");
}

std::function<std::optional<std::string>()> SecretSource::getter(std::string prompt, bool confirm) const {
  return [file = file, env = env, prompt = std::move(prompt), confirm]() -> std::optional<std::string> {
    if (!file.empty() || !env.empty()) return resolve_secret({env, file});
    if (::isatty(STDIN_FILENO) == 0) return std::nullopt;  // cron and CI: never prompt
    auto first = prompt_tty(prompt);
    if (first && confirm) {
      auto again = prompt_tty("Again, to confirm");
      if (!again || *again != *first) fail(ErrorKind::BadInput, "the passphrases do not match");
    }
    return first;
  };
}

}  // namespace applctl::cli
