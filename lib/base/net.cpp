// Client sockets for the TLS clients: a non-blocking connect bounded by one deadline (see
// base/net.hpp).
#include "base/net.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "applctl/base/error.hpp"

namespace applctl::net {

namespace {

inline void free_addrinfo(addrinfo* a) { ::freeaddrinfo(a); }
using AddrInfoPtr = std::unique_ptr<addrinfo, ossl::Free<free_addrinfo>>;

}  // namespace

Socket::~Socket() {
  if (fd >= 0) ::close(fd);
}

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string endpoint(const sockaddr* sa) {
  char host[NI_MAXHOST] = {}, port[NI_MAXSERV] = {};
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  ::getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
  return sa->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

Socket connect_to(const std::string& host, const std::string& port, Clock::time_point deadline, std::string& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &raw); rc != 0)
    fail(ErrorKind::Remote, fmt::format("cannot resolve '{}': {}", host, ::gai_strerror(rc)));
  AddrInfoPtr list(raw);
  std::string last = "no address";
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    Socket s;
    s.fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (s.fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    address = endpoint(a->ai_addr);
    if (::connect(s.fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = fmt::format("{}: {}", address, std::strerror(errno));
        continue;
      }
      if (!wait_fd(s.fd, POLLOUT, deadline)) {
        last = fmt::format("{}: timed out", address);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = fmt::format("{}: {}", address, std::strerror(err));
        continue;
      }
    }
    int one = 1;
    ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
  }
  fail(ErrorKind::Remote, fmt::format("cannot connect to {}:{}: {}", host, port, last),
       "is the server running and the port open?");
}

}  // namespace applctl::net
