// Internal parts of `serve` (lib/serve*.cpp): the catalog of ready TLS contexts built from one
// load of the store, the handshake hook that picks one per connection, and the store watcher.
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include <openssl/ssl.h>

#include "applctl/serve/serve.hpp"
#include "applctl/services/sni.hpp"
#include "base/ossl.hpp"

namespace applctl::sql {
class Db;
}

namespace applctl::serving {

// A file descriptor, closed when it goes.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset();

 private:
  int fd_ = -1;
};

// A non-blocking listening TCP socket on addr (SO_REUSEADDR; IPv6 sockets are IPv6-only).
// Remote error naming the address and the reason when it cannot be bound. `bound` gets the
// address with the port the system chose for port 0.
Fd listen_on(const ListenAddress& addr, ListenAddress& bound);
// The numeric address of a socket address (an IPv4-mapped IPv6 address as plain IPv4) and, with
// its port, "1.2.3.4:5" / "[::1]:5".
std::string address_of(const struct sockaddr_storage& sa);
std::string endpoint_of(const struct sockaddr_storage& sa);

using SslCtxPtr = std::unique_ptr<SSL_CTX, ossl::Free<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, ossl::Free<SSL_free>>;

// One servable certificate: its row and a context holding certificate, key and chain.
struct ServedCert {
  CertRow row;
  std::vector<std::string> chain;  // fingerprints of what is sent after the leaf
  SslCtxPtr ctx;
};

struct Pick {
  std::shared_ptr<const ServedCert> cert;
  SniRule rule = SniRule::Default;
};

// An immutable snapshot of the store: the SNI index and a ready context per certificate it can
// return. Connections keep the snapshot they were given (shared_ptr), so a reload never pulls a
// context from under a handshake.
class Catalog {
 public:
  // Loads the store at dir. Contexts of certificates whose certificate, key and chain are
  // unchanged since `previous` are reused, so a reload costs no key parsing for them. A
  // certificate that cannot be served (damaged key or chain) is left out and named in problems.
  static std::shared_ptr<const Catalog> load(const std::filesystem::path& dir, const Catalog* previous,
                                             std::vector<std::string>* problems);

  std::optional<Pick> pick(std::string_view sni, std::string_view local_address) const;
  std::size_t size() const { return by_id_.size(); }
  bool has_default() const { return has_default_; }
  UnixTime built_at() const { return built_at_; }

 private:
  SniIndex index_;
  std::unordered_map<std::int64_t, std::shared_ptr<const ServedCert>> by_id_;
  std::unordered_map<std::string, std::shared_ptr<const ServedCert>> by_key_;  // reuse across loads
  bool has_default_ = false;
  UnixTime built_at_ = 0;
};

// The settings every context shares (server and per-certificate): TLS 1.2 minimum, no
// renegotiation, no session resumption (each connection gets what the index says now), no
// automatic chain building (the chain sent is exactly the certificate's chain).
SslCtxPtr new_server_ctx();

// What the handshake hook reads and records for one connection (SSL app data).
struct HandshakeInfo {
  std::string local_address;                           // canonical, from getsockname
  const std::shared_ptr<const Catalog>* catalog = nullptr;  // the server's current snapshot
  std::string sni;                                     // what the client sent ("" for none)
  std::optional<Pick> pick;                            // what it was served
};

// The listening context: new_server_ctx() plus the servername hook that switches each
// connection to its certificate's context (SSL_set_SSL_CTX) or refuses it (unrecognized_name)
// when the index has no answer.
SslCtxPtr new_listening_ctx();

// The text/plain body answering an HTTP GET.
std::string status_text(const HandshakeInfo& info, SSL* ssl);

// Requests longer than this are answered 431 without waiting for their end.
inline constexpr std::size_t kMaxRequest = 16 * 1024;
// The HTTP/1.1 answer to what the client sent (the request head, or its first kMaxRequest bytes):
// the status text for GET and HEAD, else 405 or 400; always "Connection: close".
std::string http_response(std::string_view request, const HandshakeInfo& info, SSL* ssl);

// Printable for a log line: a client chooses its SNI bytes.
std::string printable(std::string_view s);

// Notices commits to the store by any process (PRAGMA data_version on a connection of its own)
// and a database file that was replaced or appeared.
class StoreWatcher {
 public:
  explicit StoreWatcher(std::filesystem::path dir);
  ~StoreWatcher();
  StoreWatcher(const StoreWatcher&) = delete;
  StoreWatcher& operator=(const StoreWatcher&) = delete;
  // True when the store changed since the last call (the first call only records the state).
  bool changed();

 private:
  std::filesystem::path file_;
  std::unique_ptr<sql::Db> db_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::int64_t version_ = -1;
  std::string files_;  // sizes and times of the database and its WAL
  bool primed_ = false;
};

}  // namespace applctl::serving
