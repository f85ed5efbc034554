// A small KMIP client: the request and response messages of the operations applctl uses
// (DiscoverVersions, Query, Create, Activate, Get, Get Attributes, Revoke, Destroy) for KMIP 1.0
// to 1.4 and 2.0, and a Client that sends them over mutual TLS (TLS 1.2 or newer, the
// configured CA only, the server's name or IP checked) with connect and read timeouts.
//
// Message building and parsing are pure functions (unit-tested with the KMIP specification's
// test vectors); the Client adds the transport. Every failure is an Error: NotFound (exit 4)
// when the server answers Item Not Found, Remote (exit 7) for everything else (refused,
// TLS verification, timeout, another Result Reason, a malformed response).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "applctl/base/bytes.hpp"
#include "applctl/kmip/ttlv.hpp"

namespace applctl::kmip {

// Tags (KMIP 1.x / 2.0 specification, section "Tags").
namespace tag {
inline constexpr Tag kAttribute = 0x420008, kAttributeName = 0x42000A, kAttributeValue = 0x42000B,
                     kAuthentication = 0x42000C, kBatchCount = 0x42000D, kBatchItem = 0x42000F,
                     kCredential = 0x420023, kCredentialType = 0x420024, kCredentialValue = 0x420025,
                     kCryptographicAlgorithm = 0x420028, kCryptographicLength = 0x42002A,
                     kCryptographicUsageMask = 0x42002C, kKey = 0x42003F, kKeyBlock = 0x420040,
                     kKeyFormatType = 0x420042, kKeyMaterial = 0x420043, kKeyValue = 0x420045,
                     kKeyWrappingData = 0x420046, kName = 0x420053, kNameType = 0x420054, kNameValue = 0x420055,
                     kObjectType = 0x420057, kOperation = 0x42005C, kProtocolVersion = 0x420069,
                     kProtocolVersionMajor = 0x42006A, kProtocolVersionMinor = 0x42006B, kQueryFunction = 0x420074,
                     kRequestHeader = 0x420077, kRequestMessage = 0x420078, kRequestPayload = 0x420079,
                     kResponseHeader = 0x42007A, kResponseMessage = 0x42007B, kResponsePayload = 0x42007C,
                     kResultMessage = 0x42007D, kResultReason = 0x42007E, kResultStatus = 0x42007F,
                     kRevocationReason = 0x420081, kRevocationReasonCode = 0x420082, kServerInformation = 0x420088,
                     kState = 0x42008D, kSymmetricKey = 0x42008F, kTemplateAttribute = 0x420091,
                     kTimeStamp = 0x420092, kUniqueIdentifier = 0x420094, kUsername = 0x420099,
                     kVendorIdentification = 0x42009D, kPassword = 0x4200A1, kAttributes = 0x420125,
                     kAttributeReference = 0x42013B;
}  // namespace tag

enum class Operation : std::uint32_t {
  Create = 0x01, Locate = 0x08, Get = 0x0A, GetAttributes = 0x0B, Activate = 0x12, Revoke = 0x13,
  Destroy = 0x14, Query = 0x18, DiscoverVersions = 0x1E,
};
enum class ResultStatus : std::uint32_t { Success = 0, OperationFailed = 1, OperationPending = 2, OperationUndone = 3 };
inline constexpr std::uint32_t kItemNotFound = 0x01;  // Result Reason
inline constexpr std::uint32_t kOperationNotSupported = 0x05;
inline constexpr std::uint32_t kObjectTypeSymmetricKey = 0x02;
inline constexpr std::uint32_t kAlgorithmAes = 0x03;
inline constexpr std::uint32_t kStateActive = 0x02;
inline constexpr std::int32_t kUsageEncryptDecrypt = 0x04 | 0x08;

// The names the specification gives values (operation 0x0B -> "GetAttributes"); an unknown
// value prints as hex.
std::string operation_name(std::uint32_t op);
std::string object_type_name(std::uint32_t type);
std::string result_reason_name(std::uint32_t reason);
std::string algorithm_name(std::uint32_t alg);
std::string state_name(std::uint32_t state);  // "pre-active", "active", "deactivated", ...

struct Version {
  int major = 1;
  int minor = 0;
  auto operator<=>(const Version&) const = default;
  std::string str() const;                     // "1.4"
  static Version parse(std::string_view text);  // BadInput unless "M.N"
};

// What applctl proposes in DiscoverVersions, best first.
const std::vector<Version>& supported_versions();

// Credential Type 1 (Username and Password), sent in every request header when configured.
struct Credential {
  std::string username;
  std::string password;
  Credential() = default;
  Credential(std::string u, std::string p) : username(std::move(u)), password(std::move(p)) {}
  Credential(const Credential&) = default;
  Credential& operator=(const Credential&) = default;
  ~Credential();  // wipes the password
};

// ---- Messages (no I/O) ----

// A Request Message with a batch of one item.
Bytes encode_request(Version version, const Credential* credential, Operation op, Item payload);

struct Response {
  Version version;
  std::int64_t time_stamp = 0;
  std::uint32_t operation = 0;  // 0 when the server left it out (allowed on failures)
  ResultStatus status = ResultStatus::OperationFailed;
  std::uint32_t reason = 0;     // Result Reason, 0 when absent
  std::string message;          // Result Message, "" when absent
  std::optional<Item> payload;
};

// Decodes a Response Message with one batch item; Error(Remote) when it is not one.
Response decode_response(BytesView data);

// The response payload when the result is Success; otherwise NotFound (Item Not Found) or Remote,
// "KMIP server refused <what>: <reason>: <message>".
const Item& require_success(const Response& r, Operation expected, std::string_view what);

// Request payloads, and what applctl reads from the response payloads.
Item discover_versions_payload(const std::vector<Version>& versions);
std::vector<Version> parse_discover_versions(const Item& payload);

struct ServerInfo {
  std::vector<std::string> operations;
  std::vector<std::string> objects;
  std::string vendor;
};
Item query_payload();  // operations, objects, server information
ServerInfo parse_query(const Item& payload);

struct AesKeySpec {
  int bits = 256;    // AES key length: 128 or 256
  std::string name;  // Name attribute; "" for none
};
// 1.x wraps the attributes in a Template-Attribute; 2.0 puts them in Attributes.
Item create_payload(Version v, const AesKeySpec& spec);
std::string parse_unique_identifier(const Item& payload);  // Create, Activate, Revoke, Destroy

Item uid_payload(const std::string& uid);  // Get, Activate, Destroy
// Locate of symmetric keys by Name: Attribute structures (1.x) or Attributes (2.0).
Item locate_payload(Version v, const std::string& name);
std::vector<std::string> parse_locate(const Item& payload);  // the unique identifiers, in order
Item revoke_payload(const std::string& uid);  // reason: Cessation of Operation

struct KeyAttributes {
  std::string unique_identifier;
  std::string object_type;
  std::string algorithm;
  int length = 0;
  std::string state;
  std::uint32_t state_value = 0;
  std::vector<std::string> names;
};
Item get_attributes_payload(Version v, const std::string& uid);
KeyAttributes parse_get_attributes(Version v, const Item& payload);

// Key bytes, wiped when destroyed.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(Bytes b) : bytes_(std::move(b)) {}
  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&&) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();
  BytesView view() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

 private:
  Bytes bytes_;
};

struct KeyObject {
  std::string unique_identifier;
  std::string object_type;
  std::string algorithm;
  int length = 0;
  std::string format;  // "raw" or "transparent-symmetric-key"
  SecretBytes key;
};
KeyObject parse_get(const Item& payload);

// ---- The client ----

struct ClientSettings {
  std::string host;
  int port = 5696;
  std::string ca_pem;           // trust anchors for the server certificate; nothing else is trusted
  std::string client_cert_pem;  // the client certificate first, then its chain
  std::string client_key_pem;   // unencrypted PKCS#8
  std::optional<Credential> credential;
  std::chrono::milliseconds timeout{10'000};  // connect + handshake, then each request + response
  std::optional<Version> version;             // none: negotiate with DiscoverVersions first
};

class Connection;

class Client {
 public:
  // Connects and shakes hands; Error(Remote) naming the server when it cannot.
  explicit Client(ClientSettings settings);
  Client(Client&&) noexcept;
  ~Client();

  // DiscoverVersions: what the server supports (best first), and the best version both support,
  // which later requests use. Falls back to 1.0 for a server that does not know the operation.
  std::vector<Version> negotiate();
  Version version() const;
  const std::string& server() const;  // "host:port"
  std::string tls() const;            // "TLSv1.2, AES128-SHA256"

  ServerInfo query();
  std::string create_aes_key(const AesKeySpec& spec);
  void activate(const std::string& uid);
  KeyObject get(const std::string& uid);
  std::vector<std::string> locate(const std::string& name);  // symmetric keys with that Name
  KeyAttributes get_attributes(const std::string& uid);
  void revoke(const std::string& uid);
  void destroy(const std::string& uid);

  // One round trip: the payload of a successful response (see require_success).
  Item call(Operation op, Item payload, std::string_view what);

 private:
  Response exchange(Operation op, Item payload);
  ClientSettings settings_;
  std::string server_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace applctl::kmip
