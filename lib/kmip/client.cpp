// The KMIP client's transport: mutual TLS 1.2+ to one server, trusting only the configured CA
// and checking the server's name or IP (X509_VERIFY_PARAM), with one deadline for connect and
// handshake and one per request; responses are framed by their TTLV header and size-limited.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"
#include "applctl/x509/names.hpp"
#include "base/net.hpp"
#include "base/ossl.hpp"

namespace applctl::kmip {

namespace {

using net::Clock;

constexpr const char* kCaHint =
    "--ca must be the CA that issued the KMIP server's certificate, and the certificate must name the "
    "host you gave (in its subject alternative names)";
constexpr const char* kClientHint =
    "does the KMIP server trust the client certificate (issued by its CA, with the clientAuth extended key usage)?";

std::vector<ossl::X509Ptr> certs_from_pem(const std::string& pem, std::string_view what) {
  ossl::BioPtr bio = ossl::mem_bio(as_bytes(pem));
  std::vector<ossl::X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the end of the input
  if (out.empty()) fail(ErrorKind::BadInput, fmt::format("the KMIP settings hold no {} certificate", what));
  return out;
}

net::SslCtxPtr make_context(const ClientSettings& s) {
  net::SslCtxPtr ctx(ossl::check_ptr(SSL_CTX_new_ex(nullptr, nullptr, TLS_client_method()), "SSL_CTX_new_ex"));
  ossl::check(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION), "SSL_CTX_set_min_proto_version");
  // Only the configured CA: a new, empty store, never the system's default paths.
  ossl::X509StorePtr store(ossl::check_ptr(X509_STORE_new(), "X509_STORE_new"));
  for (const auto& ca : certs_from_pem(s.ca_pem, "CA"))
    ossl::check(X509_STORE_add_cert(store.get(), ca.get()), "X509_STORE_add_cert");
  SSL_CTX_set_cert_store(ctx.get(), store.release());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);

  auto chain = certs_from_pem(s.client_cert_pem, "client");
  ossl::check(SSL_CTX_use_certificate(ctx.get(), chain.front().get()), "SSL_CTX_use_certificate");
  for (std::size_t i = 1; i < chain.size(); ++i)
    ossl::check(static_cast<int>(SSL_CTX_add1_chain_cert(ctx.get(), chain[i].get())), "SSL_CTX_add1_chain_cert");
  ossl::BioPtr key_bio = ossl::mem_bio(as_bytes(s.client_key_pem));
  ossl::PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) ossl::raise("reading the KMIP client key (PEM_read_bio_PrivateKey)", ErrorKind::BadInput);
  ossl::check(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), "SSL_CTX_use_PrivateKey");
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    fail(ErrorKind::BadInput, "the saved KMIP client key does not match the client certificate",
         "run applctl kmip configure again");
  }
  return ctx;
}

// The server's identity: its IP address, or its DNS name (also sent as SNI).
void expect_identity(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (canonical_ip(host)) {
    ossl::check(X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()), "X509_VERIFY_PARAM_set1_ip_asc", ErrorKind::BadInput);
    return;
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  ossl::check(X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()), "X509_VERIFY_PARAM_set1_host",
              ErrorKind::BadInput);
  ossl::check(static_cast<int>(SSL_set_tlsext_host_name(ssl, host.c_str())), "SSL_set_tlsext_host_name",
              ErrorKind::BadInput);
}

// Why an SSL call failed, for a message.
std::string io_error(SSL* ssl, int rc) {
  int err = SSL_get_error(ssl, rc);
  if (err == SSL_ERROR_ZERO_RETURN) return "the server closed the connection";
  if (err == SSL_ERROR_SYSCALL) {
    std::string queue = ossl::drain_errors();
    if (!queue.empty()) return queue;
    return errno != 0 ? std::strerror(errno) : "the server closed the connection";
  }
  std::string queue = ossl::drain_errors();
  return queue.empty() ? fmt::format("SSL error {}", err) : queue;
}

// Waits as SSL_get_error asks; false for any other error.
bool wait_for_ssl(SSL* ssl, int fd, int rc, Clock::time_point deadline, bool& timed_out) {
  int err = SSL_get_error(ssl, rc);
  short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
  if (events == 0) return false;
  timed_out = !net::wait_fd(fd, events, deadline);
  return !timed_out;
}

}  // namespace

// One TLS connection to the KMIP server.
class Connection {
 public:
  Connection(const ClientSettings& s, const std::string& server) : server_(server), timeout_(s.timeout) {
    ctx_ = make_context(s);
    const auto deadline = Clock::now() + s.timeout;
    std::string address;
    sock_ = std::make_unique<net::Socket>(net::connect_to(s.host, std::to_string(s.port), deadline, address));
    ssl_.reset(ossl::check_ptr(SSL_new(ctx_.get()), "SSL_new"));
    ossl::check(SSL_set_fd(ssl_.get(), sock_->fd), "SSL_set_fd");
    expect_identity(ssl_.get(), s.host);
    handshake(deadline);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    // Best effort: our close_notify, so the server ends the session now (not after a failure,
    // when OpenSSL must not send anything more).
    if (!broken_) SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

  // Sends one request and reads one framed response, within the timeout.
  Bytes round_trip(BytesView request) {
    const auto deadline = Clock::now() + timeout_;
    broken_ = true;  // until the whole response is in
    write_all(request, deadline);
    Bytes response(kHeaderSize);
    read_exact(response.data(), kHeaderSize, deadline);
    const std::size_t size = item_size(response);
    response.resize(size);
    read_exact(response.data() + kHeaderSize, size - kHeaderSize, deadline);
    broken_ = false;
    return response;
  }

  std::string tls() const {
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
    return fmt::format("{}, {}", SSL_get_version(ssl_.get()), c != nullptr ? SSL_CIPHER_get_name(c) : "?");
  }

 private:
  void handshake(Clock::time_point deadline) {
    for (;;) {
      ERR_clear_error();
      errno = 0;
      int rc = SSL_connect(ssl_.get());
      if (rc == 1) return;
      bool timed_out = false;
      if (wait_for_ssl(ssl_.get(), sock_->fd, rc, deadline, timed_out)) continue;
      if (timed_out)
        fail(ErrorKind::Remote, fmt::format("TLS handshake with KMIP server {} timed out", server_),
             "is it a TLS port? a KMIP server listens on 5696");
      if (long v = SSL_get_verify_result(ssl_.get()); v != X509_V_OK)
        fail(ErrorKind::Remote,
             fmt::format("the certificate of KMIP server {} does not verify: {}", server_,
                         X509_verify_cert_error_string(v)),
             kCaHint);
      fail(ErrorKind::Remote, fmt::format("TLS handshake with KMIP server {} failed: {}", server_, io_error(ssl_.get(), rc)),
           kClientHint);
    }
  }

  void write_all(BytesView data, Clock::time_point deadline) {
    for (std::size_t off = 0; off < data.size();) {
      ERR_clear_error();
      errno = 0;
      std::size_t n = 0;
      int rc = SSL_write_ex(ssl_.get(), data.data() + off, data.size() - off, &n);
      if (rc == 1) {
        off += n;
        continue;
      }
      bool timed_out = false;
      if (wait_for_ssl(ssl_.get(), sock_->fd, rc, deadline, timed_out)) continue;
      if (timed_out) fail(ErrorKind::Remote, fmt::format("sending to KMIP server {} timed out", server_));
      fail(ErrorKind::Remote, fmt::format("sending to KMIP server {} failed: {}", server_, io_error(ssl_.get(), rc)));
    }
  }

  void read_exact(std::uint8_t* out, std::size_t want, Clock::time_point deadline) {
    for (std::size_t got = 0; got < want;) {
      ERR_clear_error();
      errno = 0;
      std::size_t n = 0;
      int rc = SSL_read_ex(ssl_.get(), out + got, want - got, &n);
      if (rc == 1) {
        got += n;
        continue;
      }
      bool timed_out = false;
      if (wait_for_ssl(ssl_.get(), sock_->fd, rc, deadline, timed_out)) continue;
      if (timed_out)
        fail(ErrorKind::Remote,
             fmt::format("KMIP server {} did not answer within {} s", server_,
                         std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()),
             "is the server overloaded? --timeout sets the limit");
      // An alert right after the handshake (TLS 1.3 servers check the client certificate late).
      fail(ErrorKind::Remote, fmt::format("reading from KMIP server {} failed: {}", server_, io_error(ssl_.get(), rc)),
           kClientHint);
    }
  }

  std::string server_;
  std::chrono::milliseconds timeout_;
  bool broken_ = false;
  net::SslCtxPtr ctx_;
  std::unique_ptr<net::Socket> sock_;
  net::SslPtr ssl_;
};

Client::Client(ClientSettings settings) : settings_(std::move(settings)) {
  server_ = canonical_ip(settings_.host) && settings_.host.find(':') != std::string::npos
                ? fmt::format("[{}]:{}", settings_.host, settings_.port)
                : fmt::format("{}:{}", settings_.host, settings_.port);
  conn_ = std::make_unique<Connection>(settings_, server_);
}

Client::Client(Client&&) noexcept = default;
Client::~Client() = default;

Version Client::version() const { return settings_.version.value_or(Version{1, 0}); }
const std::string& Client::server() const { return server_; }
std::string Client::tls() const { return conn_->tls(); }

Response Client::exchange(Operation op, Item payload) {
  const Credential* cred = settings_.credential ? &*settings_.credential : nullptr;
  Bytes request = encode_request(version(), cred, op, std::move(payload));
  Bytes raw;
  try {
    raw = conn_->round_trip(request);
  } catch (...) {
    OPENSSL_cleanse(request.data(), request.size());
    throw;
  }
  OPENSSL_cleanse(request.data(), request.size());  // it holds the password
  try {
    Response r = decode_response(raw);
    OPENSSL_cleanse(raw.data(), raw.size());  // it may hold key material
    return r;
  } catch (...) {
    OPENSSL_cleanse(raw.data(), raw.size());
    throw;
  }
}

Item Client::call(Operation op, Item payload, std::string_view what) {
  return require_success(exchange(op, std::move(payload)), op, what);
}

std::vector<Version> Client::negotiate() {
  // DiscoverVersions came with KMIP 1.1: ask in 1.1; a 1.0 server answers Operation Not Supported.
  settings_.version = Version{1, 1};
  Response r = exchange(Operation::DiscoverVersions, discover_versions_payload(supported_versions()));
  if (r.status == ResultStatus::OperationFailed && r.reason == kOperationNotSupported) {
    settings_.version = Version{1, 0};
    return {Version{1, 0}};
  }
  const std::vector<Version> common = parse_discover_versions(require_success(r, Operation::DiscoverVersions, "DiscoverVersions"));
  Version best{0, 0};
  for (const auto& v : common)
    if (std::find(supported_versions().begin(), supported_versions().end(), v) != supported_versions().end())
      best = std::max(best, v);
  if (best == Version{0, 0}) {
    auto all = parse_discover_versions(call(Operation::DiscoverVersions, discover_versions_payload({}), "DiscoverVersions"));
    std::string theirs;
    for (const auto& v : all) theirs += (theirs.empty() ? "" : ", ") + v.str();
    fail(ErrorKind::Remote,
         fmt::format("KMIP server {} supports no version applctl speaks (it offers {}; applctl 2.0 and 1.0 to 1.4)",
                     server_, theirs.empty() ? "none" : theirs));
  }
  settings_.version = best;
  return common;
}

ServerInfo Client::query() { return parse_query(call(Operation::Query, query_payload(), "Query")); }

std::string Client::create_aes_key(const AesKeySpec& spec) {
  return parse_unique_identifier(call(Operation::Create, create_payload(version(), spec), "Create"));
}

void Client::activate(const std::string& uid) {
  call(Operation::Activate, uid_payload(uid), fmt::format("Activate of key '{}'", printable(uid)));
}

KeyObject Client::get(const std::string& uid) {
  return parse_get(call(Operation::Get, uid_payload(uid), fmt::format("Get of key '{}'", printable(uid))));
}

std::vector<std::string> Client::locate(const std::string& name) {
  return parse_locate(call(Operation::Locate, locate_payload(version(), name), fmt::format("Locate of '{}'", printable(name))));
}

KeyAttributes Client::get_attributes(const std::string& uid) {
  return parse_get_attributes(version(), call(Operation::GetAttributes, get_attributes_payload(version(), uid),
                                              fmt::format("GetAttributes of key '{}'", printable(uid))));
}

void Client::revoke(const std::string& uid) {
  call(Operation::Revoke, revoke_payload(uid), fmt::format("Revoke of key '{}'", printable(uid)));
}

void Client::destroy(const std::string& uid) {
  call(Operation::Destroy, uid_payload(uid), fmt::format("Destroy of key '{}'", printable(uid)));
}

}  // namespace applctl::kmip
