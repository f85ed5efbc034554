// KMIP request and response messages: header, batch of one, result status; and the names of the
// enumeration values that applctl prints.
#include <charconv>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"

namespace applctl::kmip {

namespace {

template <std::size_t N>
std::string name_of(std::uint32_t v, const char* const (&names)[N]) {
  if (v < N && names[v] != nullptr) return names[v];
  return fmt::format("0x{:08X}", v);
}

Item version_item(Version v) {
  return Item::structure(tag::kProtocolVersion, {Item::integer(tag::kProtocolVersionMajor, v.major),
                                                 Item::integer(tag::kProtocolVersionMinor, v.minor)});
}

Version parse_version_item(const Item& item) {
  return {item.at(tag::kProtocolVersionMajor).as_integer(), item.at(tag::kProtocolVersionMinor).as_integer()};
}

// Credential Type 1, Username and Password; the password is optional (KMIP 1.2+).
Item credential_item(const Credential& c) {
  Item value = Item::structure(tag::kCredentialValue, {Item::text(tag::kUsername, c.username)});
  if (!c.password.empty()) value.add(Item::text(tag::kPassword, c.password));
  return Item::structure(tag::kCredential, {Item::enumeration(tag::kCredentialType, 1), std::move(value)});
}

[[noreturn]] void unexpected(std::string_view what) {
  fail(ErrorKind::Remote, fmt::format("unexpected KMIP response: {}", what),
       "is the peer a KMIP server? see its log for the request it received");
}

}  // namespace

std::string operation_name(std::uint32_t op) {
  static const char* const names[] = {
      nullptr, "Create", "CreateKeyPair", "Register", "Rekey", "DeriveKey", "Certify", "Recertify", "Locate",
      "Check", "Get", "GetAttributes", "GetAttributeList", "AddAttribute", "ModifyAttribute", "DeleteAttribute",
      "ObtainLease", "GetUsageAllocation", "Activate", "Revoke", "Destroy", "Archive", "Recover", "Validate",
      "Query", "Cancel", "Poll", "Notify", "Put", "RekeyKeyPair", "DiscoverVersions", "Encrypt", "Decrypt",
      "Sign", "SignatureVerify", "MAC", "MACVerify", "RNGRetrieve", "RNGSeed", "Hash", "CreateSplitKey",
      "JoinSplitKey", "Import", "Export", "Log", "Login", "Logout", "DelegatedLogin", "AdjustAttribute",
      "SetAttribute", "SetEndpointRole", "PKCS11", "Interop", "ReProvision"};
  return name_of(op, names);
}

std::string object_type_name(std::uint32_t type) {
  static const char* const names[] = {nullptr, "Certificate", "SymmetricKey", "PublicKey", "PrivateKey",
                                      "SplitKey", "Template", "SecretData", "OpaqueObject", "PGPKey",
                                      "CertificateRequest"};
  return name_of(type, names);
}

std::string result_reason_name(std::uint32_t reason) {
  static const char* const names[] = {
      nullptr, "Item Not Found", "Response Too Large", "Authentication Not Successful", "Invalid Message",
      "Operation Not Supported", "Missing Data", "Invalid Field", "Feature Not Supported",
      "Operation Canceled By Requester", "Cryptographic Failure", "Illegal Operation", "Permission Denied",
      "Object Archived", "Index Out of Bounds", "Application Namespace Not Supported",
      "Key Format Type Not Supported", "Key Compression Type Not Supported", "Encoding Option Error",
      "Key Value Not Present", "Attestation Required", "Attestation Failed", "Sensitive", "Not Extractable",
      "Object Already Exists"};
  if (reason == 0x100) return "General Failure";
  return name_of(reason, names);
}

std::string algorithm_name(std::uint32_t alg) {
  static const char* const names[] = {nullptr, "DES", "3DES", "AES", "RSA", "DSA", "ECDSA", "HMAC-SHA1",
                                      "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512", "HMAC-MD5",
                                      "DH", "ECDH", "ECMQV", "Blowfish", "Camellia", "CAST5", "IDEA", "MARS",
                                      "RC2", "RC4", "RC5", "SKIPJACK", "Twofish", "EC"};
  return name_of(alg, names);
}

std::string state_name(std::uint32_t state) {
  static const char* const names[] = {nullptr, "pre-active", "active", "deactivated", "compromised", "destroyed",
                                      "destroyed-compromised"};
  return name_of(state, names);
}

std::string Version::str() const { return fmt::format("{}.{}", major, minor); }

Version Version::parse(std::string_view text) {
  Version v;
  auto dot = text.find('.');
  const char* end = text.data() + text.size();
  auto bad = [&]() -> Version {
    fail(ErrorKind::BadInput, fmt::format("invalid KMIP version '{}'", text), "write it as MAJOR.MINOR, e.g. 1.4");
  };
  if (dot == std::string_view::npos) return bad();
  auto [m1, e1] = std::from_chars(text.data(), text.data() + dot, v.major);
  auto [m2, e2] = std::from_chars(text.data() + dot + 1, end, v.minor);
  if (e1 != std::errc() || e2 != std::errc() || m1 != text.data() + dot || m2 != end || v.major < 0 || v.minor < 0)
    return bad();
  return v;
}

const std::vector<Version>& supported_versions() {
  static const std::vector<Version> v = {{2, 0}, {1, 4}, {1, 3}, {1, 2}, {1, 1}, {1, 0}};
  return v;
}

Credential::~Credential() { OPENSSL_cleanse(password.data(), password.size()); }

Bytes encode_request(Version version, const Credential* credential, Operation op, Item payload) {
  Item header = Item::structure(tag::kRequestHeader, {version_item(version)});
  if (credential != nullptr) header.add(Item::structure(tag::kAuthentication, {credential_item(*credential)}));
  header.add(Item::integer(tag::kBatchCount, 1));
  Item batch = Item::structure(tag::kBatchItem, {Item::enumeration(tag::kOperation, static_cast<std::uint32_t>(op))});
  batch.add(std::move(payload));
  return encode(Item::structure(tag::kRequestMessage, {std::move(header), std::move(batch)}));
}

Response decode_response(BytesView data) {
  Item message = decode(data);
  if (message.tag() != tag::kResponseMessage || message.type() != Type::Structure)
    unexpected(fmt::format("the message is item 0x{:06X}, not a Response Message", message.tag()));
  const Item& header = message.at(tag::kResponseHeader);
  Response r;
  r.version = parse_version_item(header.at(tag::kProtocolVersion));
  if (const Item* ts = header.find(tag::kTimeStamp)) r.time_stamp = ts->as_date_time();
  const auto items = message.all(tag::kBatchItem);
  if (header.at(tag::kBatchCount).as_integer() != 1 || items.size() != 1)
    unexpected(fmt::format("{} batch items for a request of one", items.size()));
  const Item& item = *items.front();
  if (const Item* op = item.find(tag::kOperation)) r.operation = op->as_enumeration();
  r.status = static_cast<ResultStatus>(item.at(tag::kResultStatus).as_enumeration());
  if (const Item* reason = item.find(tag::kResultReason)) r.reason = reason->as_enumeration();
  if (const Item* text = item.find(tag::kResultMessage)) r.message = text->as_text();
  if (const Item* payload = item.find(tag::kResponsePayload)) r.payload = *payload;
  return r;
}

const Item& require_success(const Response& r, Operation expected, std::string_view what) {
  if (r.status == ResultStatus::Success) {
    if (r.operation != 0 && r.operation != static_cast<std::uint32_t>(expected))
      unexpected(fmt::format("the answer to {} is for {}", operation_name(static_cast<std::uint32_t>(expected)),
                             operation_name(r.operation)));
    if (!r.payload) unexpected(fmt::format("{} succeeded without a response payload", what));
    return *r.payload;
  }
  std::string detail = r.reason != 0 ? result_reason_name(r.reason) : "no reason given";
  if (!r.message.empty()) detail += ": " + printable(r.message);
  if (r.status == ResultStatus::OperationPending)
    fail(ErrorKind::Remote, fmt::format("KMIP server answered {} asynchronously, which applctl does not support", what));
  if (r.reason == kItemNotFound) fail(ErrorKind::NotFound, fmt::format("KMIP server: {}: {}", what, detail));
  fail(ErrorKind::Remote, fmt::format("KMIP server refused {}: {}", what, detail));
}

}  // namespace applctl::kmip
