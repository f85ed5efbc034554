// The KMIP settings of an appliance: what it takes to reach its KMIP server (host, port, CA,
// client certificate and key, credential, timeout, negotiated protocol version).
//
// They live in STORE/kmip.json, beside the database and outside it: when the store is encrypted
// with a key held by the KMIP server, these settings are what fetches that key. The file is 0600
// in the 0700 store directory and is replaced atomically (temporary file, fsync, rename). It
// holds the client's private key and the password: nothing prints them, logs them or puts them
// in an error message. STORE/kmip-test.json keeps the result of the last connection test.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "applctl/kmip/kmip.hpp"
#include "applctl/base/timeutil.hpp"

namespace applctl {

struct KmipConfig {
  std::string host;
  int port = 5696;
  std::string ca_pem;           // the trust anchors for the server's certificate
  std::string client_cert_pem;  // the client certificate, then its chain
  std::string client_key_pem;   // unencrypted PKCS#8 (0600, like the store's own keys)
  std::optional<kmip::Credential> credential;
  int timeout_seconds = 10;
  std::optional<kmip::Version> version;  // negotiated by the last successful test
  UnixTime configured_at = 0;
  // Data at rest encryption (set by `kmip encrypt`): the unique identifier of the key on the
  // server that encrypts the store; "" while the store is not encrypted.
  std::string encryption_key_uid;
  // PageKeys::check_value() of that key: names a different key as such, not as a damaged page.
  std::string encryption_key_check;

  KmipConfig() = default;
  KmipConfig(const KmipConfig&) = default;
  KmipConfig(KmipConfig&&) noexcept = default;
  KmipConfig& operator=(const KmipConfig&) = default;
  KmipConfig& operator=(KmipConfig&&) noexcept = default;
  ~KmipConfig();  // wipes the client key

  std::string server() const;  // "host:port", "[v6]:port"
  kmip::ClientSettings client_settings() const;
  // A connected client speaking the saved protocol version (negotiated now when there is none).
  kmip::Client connect() const;
};

std::filesystem::path kmip_config_path(const std::filesystem::path& store_dir);
std::filesystem::path kmip_test_path(const std::filesystem::path& store_dir);

// Only whether the file exists: what `status` needs without reading secrets.
bool kmip_configured(const std::filesystem::path& store_dir);
// nullopt when there is no file; Failed (exit 1) naming the file when it cannot be read or parsed.
std::optional<KmipConfig> load_kmip_config(const std::filesystem::path& store_dir);
// The configuration, or NotFound (exit 4) "KMIP is not configured" with the hint to configure it.
KmipConfig require_kmip_config(const std::filesystem::path& store_dir);
// Writes the file atomically, 0600. The store directory must exist.
void save_kmip_config(const std::filesystem::path& store_dir, const KmipConfig& config);
// Restores what load_kmip_config returned before a save (nullopt: removes the file).
void restore_kmip_config(const std::filesystem::path& store_dir, const std::optional<KmipConfig>& previous);

// The outcome of the last connection test (`kmip configure`, `kmip test`).
struct KmipTestRecord {
  UnixTime time = 0;
  std::string server;
  bool ok = false;
  std::string version;                // negotiated, when ok
  std::vector<std::string> versions;  // what the server offered, when ok
  std::string vendor;
  std::string error;                  // the message, when not ok
};
std::optional<KmipTestRecord> load_kmip_test(const std::filesystem::path& store_dir);
// Best effort: a status cache, never a reason to fail the command.
void save_kmip_test(const std::filesystem::path& store_dir, const KmipTestRecord& record);

}  // namespace applctl
