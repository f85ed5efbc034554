// `applctl probe`: connect (non-blocking, one deadline for connect and handshake), shake hands
// with SNI, read the chain the server sent, verify it with verify_chain.
#include "applctl/verify/probe.hpp"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <openssl/ssl.h>

#include "applctl/x509/names.hpp"
#include "applctl/verify/verify.hpp"
#include "base/net.hpp"
#include "base/ossl.hpp"

namespace applctl {

namespace {

using net::Clock;
using net::SslCtxPtr;
using net::SslPtr;

struct Target {
  std::string host;  // without brackets
  std::string port;
};

Target parse_target(std::string_view text) {
  auto bad = [&]() -> Target {
    fail(ErrorKind::Usage, fmt::format("invalid probe target '{}'", text),
         "give HOST:PORT, e.g. support.example.com:443, 192.0.2.10:8443 or [2001:db8::1]:443");
  };
  Target t;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return bad();
    t.host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return bad();
    t.port = rest.empty() ? "443" : std::string(rest.substr(1));
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos && text.find(':') == colon) {
    t.host = text.substr(0, colon);
    t.port = text.substr(colon + 1);
  } else if (colon == std::string_view::npos) {
    t.host = text;
    t.port = "443";
  } else {
    return bad();  // a bare IPv6 address needs brackets
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(t.port.data(), t.port.data() + t.port.size(), port);
  if (t.host.empty() || ec != std::errc() || end != t.port.data() + t.port.size() || port == 0 || port > 65535) return bad();
  return t;
}

void handshake(SSL* ssl, int fd, const std::string& address, Clock::time_point deadline) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int rc = SSL_connect(ssl);
    if (rc == 1) return;
    int err = SSL_get_error(ssl, rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events != 0) {
      if (!net::wait_fd(fd, events, deadline))
        fail(ErrorKind::Remote, fmt::format("TLS handshake with {} timed out", address), "is it a TLS port?");
      continue;
    }
    std::string why = err == SSL_ERROR_SYSCALL ? (errno != 0 ? std::strerror(errno) : "the server closed the connection")
                                               : ossl::drain_errors();
    fail(ErrorKind::Remote, fmt::format("TLS handshake with {} failed: {}", address, why),
         "is it a TLS port, and does the server accept that SNI name?");
  }
}

}  // namespace

ProbeResult probe(const ProbeRequest& request) {
  const Target target = parse_target(request.target);
  const auto deadline = Clock::now() + request.timeout;
  const std::optional<std::string> host_ip = canonical_ip(target.host);
  ProbeResult r;
  r.sni = request.sni.value_or(host_ip ? std::string() : target.host);

  net::Socket sock = net::connect_to(target.host, target.port, deadline, r.address);
  SslCtxPtr ctx(ossl::check_ptr(SSL_CTX_new_ex(nullptr, nullptr, TLS_client_method()), "SSL_CTX_new_ex"));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // verify_chain decides, below
  SslPtr ssl(ossl::check_ptr(SSL_new(ctx.get()), "SSL_new"));
  ossl::check(SSL_set_fd(ssl.get(), sock.fd), "SSL_set_fd");
  if (!r.sni.empty())
    ossl::check(static_cast<int>(SSL_set_tlsext_host_name(ssl.get(), r.sni.c_str())), "SSL_set_tlsext_host_name",
                ErrorKind::Usage);
  handshake(ssl.get(), sock.fd, r.address, deadline);

  r.protocol = SSL_get_version(ssl.get());
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get());
  r.cipher = cipher != nullptr ? SSL_CIPHER_get_name(cipher) : "";
  if (STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl.get()); sent != nullptr) {
    for (int i = 0; i < sk_X509_num(sent); ++i) {
      ProbedCert c;
      c.der = ossl::to_der(sk_X509_value(sent, i), i2d_X509, "i2d_X509");
      c.info = inspect_certificate(c.der);
      r.chain.push_back(std::move(c));
    }
  }
  ERR_clear_error();
  SSL_shutdown(ssl.get());  // best effort: our close_notify
  ERR_clear_error();

  if (r.chain.empty()) {
    r.reason = "no-certificate";
    r.detail = "the server sent no certificate";
  } else {
    VerifyPolicy policy;
    policy.roots = request.roots;
    policy.system_roots = request.roots.empty();
    for (std::size_t i = 1; i < r.chain.size(); ++i) policy.untrusted.push_back(r.chain[i].der);
    if (request.hostname) policy.hostname = *request.hostname;
    else if (!r.sni.empty()) policy.hostname = r.sni;
    else if (host_ip) policy.ip = *host_ip;
    r.verified_name = policy.hostname ? *policy.hostname : policy.ip.value_or("");
    VerifyResult v = verify_chain(r.chain.front().der, policy);
    r.verified = v.valid;
    r.reason = v.valid ? "" : v.reason;
    r.detail = v.detail;
  }
  if (request.expected_fingerprint)
    r.expected = !r.chain.empty() && r.chain.front().info.fingerprint_sha256 == *request.expected_fingerprint;
  return r;
}

}  // namespace applctl
