// Client sockets shared by the TLS clients (probe, the KMIP client): a non-blocking TCP connect
// to the first address of a host that answers, and waits bounded by one deadline. Internal to lib/.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include <openssl/ssl.h>

#include "base/ossl.hpp"

namespace applctl::net {

using Clock = std::chrono::steady_clock;
using SslCtxPtr = std::unique_ptr<SSL_CTX, ossl::Free<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, ossl::Free<SSL_free>>;

// An owned file descriptor.
struct Socket {
  int fd = -1;
  Socket() = default;
  Socket(Socket&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Socket& operator=(Socket&&) = delete;
  ~Socket();
};

// Milliseconds until deadline (0 when past), for poll(2).
int remaining_ms(Clock::time_point deadline);
// Waits for fd to become readable/writable (events: POLLIN/POLLOUT); false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline);
// "192.0.2.1:443" / "[2001:db8::1]:443".
std::string endpoint(const sockaddr* sa);

// A connected non-blocking socket (TCP_NODELAY) to the first address of host that answers
// before the deadline; `address` is set to the endpoint tried last. Throws Remote naming host
// and port ("cannot resolve", "cannot connect ...: Connection refused", "timed out").
Socket connect_to(const std::string& host, const std::string& port, Clock::time_point deadline, std::string& address);

}  // namespace applctl::net
