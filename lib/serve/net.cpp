// Listen addresses and sockets for `serve`: parsing ADDR:PORT, binding, naming endpoints.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "applctl/x509/names.hpp"
#include "serve/internal.hpp"

namespace applctl {

std::string ListenAddress::str() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

ListenAddress parse_listen_address(std::string_view text) {
  auto bad = [&]() -> ListenAddress {
    fail(ErrorKind::Usage, fmt::format("invalid listen address '{}'", text),
         "give ADDR:PORT with a numeric address: 127.0.0.1:8443, 0.0.0.0:443, [::1]:8443");
  };
  std::string_view host, port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad();
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad();  // IPv6 needs its brackets
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) return bad();
  auto canonical = canonical_ip(host);
  if (!canonical) return bad();
  return {*canonical, static_cast<std::uint16_t>(value)};
}

namespace serving {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

std::string hint_for(int err) {
  switch (err) {
    case EADDRINUSE: return "another process listens on that port: stop it or choose another with --listen";
    case EADDRNOTAVAIL: return "the address is not one of this machine's (see `ip addr`)";
    case EACCES: return "ports below 1024 need root or CAP_NET_BIND_SERVICE";
    default: return {};
  }
}

}  // namespace

Fd listen_on(const ListenAddress& addr, ListenAddress& bound) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const bool v6 = addr.host.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(addr.port);
    if (::inet_pton(AF_INET6, addr.host.c_str(), &a->sin6_addr) != 1)
      fail(ErrorKind::Usage, fmt::format("invalid listen address '{}'", addr.str()));
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(addr.port);
    if (::inet_pton(AF_INET, addr.host.c_str(), &a->sin_addr) != 1)
      fail(ErrorKind::Usage, fmt::format("invalid listen address '{}'", addr.str()));
    len = sizeof(sockaddr_in);
  }
  auto failed = [&](std::string_view what) {
    int err = errno;
    fail(ErrorKind::Remote, fmt::format("cannot listen on {}: {}: {}", addr.str(), what, std::strerror(err)), hint_for(err));
  };
  Fd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) failed("socket");
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) failed("SO_REUSEADDR");
  if (v6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) failed("IPV6_V6ONLY");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) failed("bind");
  if (::listen(fd.get(), SOMAXCONN) != 0) failed("listen");
  sockaddr_storage actual{};
  socklen_t actual_len = sizeof actual;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&actual), &actual_len) != 0) failed("getsockname");
  bound.host = addr.host;
  bound.port = ntohs(actual.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&actual)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&actual)->sin_port);
  return fd;
}

std::string address_of(const sockaddr_storage& sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&sa)->sin_addr, buf, sizeof buf);
  } else if (sa.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) ::inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof buf);
    else ::inet_ntop(AF_INET6, &a, buf, sizeof buf);
  }
  return buf;
}

std::string endpoint_of(const sockaddr_storage& sa) {
  std::string host = address_of(sa);
  unsigned port = sa.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_port)
                                           : ntohs(reinterpret_cast<const sockaddr_in*>(&sa)->sin_port);
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

}  // namespace serving

}  // namespace applctl
