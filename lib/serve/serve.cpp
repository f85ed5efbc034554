// The event loop of `serve`: one thread, non-blocking sockets, level-triggered epoll. Each
// connection is a small state machine (handshake -> request -> response -> drain) with a
// deadline; signals arrive through a signalfd; the store is watched between events.
#include "applctl/serve/serve.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "serve/internal.hpp"

namespace applctl {

namespace serving {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kDrainTime{2};

struct Source {
  enum class Kind { Listener, Signals, Connection } kind;
  int fd = -1;
};

struct Conn : Source {
  Conn() : Source{Kind::Connection, -1} {}
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
  enum class State { Handshake, Request, Respond, Drain } state = State::Handshake;
  SslPtr ssl;
  HandshakeInfo hs;
  std::string peer;
  std::string in, out;
  std::size_t sent = 0;
  std::uint32_t events = 0;
  std::multimap<Clock::time_point, Conn*>::iterator timer;
};

class Server {
 public:
  explicit Server(const ServeOptions& o) : opt_(o), watcher_(o.store_dir) {}
  ServeStats run();

 private:
  template <typename... Args>
  void log(ServeLogLevel level, fmt::format_string<Args...> f, Args&&... args) {
    if (opt_.log && level >= opt_.log_level) opt_.log(level, fmt::format(f, std::forward<Args>(args)...));
  }
  void reload(std::string_view why);
  void add(Source& s, int fd, std::uint32_t events);
  void accept_from(const Source& listener);
  void pause_accepting(Clock::duration for_how_long);
  void drive(Conn& c);
  bool wait_for(Conn& c, int rc, std::string* why);
  void set_events(Conn& c, std::uint32_t events);
  void set_deadline(Conn& c, Clock::duration d);
  void close(Conn& c);
  bool read_signals();  // false: stop

  const ServeOptions& opt_;
  StoreWatcher watcher_;
  std::shared_ptr<const Catalog> catalog_;
  SslCtxPtr ctx_;
  Fd epoll_, signals_;
  std::vector<Fd> listener_fds_;
  std::vector<Source> listeners_;
  Source signal_source_{Source::Kind::Signals, -1};
  std::map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<std::unique_ptr<Conn>> closed_;  // freed after the current batch of events
  std::multimap<Clock::time_point, Conn*> timers_;
  bool paused_ = false;
  Clock::time_point resume_at_{};
  ServeStats stats_;
};

void Server::reload(std::string_view why) {
  std::vector<std::string> problems;
  try {
    auto next = Catalog::load(opt_.store_dir, catalog_.get(), &problems);
    for (const auto& p : problems) log(ServeLogLevel::Warn, "{}", p);
    if (!next->has_default())
      log(ServeLogLevel::Warn, "the store has no default certificate: clients that no other rule matches are refused");
    catalog_ = std::move(next);
    ++stats_.reloads;
    log(ServeLogLevel::Info, "reloaded the store ({}): {} certificates ready", why, catalog_->size());
  } catch (const Error& e) {
    log(ServeLogLevel::Warn, "cannot reload the store ({}): {}; still serving what was loaded before", why, e.what());
  }
}

void Server::add(Source& s, int fd, std::uint32_t events) {
  s.fd = fd;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &s;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    fail(ErrorKind::Failed, fmt::format("epoll_ctl: {}", std::strerror(errno)));
}

void Server::pause_accepting(Clock::duration for_how_long) {
  if (!paused_)
    for (auto& l : listeners_) {
      epoll_event ev{};
      ev.data.ptr = &l;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, l.fd, &ev);
    }
  paused_ = true;
  resume_at_ = Clock::now() + for_how_long;
}

void Server::accept_from(const Source& listener) {
  for (int i = 0; i < 64; ++i) {
    if (conns_.size() >= opt_.max_connections) {
      log(ServeLogLevel::Warn, "{} connections open: not accepting more for now", conns_.size());
      pause_accepting(std::chrono::milliseconds(100));
      return;
    }
    sockaddr_storage peer{}, local{};
    socklen_t plen = sizeof peer, llen = sizeof local;
    int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      log(ServeLogLevel::Warn, "accept: {}; pausing for a second", std::strerror(errno));
      pause_accepting(std::chrono::seconds(1));  // EMFILE, ENFILE, ENOBUFS: let connections finish
      return;
    }
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    c->peer = endpoint_of(peer);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0) c->hs.local_address = address_of(local);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->hs.catalog = &catalog_;
    c->ssl.reset(SSL_new(ctx_.get()));
    if (!c->ssl || SSL_set_fd(c->ssl.get(), fd) != 1) {
      log(ServeLogLevel::Warn, "cannot start TLS for {}: {}", c->peer, ossl::drain_errors());
      continue;  // c closes the socket
    }
    SSL_set_accept_state(c->ssl.get());
    SSL_set_app_data(c->ssl.get(), &c->hs);
    ++stats_.connections;
    Conn& ref = *c;
    conns_.emplace(c.get(), std::move(c));
    ref.timer = timers_.end();
    add(ref, fd, EPOLLIN);
    ref.events = EPOLLIN;
    set_deadline(ref, opt_.client_timeout);
  }
}

void Server::set_events(Conn& c, std::uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = &c;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd, &ev);
  c.events = events;
}

void Server::set_deadline(Conn& c, Clock::duration d) {
  if (c.timer != timers_.end()) timers_.erase(c.timer);
  c.timer = timers_.emplace(Clock::now() + d, &c);
}

void Server::close(Conn& c) {
  if (c.fd < 0) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  if (c.timer != timers_.end()) timers_.erase(c.timer);
  c.timer = timers_.end();
  auto it = conns_.find(&c);
  closed_.push_back(std::move(it->second));
  conns_.erase(it);
}

// After an SSL call returned rc <= 0: true when it only waits for the socket (events updated),
// false when the connection is over (why says how, for the log).
bool Server::wait_for(Conn& c, int rc, std::string* why) {
  int err = SSL_get_error(c.ssl.get(), rc);
  if (err == SSL_ERROR_WANT_READ) {
    set_events(c, EPOLLIN);
    return true;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    set_events(c, EPOLLOUT);
    return true;
  }
  if (why != nullptr) {
    if (err == SSL_ERROR_ZERO_RETURN) *why = "closed by the client";
    else if (err == SSL_ERROR_SYSCALL) *why = errno != 0 ? std::strerror(errno) : "the client went away";
    else *why = ossl::drain_errors();
    if (why->empty()) *why = "TLS error";
  }
  ERR_clear_error();
  return false;
}

void Server::drive(Conn& c) {
  for (;;) {
    switch (c.state) {
      case Conn::State::Handshake: {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_do_handshake(c.ssl.get());
        if (rc == 1) {
          ++stats_.handshakes;
          c.state = Conn::State::Request;
          set_deadline(c, opt_.client_timeout);
          if (c.hs.pick)
            log(ServeLogLevel::Info, "{} -> {}: sni={} rule={} cert='{}' {} {}", c.peer, c.hs.local_address,
                c.hs.sni.empty() ? "-" : printable(c.hs.sni), rule_name(c.hs.pick->rule), c.hs.pick->cert->row.friendly_name,
                c.hs.pick->cert->row.fingerprint_sha256.substr(0, 16), SSL_get_version(c.ssl.get()));
          continue;
        }
        std::string why;
        if (wait_for(c, rc, &why)) return;
        ++stats_.failed_handshakes;
        log(ServeLogLevel::Info, "{} -> {}: handshake failed (sni={}): {}", c.peer, c.hs.local_address,
            c.hs.sni.empty() ? "-" : printable(c.hs.sni), why);
        return close(c);
      }
      case Conn::State::Request: {
        char buf[4096];
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c.ssl.get(), buf, sizeof buf);
        if (n > 0) {
          c.in.append(buf, static_cast<std::size_t>(n));
          bool complete = c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos;
          if (complete || c.in.size() >= kMaxRequest) {
            c.out = http_response(c.in, c.hs, c.ssl.get());
            ++stats_.requests;
            c.state = Conn::State::Respond;
            set_deadline(c, opt_.client_timeout);
          }
          continue;
        }
        if (wait_for(c, n, nullptr)) return;
        return close(c);
      }
      case Conn::State::Respond: {
        while (c.sent < c.out.size()) {
          ERR_clear_error();
          int n = SSL_write(c.ssl.get(), c.out.data() + c.sent, static_cast<int>(c.out.size() - c.sent));
          if (n <= 0) {
            if (wait_for(c, n, nullptr)) return;
            return close(c);
          }
          c.sent += static_cast<std::size_t>(n);
        }
        ERR_clear_error();
        SSL_shutdown(c.ssl.get());  // our close_notify; the client's is not awaited
        ERR_clear_error();
        ::shutdown(c.fd, SHUT_WR);
        c.state = Conn::State::Drain;
        set_events(c, EPOLLIN);
        set_deadline(c, kDrainTime);
        continue;
      }
      case Conn::State::Drain: {
        // Read what the client still sends until it closes, so closing never resets the
        // connection before the client has read the response.
        char buf[4096];
        ssize_t n = 0;
        while ((n = ::recv(c.fd, buf, sizeof buf, 0)) > 0) {
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        return close(c);
      }
    }
  }
}

bool Server::read_signals() {
  signalfd_siginfo si{};
  while (::read(signals_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo == SIGHUP) {
      reload("SIGHUP");
      continue;
    }
    log(ServeLogLevel::Info, "{}: stopping ({} connections open)", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM", conns_.size());
    return false;
  }
  return true;
}

ServeStats Server::run() {
  if (opt_.poll_interval.count() > 0) watcher_.changed();  // the state the first load sees
  std::vector<std::string> problems;
  catalog_ = Catalog::load(opt_.store_dir, nullptr, &problems);
  for (const auto& p : problems) log(ServeLogLevel::Warn, "{}", p);
  if (!catalog_->has_default())
    fail(ErrorKind::NotFound, fmt::format("the store '{}' has no default certificate to serve", opt_.store_dir.string()),
         "run applctl init, or applctl cert default CERT");
  ctx_ = new_listening_ctx();

  epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (epoll_.get() < 0) fail(ErrorKind::Failed, fmt::format("epoll_create1: {}", std::strerror(errno)));
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  signals_ = Fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (signals_.get() < 0) fail(ErrorKind::Failed, fmt::format("signalfd: {}", std::strerror(errno)));
  add(signal_source_, signals_.get(), EPOLLIN);

  const std::vector<ListenAddress> wanted = opt_.listen.empty() ? std::vector<ListenAddress>{{"127.0.0.1", 8443}} : opt_.listen;
  std::vector<ListenAddress> bound(wanted.size());
  for (std::size_t i = 0; i < wanted.size(); ++i) listener_fds_.push_back(listen_on(wanted[i], bound[i]));
  listeners_.resize(listener_fds_.size(), Source{Source::Kind::Listener, -1});
  for (std::size_t i = 0; i < listeners_.size(); ++i) add(listeners_[i], listener_fds_[i].get(), EPOLLIN);
  for (const auto& b : bound) log(ServeLogLevel::Info, "listening on {}", b.str());
  log(ServeLogLevel::Info, "{} certificates ready", catalog_->size());
  if (opt_.on_listening) opt_.on_listening(bound);

  auto next_poll = Clock::now() + opt_.poll_interval;
  std::vector<epoll_event> events(256);
  for (;;) {
    auto now = Clock::now();
    auto wake = now + std::chrono::seconds(1);
    if (!timers_.empty()) wake = std::min(wake, timers_.begin()->first);
    if (opt_.poll_interval.count() > 0) wake = std::min(wake, next_poll);
    if (paused_) wake = std::min(wake, resume_at_);
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), static_cast<int>(std::max<long>(0, wait_ms)));
    if (n < 0 && errno != EINTR) fail(ErrorKind::Failed, fmt::format("epoll_wait: {}", std::strerror(errno)));
    for (int i = 0; i < n; ++i) {
      auto* src = static_cast<Source*>(events[static_cast<std::size_t>(i)].data.ptr);
      switch (src->kind) {
        case Source::Kind::Signals:
          if (!read_signals()) return stats_;
          break;
        case Source::Kind::Listener: accept_from(*src); break;
        case Source::Kind::Connection: {
          auto* c = static_cast<Conn*>(src);
          if (c->fd >= 0) drive(*c);
          break;
        }
      }
    }
    closed_.clear();
    now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      Conn& c = *timers_.begin()->second;
      if (c.state == Conn::State::Handshake) {
        ++stats_.failed_handshakes;
        log(ServeLogLevel::Info, "{} -> {}: handshake timed out", c.peer, c.hs.local_address);
      } else if (c.state != Conn::State::Drain) {
        log(ServeLogLevel::Debug, "{} -> {}: timed out waiting for the request", c.peer, c.hs.local_address);
      }
      close(c);
    }
    closed_.clear();
    if (paused_ && now >= resume_at_) {
      paused_ = false;
      for (auto& l : listeners_) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = &l;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, l.fd, &ev);
      }
    }
    if (opt_.poll_interval.count() > 0 && now >= next_poll) {
      next_poll = now + opt_.poll_interval;
      if (watcher_.changed()) reload("the store changed");
    }
    if (applctl::now() - catalog_->built_at() > 3600) reload("hourly refresh of 'valid now'");
  }
}

}  // namespace

}  // namespace serving

ServeStats serve(const ServeOptions& options) {
  // Signals: TERM/INT/HUP through the signalfd (blocked here first), PIPE ignored (a client that
  // goes away must not kill the server). Both restored on the way out.
  sigset_t set, old_mask;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::pthread_sigmask(SIG_BLOCK, &set, &old_mask);
  struct sigaction ignore {}, old_pipe {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  struct Restore {
    sigset_t* mask;
    struct sigaction* pipe;
    const sigset_t* ours;
    ~Restore() {
      // Signals that came after the loop stopped reading are consumed, not delivered on unblock.
      timespec zero{};
      while (::sigtimedwait(ours, nullptr, &zero) > 0) {
      }
      ::sigaction(SIGPIPE, pipe, nullptr);
      ::pthread_sigmask(SIG_SETMASK, mask, nullptr);
    }
  } restore{&old_mask, &old_pipe, &set};
  serving::Server server(options);
  return server.run();
}

}  // namespace applctl
