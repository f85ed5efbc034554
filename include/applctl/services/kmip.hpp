// The appliance's KMIP services (seed 003): configure and test the connection to the KMIP
// server ("save and test"), create, read and destroy keys on it, and report the state. Each
// takes a typed request and returns a typed result; the CLI only parses and renders.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "applctl/codec/codec.hpp"
#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"
#include "applctl/kmip/config.hpp"
#include "applctl/store/store.hpp"

namespace applctl {

// A secret from a file, the environment or a prompt; nullopt when none was given.
using SecretFn = std::function<std::optional<std::string>()>;

struct KmipConfigureRequest {
  std::string host;
  int port = 5696;
  std::string ca_file;
  std::string client_cert_file;
  // The data itself instead of reading the files (apply's inline ca_pem: and client_p12:); the
  // *_file fields then only name it in messages.
  std::optional<Bytes> ca_data;
  std::optional<Bytes> client_cert_data;
  std::string client_key_file;    // "": the key is in client_cert_file (PEM or PKCS#12)
  PassphraseFn passphrase;        // of an encrypted client key or PKCS#12
  bool passphrase_given = false;  // from a file or the environment, not a prompt
  std::string username;           // "": no Credential
  SecretFn password;              // asked once, only with a username
  int timeout_seconds = 10;
  bool test = true;               // false: save without connecting (--no-test)
};

struct KmipTestResult {
  std::string server;                 // "host:port"
  std::string tls;                    // "TLSv1.2, AES128-SHA256"
  kmip::Version version;              // negotiated
  std::vector<kmip::Version> versions;  // the server's, of those applctl proposed
  kmip::ServerInfo info;              // Query: operations, objects, vendor
  std::optional<kmip::Version> saved_version;  // what the settings held before this test
};

struct KmipConfigureResult {
  std::string server;
  std::string client_subject;  // of the client certificate
  std::string username;
  std::optional<KmipTestResult> test;  // none with --no-test
  std::vector<std::string> warnings;
};

// Which input of a configuration an error is about (apply puts its place in the file in front).
enum class KmipInput { Host, Ca, ClientCert, ClientKey, Password };
using KmipInputErrorFn = std::function<void(KmipInput, const Error&)>;

// The inputs of a configuration, read and checked; nothing contacted, nothing saved.
struct KmipInputs {
  KmipConfig config;  // host, port, CA, client chain and key, credential, timeout; no version yet
  std::string client_subject;
  std::string client_fingerprint_sha256;
  std::vector<std::string> warnings;  // an expired client certificate, a user without a password
};

// Reads and checks every input of a request: the host, the CA parses, the client key matches its
// certificate (BadInput naming the file). `on_error`, when given, sees each error with the input
// it is about before the error propagates (and may throw another instead).
KmipInputs read_kmip_inputs(const KmipConfigureRequest& request, const KmipInputErrorFn& on_error = {});

// DiscoverVersions + Query with settings that are not saved (yet); Remote on failure.
KmipTestResult test_kmip_settings(const KmipConfig& config);
// What kmip-test.json keeps of a successful test.
KmipTestRecord kmip_test_record(const KmipTestResult& result);

// Reads and checks every input (read_kmip_inputs), then connects and runs DiscoverVersions + Query (Remote on failure,
// and nothing is saved), then saves the settings and one audit row. Creates the store as
// `init` does. On an encrypted store the new settings must also reach the key that encrypts it
// (check_store_key_with; untested settings are Refused), and the store is opened with them: so
// an appliance can move to a new KMIP server that holds the same key.
KmipConfigureResult configure_kmip(const std::filesystem::path& store_dir, const KmipConfigureRequest& request);

// The KMIP services below take the settings loaded once by the caller (require_kmip_config).

// DiscoverVersions + Query with the saved settings; records the outcome in the store's
// kmip-test.json.
KmipTestResult test_kmip(const std::filesystem::path& store_dir, const KmipConfig& config);

// Create (AES, Encrypt|Decrypt, the name if any) + Activate; the new key's unique identifier. A
// key that cannot be activated is destroyed again.
std::string create_kmip_key(const KmipConfig& config, const kmip::AesKeySpec& spec);

struct KmipKeyResult {
  kmip::KeyAttributes attributes;  // algorithm, length, state, names
  std::string format;              // key format the server returned
  std::optional<kmip::SecretBytes> key;  // only when asked for
};
// Get (the key is retrievable) + Get Attributes. NotFound when the server has no such key.
KmipKeyResult get_kmip_key(const KmipConfig& config, const std::string& uid, bool reveal);

// Locate: the unique identifiers of the symmetric keys named `name`; NotFound when there is none.
std::vector<std::string> locate_kmip_keys(const KmipConfig& config, const std::string& name);

struct KmipDestroyResult {
  bool revoked = false;  // it was active, so it was revoked first
};
// Revoke (when active) + Destroy. Refused (exit 5) for the key that encrypts the store.
KmipDestroyResult destroy_kmip_key(const KmipConfig& config, const std::string& uid);

// What `kmip status` shows: the settings without their secrets.
struct KmipStatus {
  bool configured = false;
  std::string host;
  int port = 0;
  std::string server;  // "host:port"
  std::string username;
  int timeout_seconds = 0;
  std::optional<kmip::Version> version;
  UnixTime configured_at = 0;
  std::vector<std::string> ca_subjects;
  std::string client_subject;
  std::string client_fingerprint_sha256;
  UnixTime client_not_after = 0;
  bool encrypted = false;
  std::string key_unique_identifier;  // of the key that encrypts the store
  std::optional<KmipTestRecord> last_test;
};
// `config`: the saved settings (load_kmip_config), nullopt when there are none.
KmipStatus kmip_status(const std::filesystem::path& store_dir, const std::optional<KmipConfig>& config);

}  // namespace applctl
