// soak_serve: `applctl serve` under load. Makes a store (init and three certificates), starts
// `applctl -v serve` on 127.0.0.1, and for --seconds runs --clients threads of four kinds against
// it while it sends SIGHUP every second and samples the server's VmRSS and open descriptors:
//   good     full TLS handshake with an SNI name (or none), the leaf's SHA-256 checked against what
//            `applctl sni resolve` says for that name, then GET / (the status names the same
//            fingerprint) or no request at all, and a clean close_notify;
//   garbage  random bytes, a TLS record header with random contents, or a mutilated ClientHello;
//   staller  nothing, part of a ClientHello, or a whole handshake and no request, held for up to
//            1.5 times the server's --timeout (one held past it must be dropped by the server);
//   early    connect and close, connect and reset, or reset after the ClientHello / the handshake.
// Passes when the server never exits, every good client is served correctly, the descriptors
// return to the idle baseline once the clients are gone, and VmRSS grows by less than
// --rss-limit-mb between the end of the warm-up and the end. Prints one summary line.
//   soak_serve --applctl PATH [--seconds 8] [--clients 16] [--timeout 2] [--rss-limit-mb 5]
// Exit 0 pass, 1 fail, 2 usage.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

template <auto F>
struct Free {
  void operator()(auto* p) const noexcept { F(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, Free<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Free<SSL_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;

struct Options {
  std::string applctl;
  double seconds = 8;
  int clients = 16;
  double timeout = 2;       // the server's --timeout
  double rss_limit_mb = 5;  // 0: reported, not checked (ASan's quarantine keeps freed memory)
  int fd_slack = 2;
};

std::atomic<pid_t> g_server{0};  // killed by die()

[[noreturn]] void die(const std::string& what) {
  if (pid_t p = g_server.load(); p > 0) ::kill(p, SIGKILL);
  std::cerr << "soak_serve: " << what << "\n";
  std::exit(1);
}

// ---- the server process --------------------------------------------------------------------

struct Run {
  int code = -1;
  std::string out, err;
};

// Runs argv to completion with stdout and stderr captured (small outputs only).
Run run(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) die("pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) die("cannot run " + argv[0] + ": " + std::strerror(rc));
  Run r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    ::poll(fds, 2, -1);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// `applctl serve` with stdout and stderr on pipes; a thread reads stderr (one line a connection
// at -v) and keeps counts, the warnings and the final statistics line.
class Server {
 public:
  Server(const std::string& applctl, const fs::path& store, double timeout) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) die("pipe2");
    std::vector<std::string> argv{applctl, "--store", store.string(), "-v", "serve", "--listen", "127.0.0.1:0",
                                  "--timeout", std::to_string(timeout), "--poll-interval", "0"};
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    // fork and exec rather than posix_spawn: the server gets SIGKILL when this driver dies (a
    // ctest timeout), so no soak leaves a server behind. Only one thread runs here.
    pid_ = ::fork();
    if (pid_ < 0) die("fork");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    g_server = pid_;
    ::close(out[1]);
    ::close(err[1]);
    err_reader_ = std::thread([this, fd = err[0]] { read_stderr(fd); });
    // stdout: "listening on 127.0.0.1:PORT"
    std::string text;
    for (auto end = Clock::now() + 20s; Clock::now() < end && text.find('\n') == std::string::npos;) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
    }
    out_fd_ = out[0];
    auto at = text.find("listening on 127.0.0.1:");
    if (at == std::string::npos) die("serve did not start: " + text + " " + stderr_tail());
    port_ = std::atoi(text.c_str() + at + std::strlen("listening on 127.0.0.1:"));
  }
  ~Server() {
    if (alive()) {
      ::kill(pid_, SIGKILL);
      wait_exit(5s);
    }
    if (err_reader_.joinable()) err_reader_.join();
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  bool alive() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return !exited_;
  }
  int code() const { return code_; }
  // Waits for the exit; its code, or -1 when it is still running after `limit`.
  int wait_exit(std::chrono::milliseconds limit) {
    for (auto end = Clock::now() + limit; Clock::now() < end; std::this_thread::sleep_for(10ms))
      if (!alive()) return code_;
    return -1;
  }

  struct Log {
    long lines = 0, handshakes = 0, failed = 0, timed_out = 0, reloads = 0;
    std::vector<std::string> warnings;
    std::string stats;  // "serve: stopped after ..."
    std::string tail;
  };
  Log log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::string stderr_tail() {
    std::lock_guard lock(mu_);
    return log_.tail;
  }

 private:
  void read_stderr(int fd) {
    std::string buf;
    char chunk[65536];
    ssize_t n = 0;
    while ((n = ::read(fd, chunk, sizeof chunk)) > 0) {
      buf.append(chunk, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n', start)) {
        take(buf.substr(start, nl - start));
        start = nl + 1;
      }
      buf.erase(0, start);
    }
    ::close(fd);
  }
  void take(const std::string& line) {
    std::lock_guard lock(mu_);
    ++log_.lines;
    if (line.find(" rule=") != std::string::npos) ++log_.handshakes;
    if (line.find("handshake failed") != std::string::npos) ++log_.failed;
    if (line.find("handshake timed out") != std::string::npos) ++log_.timed_out;
    if (line.find("reloaded the store (SIGHUP)") != std::string::npos) ++log_.reloads;
    if (line.find("stopped after") != std::string::npos) log_.stats = line;
    const bool routine = line.rfind("applctl: info:", 0) == 0 || line.rfind("applctl: debug:", 0) == 0;
    if (!routine && log_.warnings.size() < 20)
      log_.warnings.push_back(line);
    log_.tail = (log_.tail + line + "\n").substr(log_.tail.size() > 4000 ? log_.tail.size() - 4000 : 0);
  }

  pid_t pid_ = 0;
  int port_ = 0;
  int out_fd_ = -1;
  bool exited_ = false;
  int code_ = -1;
  std::thread err_reader_;
  std::mutex mu_;
  Log log_;
};

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

long open_fds(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

// ---- clients ---------------------------------------------------------------------------------

struct Target {
  std::optional<std::string> sni;  // nullopt: no SNI extension
  std::string fingerprint;         // what the store says is served for it
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{15, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void reset_and_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

void send_all(int fd, const std::string& data) {
  for (std::size_t off = 0; off < data.size();) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close on garbage before it is all sent
    off += static_cast<std::size_t>(n);
  }
}

// Waits up to `limit` for the server to close (EOF or reset); false if it is still open.
bool closed_within(int fd, std::chrono::milliseconds limit) {
  char buf[4096];
  for (auto end = Clock::now() + limit; Clock::now() < end;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<long>(1, std::min<long>(left, 100))));
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
  return false;
}

SslCtxPtr client_ctx(bool tls12_only) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) die("SSL_CTX_new");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // self-signed: the fingerprint is the check
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (tls12_only) SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

// The first flight of a client (the ClientHello record) for this SNI, made with memory BIOs.
std::string client_hello(SSL_CTX* ctx, const std::string& sni) {
  SslPtr ssl(SSL_new(ctx));
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), rbio, wbio);
  SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  SSL_connect(ssl.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  std::string hello(data, static_cast<std::size_t>(n));
  if (hello.size() < 50) die("could not make a ClientHello");
  return hello;
}

std::string hex(const unsigned char* p, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

enum Kind { Good, Garbage, Staller, Early, kKinds };

struct Shared {
  const Options* opt = nullptr;
  int port = 0;
  std::vector<Target> targets;
  std::vector<std::string> hellos;
  std::atomic<bool> stop{false};
  std::atomic<long> connections[kKinds]{};
  std::atomic<long> good_ok{0}, good_failed{0}, good_with_request{0};
  std::atomic<long> stallers_dropped{0}, stallers_not_dropped{0}, stallers_dropped_early{0};
  std::mutex mu;
  std::vector<std::string> failures;  // the first few, for the report
  void failure(const std::string& what) {
    std::lock_guard lock(mu);
    if (failures.size() < 10) failures.push_back(what);
  }
};

// One good client; "" when served correctly, else what went wrong.
std::string good_client(Shared& s, SSL_CTX* ctx, const Target& t, bool request) {
  int fd = connect_to(s.port);
  if (fd < 0) return std::string("connect: ") + std::strerror(errno);
  SslPtr ssl(SSL_new(ctx));
  SSL_set_fd(ssl.get(), fd);
  if (t.sni) SSL_set_tlsext_host_name(ssl.get(), t.sni->c_str());
  std::string sni = t.sni.value_or("(none)");
  auto fail = [&](const std::string& what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    ::close(fd);
    return "sni " + sni + ": " + what + (e != 0 ? std::string(" (") + buf + ")" : "") +
           (errno != 0 ? std::string(" errno ") + std::strerror(errno) : "");
  };
  errno = 0;
  if (SSL_connect(ssl.get()) != 1) return fail("handshake failed");
  X509Ptr leaf(SSL_get1_peer_certificate(ssl.get()));
  if (!leaf) return fail("no certificate");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  X509_digest(leaf.get(), EVP_sha256(), md, &len);
  std::string fp = hex(md, len);
  if (fp != t.fingerprint) return fail("served " + fp + ", the store says " + t.fingerprint);
  if (request) {
    std::string get = "GET / HTTP/1.1\r\nHost: " + (t.sni ? *t.sni : std::string("127.0.0.1")) + "\r\n\r\n";
    if (SSL_write(ssl.get(), get.data(), static_cast<int>(get.size())) != static_cast<int>(get.size()))
      return fail("write failed");
    std::string resp;
    char buf[4096];
    int n = 0;
    while ((n = SSL_read(ssl.get(), buf, sizeof buf)) > 0) resp.append(buf, static_cast<std::size_t>(n));
    if (SSL_get_error(ssl.get(), n) != SSL_ERROR_ZERO_RETURN) return fail("no close_notify after the response");
    if (resp.rfind("HTTP/1.1 200 OK\r\n", 0) != 0) return fail("bad response: " + resp.substr(0, 40));
    if (resp.find("fingerprint_sha256: " + t.fingerprint + "\n") == std::string::npos)
      return fail("the status names another certificate");
    ++s.good_with_request;
  }
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  ::close(fd);
  return "";
}

void garbage_client(Shared& s, std::mt19937_64& rng) {
  int fd = connect_to(s.port);
  if (fd < 0) return;
  std::string data;
  auto random_bytes = [&](std::size_t n) {
    std::string r(n, '\0');
    for (auto& c : r) c = static_cast<char>(rng());
    return r;
  };
  switch (rng() % 4) {
    case 0: data = random_bytes(1 + rng() % 8192); break;
    case 1: data = std::string("\x16\x03\x01", 3) + random_bytes(2 + rng() % 600); break;
    case 2: {  // a ClientHello with some bytes changed
      data = s.hellos[rng() % s.hellos.size()];
      for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) data[5 + rng() % (data.size() - 5)] = static_cast<char>(rng());
      break;
    }
    default:  // a good ClientHello and then records of noise
      data = s.hellos[rng() % s.hellos.size()] + std::string("\x17\x03\x03\x01\x00", 5) + random_bytes(256);
  }
  send_all(fd, data);
  if (rng() % 2) {
    ::shutdown(fd, SHUT_WR);
    closed_within(fd, 3s);
  }
  ::close(fd);
}

void staller_client(Shared& s, std::mt19937_64& rng, SSL_CTX* ctx) {
  const auto timeout = std::chrono::milliseconds(static_cast<long>(s.opt->timeout * 1000));
  const auto hold = std::chrono::milliseconds(200 + static_cast<long>(rng() % static_cast<unsigned long>(timeout.count() * 3 / 2)));
  int fd = -1;
  SslPtr ssl;
  const auto t0 = Clock::now();
  switch (rng() % 3) {
    case 0: fd = connect_to(s.port); break;  // says nothing
    case 1: {                                  // part of a ClientHello
      fd = connect_to(s.port);
      if (fd < 0) return;
      const std::string& hello = s.hellos[rng() % s.hellos.size()];
      send_all(fd, hello.substr(0, 1 + rng() % (hello.size() - 1)));
      break;
    }
    default: {  // a whole handshake, then no request
      fd = connect_to(s.port);
      if (fd < 0) return;
      ssl.reset(SSL_new(ctx));
      SSL_set_fd(ssl.get(), fd);
      SSL_set_tlsext_host_name(ssl.get(), "www.example.com");
      if (SSL_connect(ssl.get()) != 1) {
        ERR_clear_error();
        s.failure("staller: handshake failed");
      }
    }
  }
  if (fd < 0) return;
  // Held for `hold` after the setup (or until the end of the run). The server's deadline starts
  // after t0 (it accepts after the connect), so it must not drop the client before t0 + timeout,
  // and it starts before t1 (the end of the setup), so it must drop it by t1 + timeout (+ slack).
  const auto t1 = Clock::now();
  bool dropped = false;
  char buf[4096];
  while (Clock::now() < t1 + hold && !s.stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      dropped = true;
      break;
    }
  }
  auto ms = [](Clock::duration d) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
  if (dropped) {
    ++s.stallers_dropped;
    if (Clock::now() - t0 < timeout - 50ms) {
      ++s.stallers_dropped_early;
      s.failure("staller dropped after " + ms(Clock::now() - t0) + " ms");
    }
  } else if (Clock::now() - t1 > timeout + 1s) {
    ++s.stallers_not_dropped;
    s.failure("staller not dropped after " + ms(Clock::now() - t1) + " ms");
  }
  ssl.reset();
  ::close(fd);
}

void early_client(Shared& s, std::mt19937_64& rng, SSL_CTX* ctx) {
  int fd = connect_to(s.port);
  if (fd < 0) return;
  switch (rng() % 5) {
    case 0: ::close(fd); return;
    case 1: reset_and_close(fd); return;
    case 2:
      send_all(fd, s.hellos[rng() % s.hellos.size()]);
      ::close(fd);
      return;
    case 3: {  // reset as the ServerHello arrives
      send_all(fd, s.hellos[rng() % s.hellos.size()]);
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 2000);
      reset_and_close(fd);
      return;
    }
    default: {  // reset right after the handshake
      SslPtr ssl(SSL_new(ctx));
      SSL_set_fd(ssl.get(), fd);
      SSL_set_tlsext_host_name(ssl.get(), "shop.example.com");
      SSL_connect(ssl.get());
      ERR_clear_error();
      reset_and_close(fd);
    }
  }
}

void client_thread(Shared& s, Kind kind, unsigned seed) {
  std::mt19937_64 rng(seed);
  SslCtxPtr tls13 = client_ctx(false), tls12 = client_ctx(true);
  while (!s.stop) {
    ++s.connections[kind];
    SSL_CTX* ctx = rng() % 2 ? tls13.get() : tls12.get();
    switch (kind) {
      case Good: {
        const Target& t = s.targets[rng() % s.targets.size()];
        std::string err = good_client(s, ctx, t, rng() % 4 != 0);
        if (err.empty()) {
          ++s.good_ok;
        } else {
          ++s.good_failed;
          s.failure(err);
        }
        break;
      }
      case Garbage: garbage_client(s, rng); break;
      case Staller: staller_client(s, rng, ctx); break;
      case Early: early_client(s, rng, ctx); break;
      default: break;
    }
  }
  ERR_clear_error();
  OPENSSL_thread_stop();
}

// ---- the run ---------------------------------------------------------------------------------

std::string fingerprint_for(const Options& o, const fs::path& store, const std::string& name) {
  Run r = run({o.applctl, "--store", store.string(), "--json", "sni", "resolve", name});
  if (r.code != 0) die("sni resolve " + name + ": " + r.err);
  return nlohmann::json::parse(r.out)["fingerprint_sha256"].get<std::string>();
}

void make_store(const Options& o, const fs::path& store) {
  auto must = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {o.applctl, "--store", store.string()});
    Run r = run(args);
    if (r.code != 0) die(args[3] + " failed: " + r.err);
  };
  must({"init", "--hostname", "appl.example.com"});
  must({"cert", "self-signed", "--name", "www", "--key", "ec:P-256", "--cn", "www.example.com"});
  must({"cert", "self-signed", "--name", "wild", "--key", "ec:P-384", "--cn", "*.example.com"});
  must({"cert", "self-signed", "--name", "legacy", "--key", "rsa:2048", "--cn", "legacy.test"});
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "soak_serve: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--applctl") o.applctl = value();
    else if (a == "--seconds") o.seconds = std::atof(value().c_str());
    else if (a == "--clients") o.clients = std::atoi(value().c_str());
    else if (a == "--timeout") o.timeout = std::atof(value().c_str());
    else if (a == "--rss-limit-mb") o.rss_limit_mb = std::atof(value().c_str());
    else if (a == "--fd-slack") o.fd_slack = std::atoi(value().c_str());
    else {
      std::cerr << "usage: soak_serve --applctl PATH [--seconds 8] [--clients 16] [--timeout 2] [--rss-limit-mb 5] "
                   "[--fd-slack 2]\n";
      std::exit(2);
    }
  }
  if (o.applctl.empty() || o.seconds <= 0 || o.clients < 4 || o.timeout < 0.5) {
    std::cerr << "soak_serve: --applctl is required, --seconds > 0, --clients >= 4, --timeout >= 0.5\n";
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/soak-serve-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
  const fs::path dir = tmpl, store = dir / "store";
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  make_store(opt, store);

  Shared s;
  s.opt = &opt;
  for (const char* name : {"www.example.com", "shop.example.com", "legacy.test", "unknown.test"})
    s.targets.push_back({name, fingerprint_for(opt, store, name)});
  s.targets.push_back({std::nullopt, fingerprint_for(opt, store, "unknown.test")});  // no SNI: the default
  {
    SslCtxPtr ctx = client_ctx(false);
    for (const char* name : {"www.example.com", "shop.example.com", "legacy.test", "unknown.test"})
      s.hellos.push_back(client_hello(ctx.get(), name));
  }

  Server server(opt.applctl, store, opt.timeout);
  s.port = server.port();
  const pid_t pid = server.pid();

  // Warm-up: every target once per protocol, then the idle baseline of descriptors.
  {
    SslCtxPtr a = client_ctx(false), b = client_ctx(true);
    for (int round = 0; round < 3; ++round)
      for (const auto& t : s.targets)
        for (SSL_CTX* c : {a.get(), b.get()})
          if (std::string err = good_client(s, c, t, true); !err.empty()) die("warm-up: " + err);
  }
  std::this_thread::sleep_for(200ms);
  const long fds_idle = open_fds(pid), rss_idle = rss_kb(pid);

  int per_kind[kKinds] = {};
  for (int i = 0; i < opt.clients; ++i) ++per_kind[i < opt.clients / 2 ? Good : Garbage + (i - opt.clients / 2) % 3];
  std::vector<std::thread> threads;
  const unsigned first_seed = static_cast<unsigned>(std::random_device{}());
  unsigned seed = first_seed;
  for (int k = 0; k < kKinds; ++k)
    for (int i = 0; i < per_kind[k]; ++i) threads.emplace_back(client_thread, std::ref(s), static_cast<Kind>(k), seed++);

  // Under load: SIGHUP every second, VmRSS and descriptors every 250 ms.
  const auto t0 = Clock::now();
  const auto warm = std::chrono::milliseconds(static_cast<long>(std::min(opt.seconds * 100, 10000.0)));  // 10%, at most 10 s
  const auto end = t0 + std::chrono::milliseconds(static_cast<long>(opt.seconds * 1000));
  long rss_start = -1, rss_max = 0, fds_max = 0, sighups = 0;
  bool died = false;
  auto next_hup = t0 + 1s;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(250ms);
    if (!server.alive()) {
      died = true;
      break;
    }
    rss_max = std::max(rss_max, rss_kb(pid));
    fds_max = std::max(fds_max, open_fds(pid));
    if (rss_start < 0 && Clock::now() - t0 >= warm) rss_start = rss_kb(pid);
    if (Clock::now() >= next_hup) {
      ::kill(pid, SIGHUP);
      ++sighups;
      next_hup += 1s;
    }
  }
  s.stop = true;
  for (auto& t : threads) t.join();
  const double ran = std::chrono::duration<double>(Clock::now() - t0).count();

  // The clients are gone; the server drops what it still holds (timeouts, drains) and must get
  // back to its idle descriptors.
  long fds_end = -1, rss_end = -1;
  if (!died) {
    const auto limit = Clock::now() + std::chrono::milliseconds(static_cast<long>(opt.timeout * 1000) * 2 + 3000);
    do {
      std::this_thread::sleep_for(100ms);
      fds_end = open_fds(pid);
    } while (fds_end > fds_idle + opt.fd_slack && Clock::now() < limit && server.alive());
    rss_end = rss_kb(pid);
    // Still serving, also after all that.
    SslCtxPtr c = client_ctx(false);
    for (const auto& t : s.targets)
      if (std::string err = good_client(s, c.get(), t, true); !err.empty()) {
        ++s.good_failed;
        s.failure("after the run: " + err);
      } else {
        ++s.good_ok;
      }
    died = !server.alive();
  }
  if (rss_start < 0) rss_start = rss_idle;
  rss_max = std::max(rss_max, rss_end);

  int code = -1;
  if (!died) {
    ::kill(pid, SIGTERM);
    code = server.wait_exit(15s);
  } else {
    code = server.code();
  }
  std::this_thread::sleep_for(100ms);  // the last stderr lines
  Server::Log log = server.log();

  const long conns = s.connections[Good] + s.connections[Garbage] + s.connections[Staller] + s.connections[Early];
  const long rss_growth = rss_end - rss_start;
  std::vector<std::string> problems;
  if (died) problems.push_back("serve exited during the run with " + std::to_string(server.code()));
  if (code != 0) problems.push_back("serve did not exit 0 on SIGTERM: " + std::to_string(code));
  if (s.good_failed > 0) problems.push_back(std::to_string(s.good_failed.load()) + " good clients failed");
  if (s.good_ok == 0) problems.push_back("no good client was served");
  if (s.stallers_not_dropped > 0 || s.stallers_dropped_early > 0) problems.push_back("stallers not dropped on time");
  if (fds_end > fds_idle + opt.fd_slack) problems.push_back("descriptors did not return to the baseline");
  if (opt.rss_limit_mb > 0 && rss_growth > static_cast<long>(opt.rss_limit_mb * 1024))
    problems.push_back("VmRSS grew by " + std::to_string(rss_growth) + " kB");
  // Signals of one kind that arrive while one is pending merge into one: a loop that stalls for
  // a second would show as fewer reloads than signals.
  if (!died && (log.reloads == 0 || log.reloads < sighups * 9 / 10))
    problems.push_back("serve logged " + std::to_string(log.reloads) + " SIGHUP reloads for " + std::to_string(sighups) + " sent");

  std::printf(
      "soak serve: %.1f s, clients good=%d garbage=%d staller=%d early=%d, connections %ld (good %ld garbage %ld staller "
      "%ld early %ld), good ok %ld failed %ld (with request %ld), stallers dropped by timeout %ld, reloads %ld (logged "
      "%ld), rss_kb idle %ld start %ld end %ld max %ld (growth %ld), fds idle %ld end %ld max %ld, seed %u -> %s\n",
      ran, per_kind[Good], per_kind[Garbage], per_kind[Staller], per_kind[Early], conns, s.connections[Good].load(),
      s.connections[Garbage].load(), s.connections[Staller].load(), s.connections[Early].load(), s.good_ok.load(),
      s.good_failed.load(), s.good_with_request.load(), s.stallers_dropped.load(), sighups, log.reloads, rss_idle,
      rss_start, rss_end, rss_max, rss_growth, fds_idle, fds_end, fds_max, first_seed, problems.empty() ? "PASS" : "FAIL");
  std::printf("serve: %ld log lines, %ld handshakes logged, %ld failed, %ld timed out; %s\n", log.lines, log.handshakes,
              log.failed, log.timed_out, log.stats.empty() ? "(no statistics line)" : log.stats.c_str());
  for (const auto& w : log.warnings) std::printf("serve warned: %s\n", w.c_str());
  for (const auto& f : s.failures) std::printf("failure: %s\n", f.c_str());
  for (const auto& p : problems) std::printf("FAIL: %s\n", p.c_str());
  if (died) std::printf("serve stderr tail:\n%s", server.stderr_tail().c_str());
  return problems.empty() ? 0 : 1;
}
