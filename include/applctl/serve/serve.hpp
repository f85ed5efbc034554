// `applctl serve`: a TLS 1.2/1.3 endpoint that presents, for each connection, what SniIndex::resolve
// says for the client's SNI name and the local address it connected to, with the certificate's
// chain (per its chain mode). One SSL_CTX per servable certificate is built when the store is
// loaded, so a handshake never touches the store. One thread, non-blocking sockets, epoll; a
// client that stalls is dropped after its timeout. SIGHUP, or a change of the store seen by the
// poll, swaps in a new index for new handshakes while existing connections finish. SIGTERM and
// SIGINT return normally.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace applctl {

// "127.0.0.1:8443", "[::1]:8443", "0.0.0.0:443", "[::]:443" (port 0: the system picks one).
struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6 address, without brackets
  std::uint16_t port = 0;
  std::string str() const;  // back to "host:port" / "[host]:port"
};
// Usage error naming the text when it is not a numeric address with a port.
ListenAddress parse_listen_address(std::string_view text);

enum class ServeLogLevel { Debug, Info, Warn };
using ServeLog = std::function<void(ServeLogLevel, const std::string&)>;

struct ServeOptions {
  std::filesystem::path store_dir;
  std::vector<ListenAddress> listen;  // empty: 127.0.0.1:8443
  // A client gets this long for its handshake, then as long again to send its request.
  std::chrono::milliseconds client_timeout{10'000};
  // How often the store is checked for changes (PRAGMA data_version, and the database file's
  // identity); zero: only on SIGHUP.
  std::chrono::milliseconds poll_interval{1'000};
  std::size_t max_connections = 4096;
  ServeLog log;  // never given key material
  ServeLogLevel log_level = ServeLogLevel::Warn;  // messages below this are not even formatted
  // Called once every address is bound and listening, with the bound addresses (ports resolved).
  std::function<void(const std::vector<ListenAddress>&)> on_listening;
};

struct ServeStats {
  std::uint64_t connections = 0;       // accepted
  std::uint64_t handshakes = 0;        // completed
  std::uint64_t failed_handshakes = 0; // including timeouts and garbage
  std::uint64_t requests = 0;          // HTTP requests answered
  std::uint64_t reloads = 0;           // new indexes swapped in after the first
};

// Runs until SIGTERM or SIGINT (both, and SIGHUP, are blocked in the calling thread and read
// through a signalfd; SIGPIPE is ignored while it runs). Throws NotFound when the store has no
// default certificate to serve, Remote when an address cannot be bound (in use, not local).
ServeStats serve(const ServeOptions& options);

}  // namespace applctl
