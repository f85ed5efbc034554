// The request payloads applctl sends and what it reads from the response payloads, for KMIP 1.x
// (attributes by name in Template-Attribute / Attribute structures) and 2.0 (attributes by tag
// in an Attributes structure).
#include <fmt/format.h>
#include <openssl/crypto.h>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"

namespace applctl::kmip {

namespace {

constexpr Version kV2{2, 0};
constexpr std::uint32_t kNameTypeText = 1;              // Uninterpreted Text String
constexpr std::uint32_t kCessationOfOperation = 6;      // Revocation Reason Code
constexpr std::uint32_t kFormatRaw = 1;
constexpr std::uint32_t kFormatTransparentSymmetric = 7;

// The attributes applctl reads, by tag (2.0) and by name (1.x).
struct AttributeId {
  Tag tag;
  const char* name;
};
constexpr AttributeId kReadAttributes[] = {
    {tag::kObjectType, "Object Type"},
    {tag::kCryptographicAlgorithm, "Cryptographic Algorithm"},
    {tag::kCryptographicLength, "Cryptographic Length"},
    {tag::kState, "State"},
    {tag::kName, "Name"},
};

[[noreturn]] void unexpected(std::string_view what) {
  fail(ErrorKind::Remote, fmt::format("unexpected KMIP response: {}", what));
}

Item name_value(Tag tag, const std::string& name) {
  return Item::structure(tag, {Item::text(tag::kNameValue, name), Item::enumeration(tag::kNameType, kNameTypeText)});
}

// A 1.x Attribute: name and value.
Item attribute(const char* name, Item value) {
  return Item::structure(tag::kAttribute, {Item::text(tag::kAttributeName, name), std::move(value)});
}

// Sets one attribute's value into `out`, by the attribute's tag.
void read_attribute(Tag tag, const Item& value, KeyAttributes& out) {
  switch (tag) {
    case tag::kObjectType: out.object_type = object_type_name(value.as_enumeration()); break;
    case tag::kCryptographicAlgorithm: out.algorithm = algorithm_name(value.as_enumeration()); break;
    case tag::kCryptographicLength: out.length = value.as_integer(); break;
    case tag::kState:
      out.state_value = value.as_enumeration();
      out.state = state_name(out.state_value);
      break;
    case tag::kName: out.names.push_back(value.at(tag::kNameValue).as_text()); break;
    default: break;  // other attributes are not shown
  }
}

Tag tag_of_name(const std::string& name) {
  for (const auto& a : kReadAttributes)
    if (name == a.name) return a.tag;
  return 0;
}

}  // namespace

Item discover_versions_payload(const std::vector<Version>& versions) {
  Item p = Item::structure(tag::kRequestPayload);
  for (const auto& v : versions)
    p.add(Item::structure(tag::kProtocolVersion, {Item::integer(tag::kProtocolVersionMajor, v.major),
                                                  Item::integer(tag::kProtocolVersionMinor, v.minor)}));
  return p;
}

std::vector<Version> parse_discover_versions(const Item& payload) {
  std::vector<Version> out;
  for (const Item* v : payload.all(tag::kProtocolVersion))
    out.push_back({v->at(tag::kProtocolVersionMajor).as_integer(), v->at(tag::kProtocolVersionMinor).as_integer()});
  return out;
}

Item query_payload() {
  return Item::structure(tag::kRequestPayload, {Item::enumeration(tag::kQueryFunction, 1),    // Operations
                                                Item::enumeration(tag::kQueryFunction, 2),    // Objects
                                                Item::enumeration(tag::kQueryFunction, 3)});  // Server Information
}

ServerInfo parse_query(const Item& payload) {
  ServerInfo info;
  for (const Item* op : payload.all(tag::kOperation)) info.operations.push_back(operation_name(op->as_enumeration()));
  for (const Item* t : payload.all(tag::kObjectType)) info.objects.push_back(object_type_name(t->as_enumeration()));
  if (const Item* v = payload.find(tag::kVendorIdentification)) info.vendor = v->as_text();
  return info;
}

Item create_payload(Version v, const AesKeySpec& spec) {
  Item p = Item::structure(tag::kRequestPayload, {Item::enumeration(tag::kObjectType, kObjectTypeSymmetricKey)});
  if (v >= kV2) {
    Item attrs = Item::structure(tag::kAttributes, {Item::enumeration(tag::kCryptographicAlgorithm, kAlgorithmAes),
                                                    Item::integer(tag::kCryptographicLength, spec.bits),
                                                    Item::integer(tag::kCryptographicUsageMask, kUsageEncryptDecrypt)});
    if (!spec.name.empty()) attrs.add(name_value(tag::kName, spec.name));
    return p.add(std::move(attrs));
  }
  Item tmpl = Item::structure(
      tag::kTemplateAttribute,
      {attribute("Cryptographic Algorithm", Item::enumeration(tag::kAttributeValue, kAlgorithmAes)),
       attribute("Cryptographic Length", Item::integer(tag::kAttributeValue, spec.bits)),
       attribute("Cryptographic Usage Mask", Item::integer(tag::kAttributeValue, kUsageEncryptDecrypt))});
  if (!spec.name.empty()) tmpl.add(attribute("Name", name_value(tag::kAttributeValue, spec.name)));
  return p.add(std::move(tmpl));
}

std::string parse_unique_identifier(const Item& payload) { return payload.at(tag::kUniqueIdentifier).as_text(); }

Item uid_payload(const std::string& uid) {
  return Item::structure(tag::kRequestPayload, {Item::text(tag::kUniqueIdentifier, uid)});
}

Item locate_payload(Version v, const std::string& name) {
  Item p = Item::structure(tag::kRequestPayload);
  if (v >= kV2)
    return p.add(Item::structure(tag::kAttributes, {Item::enumeration(tag::kObjectType, kObjectTypeSymmetricKey),
                                                    name_value(tag::kName, name)}));
  return p.add(attribute("Object Type", Item::enumeration(tag::kAttributeValue, kObjectTypeSymmetricKey)))
      .add(attribute("Name", name_value(tag::kAttributeValue, name)));
}

std::vector<std::string> parse_locate(const Item& payload) {
  std::vector<std::string> out;
  for (const Item* uid : payload.all(tag::kUniqueIdentifier)) out.push_back(uid->as_text());
  return out;
}

Item revoke_payload(const std::string& uid) {
  return Item::structure(
      tag::kRequestPayload,
      {Item::text(tag::kUniqueIdentifier, uid),
       Item::structure(tag::kRevocationReason, {Item::enumeration(tag::kRevocationReasonCode, kCessationOfOperation)})});
}

Item get_attributes_payload(Version v, const std::string& uid) {
  Item p = uid_payload(uid);
  for (const auto& a : kReadAttributes)
    p.add(v >= kV2 ? Item::enumeration(tag::kAttributeReference, a.tag) : Item::text(tag::kAttributeName, a.name));
  return p;
}

KeyAttributes parse_get_attributes(Version v, const Item& payload) {
  KeyAttributes out;
  out.unique_identifier = parse_unique_identifier(payload);
  if (v >= kV2) {
    if (const Item* attrs = payload.find(tag::kAttributes))
      for (const auto& a : attrs->children()) read_attribute(a.tag(), a, out);
    return out;
  }
  for (const Item* a : payload.all(tag::kAttribute)) {
    Tag t = tag_of_name(a->at(tag::kAttributeName).as_text());
    if (t != 0) read_attribute(t, a->at(tag::kAttributeValue), out);
  }
  return out;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_ = std::move(o.bytes_);
  }
  return *this;
}

SecretBytes::~SecretBytes() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

KeyObject parse_get(const Item& payload) {
  KeyObject k;
  k.unique_identifier = parse_unique_identifier(payload);
  const std::uint32_t type = payload.at(tag::kObjectType).as_enumeration();
  k.object_type = object_type_name(type);
  if (type != kObjectTypeSymmetricKey) return k;  // metadata only
  const Item& block = payload.at(tag::kSymmetricKey).at(tag::kKeyBlock);
  if (block.find(tag::kKeyWrappingData) != nullptr)
    unexpected(fmt::format("key {} came back wrapped, which applctl does not unwrap", k.unique_identifier));
  if (const Item* alg = block.find(tag::kCryptographicAlgorithm)) k.algorithm = algorithm_name(alg->as_enumeration());
  if (const Item* len = block.find(tag::kCryptographicLength)) k.length = len->as_integer();
  const std::uint32_t format = block.at(tag::kKeyFormatType).as_enumeration();
  const Item& material = block.at(tag::kKeyValue).at(tag::kKeyMaterial);
  if (format == kFormatRaw) {
    k.format = "raw";
    k.key = SecretBytes(material.as_bytes());
  } else if (format == kFormatTransparentSymmetric) {
    k.format = "transparent-symmetric-key";
    k.key = SecretBytes(material.at(tag::kKey).as_bytes());
  } else {
    unexpected(fmt::format("key {} came back in key format 0x{:X}, not Raw or Transparent Symmetric Key",
                           k.unique_identifier, format));
  }
  if (k.length != 0 && static_cast<std::size_t>(k.length) != k.key.size() * 8)
    unexpected(fmt::format("key {} has {} bytes of key material for a length of {} bits", k.unique_identifier,
                           k.key.size(), k.length));
  return k;
}

}  // namespace applctl::kmip
