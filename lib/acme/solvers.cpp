// How `acme issue` answers challenges: http-01 by a responder of its own (--http-port), http-01
// by files in a web server's document root (--webroot), dns-01 by an operator's hook that
// publishes the TXT record (--dns-hook); and the identifiers an order is for.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "applctl/base/hook.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/x509/names.hpp"


namespace applctl::acme {

namespace {

namespace fs = std::filesystem;

// A token names a file: base64url only (RFC 8555 section 8.3), never "../" from a hostile server.
void check_token(const std::string& token) {
  if (token.empty() || token.size() > 256 || token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
    fail(ErrorKind::Remote, fmt::format("the ACME server sent an invalid challenge token '{}'", printable(token)));
}

class ResponderSolver final : public ChallengeSolver {
 public:
  explicit ResponderSolver(int port) : port_(port), responder_(port) {}
  std::string type() const override { return "http-01"; }
  void present(const Authorization&, const Challenge& c, const std::string& ka) override {
    check_token(c.token);
    responder_.publish(c.token, ka);
  }
  void cleanup() noexcept override {}
  int validation_requests() const override { return responder_.served(); }
  std::string failure_hint() const override {
    return fmt::format("is --http-port {} the port the server's validation requests reach (80, or forwarded to it)?", port_);
  }

 private:
  int port_;
  Http01Responder responder_;
};

class WebrootSolver final : public ChallengeSolver {
 public:
  explicit WebrootSolver(fs::path root) : root_(std::move(root)) {
    std::error_code ec;
    if (!fs::is_directory(root_, ec))
      fail(ErrorKind::BadInput, fmt::format("--webroot '{}': not a directory", printable(root_.string())));
  }
  ~WebrootSolver() override { cleanup(); }
  std::string type() const override { return "http-01"; }

  void present(const Authorization&, const Challenge& c, const std::string& ka) override {
    check_token(c.token);
    fs::path dir = root_ / ".well-known" / "acme-challenge";
    for (fs::path p : {root_ / ".well-known", dir}) {
      std::error_code ec;
      if (fs::is_directory(p, ec)) continue;
      if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST)
        fail(ErrorKind::Failed, fmt::format("--webroot: cannot create '{}': {}", p.string(), std::strerror(errno)));
      ::chmod(p.c_str(), 0755);  // whatever the umask: the web server must read it
      created_dirs_.push_back(p);
    }
    fs::path file = dir / c.token;
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) fail(ErrorKind::Failed, fmt::format("--webroot: cannot write '{}': {}", file.string(), std::strerror(errno)));
    files_.push_back(file);
    bool ok = ::fchmod(fd, 0644) == 0 && ::write(fd, ka.data(), ka.size()) == static_cast<ssize_t>(ka.size());
    int err = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok) fail(ErrorKind::Failed, fmt::format("--webroot: cannot write '{}': {}", file.string(), std::strerror(err)));
  }

  void cleanup() noexcept override {
    for (const auto& f : files_) ::unlink(f.c_str());
    files_.clear();
    // Only the directories made here, and only when empty (rmdir refuses otherwise).
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) ::rmdir(it->c_str());
    created_dirs_.clear();
  }
  std::string failure_hint() const override {
    return fmt::format("does the web server serve '{}' as http://NAME/ on port 80?", root_.string());
  }

 private:
  fs::path root_;
  std::vector<fs::path> files_, created_dirs_;
};

class DnsHookSolver final : public ChallengeSolver {
 public:
  DnsHookSolver(std::string command, std::chrono::steady_clock::time_point deadline)
      : command_(std::move(command)), deadline_(deadline) {}
  ~DnsHookSolver() override { cleanup(); }
  std::string type() const override { return "dns-01"; }

  void present(const Authorization& a, const Challenge&, const std::string& ka) override {
    Record r{a.identifier.value, "_acme-challenge." + a.identifier.value + ".", dns01_value(ka)};
    // Cleaned up even when present fails half-way.
    records_.push_back(r);
    HookResult hook = run_hook({command_, env_of("present", r), "APPLCTL_ACME_", deadline_});
    if (!hook.started)
      fail(ErrorKind::Failed, fmt::format("--dns-hook '{}' {}", printable(command_), hook.describe()));
    if (hook.timed_out)
      fail(ErrorKind::Failed,
           fmt::format("the dns hook '{}' did not finish presenting {} for {} within --timeout", printable(command_),
                       r.name, r.domain),
           "the hook was stopped; give a longer --timeout if the DNS provider is slow");
    if (!hook.ok())
      fail(ErrorKind::Failed,
           fmt::format("the dns hook '{}' failed to present {} for {}: {}", printable(command_), r.name, r.domain,
                       hook.describe()),
           "the hook must publish TXT APPLCTL_ACME_RECORD_NAME = APPLCTL_ACME_RECORD_VALUE and exit 0");
  }

  void cleanup() noexcept override {
    auto records = std::move(records_);
    records_.clear();
    for (const auto& r : records) {
      try {
        // Cleanup runs after failures too, the deadline perhaps passed: it gets kCleanupLimit.
        HookResult hook =
            run_hook({command_, env_of("cleanup", r), "APPLCTL_ACME_", std::chrono::steady_clock::now() + kCleanupLimit});
        if (!hook.ok())
          std::fprintf(stderr, "applctl: warning: the dns hook '%s' failed to clean up %s: %s\n",
                       printable(command_).c_str(), r.name.c_str(), hook.describe().c_str());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "applctl: warning: %s\n", e.what());
      }
    }
  }
  std::string failure_hint() const override {
    return "does the hook publish the TXT record where the server's resolvers see it (the zone's authoritative servers)?";
  }

 private:
  struct Record {
    std::string domain, name, value;
  };
  static std::vector<std::string> env_of(const char* action, const Record& r) {
    return {std::string("APPLCTL_ACME_ACTION=") + action, "APPLCTL_ACME_DOMAIN=" + r.domain,
            "APPLCTL_ACME_RECORD_NAME=" + r.name, "APPLCTL_ACME_RECORD_VALUE=" + r.value};
  }
  static constexpr std::chrono::seconds kCleanupLimit{30};
  std::string command_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<Record> records_;
};

}  // namespace

nlohmann::json ChallengeSettings::origin() const {
  if (!dns_hook.empty()) return {{"type", "dns-01"}, {"dns_hook", dns_hook}};
  if (!webroot.empty()) return {{"type", "http-01"}, {"webroot", fs::absolute(webroot).lexically_normal().string()}};
  return {{"type", "http-01"}, {"http_port", http_port}};
}

ChallengeSettings ChallengeSettings::from_origin(const nlohmann::json& origin) {
  auto bad = [&] {
    fail(ErrorKind::BadInput, fmt::format("not an ACME challenge origin: {}", printable(origin.dump())),
         "expected {\"type\":\"http-01\",\"http_port\":N}, {\"type\":\"http-01\",\"webroot\":DIR} or "
         "{\"type\":\"dns-01\",\"dns_hook\":CMD}");
  };
  ChallengeSettings s;
  if (!origin.is_object() || !origin.contains("type") || !origin["type"].is_string()) bad();
  const std::string type = origin["type"];
  auto text = [&](const char* name) -> std::string {
    auto it = origin.find(name);
    if (it == origin.end() || !it->is_string() || it->get<std::string>().empty()) bad();
    return it->get<std::string>();
  };
  if (type == "dns-01") {
    s.dns_hook = text("dns_hook");
  } else if (type == "http-01" && origin.contains("webroot")) {
    s.webroot = text("webroot");
  } else if (type == "http-01") {
    auto port = origin.find("http_port");
    if (port == origin.end() || !port->is_number_integer() || port->get<int>() < 1 || port->get<int>() > 65535) bad();
    s.http_port = port->get<int>();
  } else {
    bad();
  }
  return s;
}

std::unique_ptr<ChallengeSolver> make_solver(const ChallengeSettings& settings,
                                             std::chrono::steady_clock::time_point deadline) {
  if (!settings.dns_hook.empty() && !settings.webroot.empty())
    fail(ErrorKind::Usage, "--dns-hook and --webroot exclude each other");
  if (!settings.dns_hook.empty()) return std::make_unique<DnsHookSolver>(settings.dns_hook, deadline);
  if (!settings.webroot.empty()) return std::make_unique<WebrootSolver>(settings.webroot);
  return std::make_unique<ResponderSolver>(settings.http_port);
}

std::string identifier_text(const Identifier& id) { return id.type + ":" + id.value; }

std::vector<Identifier> parse_identifiers(const std::vector<std::string>& domains, const ChallengeSettings& settings) {
  std::vector<Identifier> ids;
  for (const auto& d : domains) {
    std::string text = d;
    if (text.rfind("dns:", 0) == 0 || text.rfind("ip:", 0) == 0) text = text.substr(text.find(':') + 1);
    San s = parse_san(text);
    if (s.value.rfind("*.", 0) == 0 && settings.type() != "dns-01")
      fail(ErrorKind::BadInput, fmt::format("'{}': a wildcard name needs the dns-01 challenge", d),
           "give --dns-hook CMD: http-01 cannot validate a wildcard");
    Identifier id{s.type == SanType::IP ? "ip" : "dns", s.value};
    if (id.type == "ip" && settings.type() == "dns-01")
      fail(ErrorKind::BadInput, fmt::format("'{}': an IP address cannot be validated with dns-01", d),
           "issue IP addresses with http-01 (--http-port or --webroot)");
    if (std::none_of(ids.begin(), ids.end(), [&](const Identifier& x) { return x.type == id.type && x.value == id.value; }))
      ids.push_back(std::move(id));
  }
  if (ids.empty()) fail(ErrorKind::Usage, "an ACME order needs at least one --domain");
  return ids;
}

}  // namespace applctl::acme
