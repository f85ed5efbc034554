// The http-01 responder of `acme issue --http-port`: a small HTTP/1.x server on every address of
// the port that answers GET /.well-known/acme-challenge/TOKEN with the key authorization, and
// 404 to everything else. One thread accepts and answers each connection in turn (a validation
// request and its answer are a few hundred bytes; pebble sends three at once, which queue).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"

namespace applctl::acme {

namespace {
constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";
}

Http01Responder::Http01Responder(int port) {
  fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool v6 = fd_ >= 0;
  if (!v6) fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail(ErrorKind::Failed, fmt::format("http-01 responder: socket: {}", std::strerror(errno)));
  int one = 1, zero = 0;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // IPv4 too
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_any;
    sa.sin6_port = htons(static_cast<std::uint16_t>(port));
    rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  if (rc != 0 || ::listen(fd_, 64) != 0) {
    int err = errno;
    ::close(fd_);
    fail(ErrorKind::Refused, fmt::format("http-01 responder: cannot listen on port {}: {}", port, std::strerror(err)),
         err == EACCES ? "ports below 1024 need root or CAP_NET_BIND_SERVICE" : "is another web server using the port?");
  }
  thread_ = std::thread([this] { serve(); });
}

Http01Responder::~Http01Responder() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

void Http01Responder::publish(const std::string& token, const std::string& key_authorization) {
  std::lock_guard lock(mutex_);
  tokens_[token] = key_authorization;
}

void Http01Responder::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string req;
    char buf[2048];
    // The request line and headers, bounded in size and time.
    for (int i = 0; i < 40 && req.find("\r\n\r\n") == std::string::npos && req.size() < 8192; ++i) {
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 50) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
    }
    std::string body, status = "404 Not Found";
    if (req.rfind("GET ", 0) == 0) {
      std::string path = req.substr(4, req.find(' ', 4) - 4);
      if (path.rfind(kPrefix, 0) == 0) {
        std::lock_guard lock(mutex_);
        auto it = tokens_.find(path.substr(kPrefix.size()));
        if (it != tokens_.end()) {
          status = "200 OK";
          body = it->second;
          ++served_;
        }
      }
    }
    std::string resp = fmt::format("HTTP/1.1 {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                                   status, body.size(), body);
    ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    ::close(c);
  }
}

}  // namespace applctl::acme
