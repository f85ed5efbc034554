// KMIP messages against the OASIS documents' own encodings: "KMIP Test Cases Version 1.1"
// 16.1 (Discover Versions) and 12.1 (Query, Maximum Response Size), "KMIP Use Cases 1.0" 3.1.2
// (Create / Get Attributes / Destroy), transcribed as hex. What applctl builds itself (the
// Credential, 2.0 attributes) is checked against encodings written out by hand from the
// specification's rules.
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"

#include "from_hex.hpp"

namespace {

using applctl::Bytes;
using applctl::Error;
using applctl::ErrorKind;
using namespace applctl::kmip;

using unit_hex::from_hex;

// Test Cases 1.1, 16.1, time 0: Discover Versions with no versions; and its response (1.1, 1.0).
const char* kDiscoverNone =
    "42007801000000604200770100000038420069010000002042006A0200000004000000010000000042006B0200000004"
    "0000000100000000 42000D0200000004000000010000000042000F010000001842005C05000000040000001E00000000"
    "4200790100000000";
const char* kDiscoverNoneResponse =
    "42007B01000000D042007A0100000048420069010000002042006A0200000004000000010000000042006B0200000004"
    "000000010000000042009209000000080000000 04ED73ED742000D0200000004000000010000000042000F0100000078"
    "42005C05000000040000001E0000000042007F0500000004000000000000000042007C01000000504200690100000020"
    "42006A0200000004000000010000000042006B020000000400000001000000004200690100000020 42006A02000000040000"
    "00010000000042006B02000000040000000000000000";
// Time 1: Discover Versions proposing 1.0.
const char* kDiscover10 =
    "42007801000000884200770100000038420069010000002042006A0200000004000000010000000042006B0200000004"
    "000000010000000042000D0200000004000000010000000042000F010000004042005C05000000040000001E00000000"
    "420079010000002842006901000000 2042006A0200000004000000010000000042006B02000000040000000000000000";
// Time 3: proposing 9.31, which the server does not have: an empty answer.
const char* kDiscoverNoneInCommonResponse =
    "42007B010000008042007A0100000048420069010000002042006A0200000004000000010000000042006B0200000004"
    "000000010000000042009209000000080000000 04ED73ED742000D0200000004000000010000000042000F0100000028"
    "42005C05000000040000001E0000000042007F0500000004000000000000000042007C0100000000";

// Test Cases 1.1, 12.1: Query (operations, objects, server information) with a Maximum Response
// Size; the response that was too large; the successful response of an IBM test server.
const char* kQueryRequest =
    "42007801000000A04200770100000048420069010000002042006A0200000004000000010000000042006B0200000004"
    "00000001000000004200500200000004000008000000000042000D0200000004000000010000000042000F0100000048"
    "42005C050000000400000018000000004200790100000030420074050000000400000001000000004200740500000004"
    "000000020000000042007405000000040000000300000000";
const char* kQueryTooLarge =
    "42007B01000000C842007A0100000048420069010000002042006A0200000004000000010000000042006B0200000004"
    "00000001000000004200920900000008000000004F9A556B42000D0200000004000000010000000042000F0100000070"
    "42007F0500000004000000010000000042007E0500000004000000020000000042007D0700000043526573706F6E7365"
    "2073697A653A203634382C204D6178696D756D20526573706F6E73652053697A6520696E6469636174656420696E2072"
    "6571756573743A203235360000000000";
const char* kQueryResponse =
    "42007B01000002C042007A0100000048420069010000002042006A0200000004000000010000000042006B0200000004"
    "00000001000000004200920900000008000000004F9A556B42000D0200000004000000010000000042000F0100000268"
    "42005C0500000004000000180000000042007F0500000004000000000000000042007C010000024042005C0500000004"
    "000000010000000042005C0500000004000000020000000042005C0500000004000000030000000042005C0500000004"
    "000000040000000042005C0500000004000000060000000042005C0500000004000000070000000042005C0500000004"
    "000000080000000042005C0500000004000000090000000042005C05000000040000000A0000000042005C0500000004"
    "0000000B0000000042005C05000000040000000C0000000042005C05000000040000000D0000000042005C0500000004"
    "0000000E0000000042005C05000000040000000F0000000042005C0500000004000000100000000042005C0500000004"
    "000000110000000042005C0500000004000000120000000042005C0500000004000000130000000042005C0500000004"
    "000000140000000042005C0500000004000000150000000042005C0500000004000000160000000042005C0500000004"
    "000000180000000042005C0500000004000000190000000042005C05000000040000001A0000000042005C0500000004"
    "0000001D0000000042005C05000000040000001E000000004200570500000004000000010000000042005705000000040"
    "00000020000000042005705000000040000000300000000420057050000000400000004000000004200570500000004"
    "00000006000000004200570500000004000000070000000042009D070000002E49424D2074657374207365727665722C"
    "206E6F742D544B4C4D20322E302E312E31204B4D495020322E302E302E3100004200880100000000";

// Use Cases 1.0, 3.1.2: Create with a template name, attributes and a Name; the answer; Destroy.
const char* kCreateRequest =
    "42007801000001904200770100000038420069010000002042006A0200000004000000010000000042006B0200000004"
    "000000010000000042000D0200000004000000010000000042000F010000014842005C05000000040000000100000000"
    "4200790100000130420057050000000400000002000000004200910100000118420053010000002842005507000000095465"
    "6D706C617465310000000000000042005405000000040000000100000000420008010000003042000A070000001743"
    "727970746F6772617068696320416C676F726974686D0042000B050000000400000003000000004200080100000030"
    "42000A070000001443727970746F67726170686963204C656E6774680000000042000B0200000004000000800000000042"
    "0008010000003042000A070000001843727970746F67726170686963205573616765204D61736B42000B0200000004"
    "0000000C00000000420008010000003842000A07000000044E616D650000000042000B010000002042005507000000044B"
    "6579310000000042005405000000040000000100000000";
const char* kCreateResponse =
    "42007B01000000C042007A0100000048420069010000002042006A0200000004000000010000000042006B0200000004"
    "00000000000000004200920900000008000000004AFBE7C542000D0200000004000000010000000042000F0100000068"
    "42005C0500000004000000010000000042007F0500000004000000000000000042007C010000004042005705000000040"
    "0000002000000004200940700000024363162313036313 42D643862352D343666392D386431372D32666136656131643734"
    "376100000000";
const char* kDestroyRequest =
    "42007801000000904200770100000038420069010000002042006A0200000004000000010000000042006B0200000004"
    "000000000000000042000D0200000004000000010000000042000F010000004842005C05000000040000001400000000"
    "4200790100000030420094070000002436316231303631342D643862352D343666392D386431372D32666136656131643734"
    "376100000000";
const char* kKeyId = "61b10614-d8b5-46f9-8d17-2fa6ea1d747a";

std::string error_of_kind(const std::function<void()>& f, ErrorKind expect) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.kind() == expect);
    return e.what();
  }
  FAIL("no error");
  return {};
}

bool mentions(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("KMIP: Discover Versions requests and responses of Test Case 16.1", "[kmip][messages]") {
  CHECK(encode_request({1, 1}, nullptr, Operation::DiscoverVersions, discover_versions_payload({})) ==
        from_hex(kDiscoverNone));
  CHECK(encode_request({1, 1}, nullptr, Operation::DiscoverVersions, discover_versions_payload({{1, 0}})) ==
        from_hex(kDiscover10));

  Response r = decode_response(from_hex(kDiscoverNoneResponse));
  CHECK(r.version == Version{1, 1});
  CHECK(r.time_stamp == 0x4ED73ED7);
  CHECK(r.status == ResultStatus::Success);
  CHECK(r.operation == static_cast<std::uint32_t>(Operation::DiscoverVersions));
  auto versions = parse_discover_versions(require_success(r, Operation::DiscoverVersions, "DiscoverVersions"));
  CHECK(versions == std::vector<Version>{{1, 1}, {1, 0}});

  Response none = decode_response(from_hex(kDiscoverNoneInCommonResponse));
  CHECK(parse_discover_versions(require_success(none, Operation::DiscoverVersions, "DiscoverVersions")).empty());
}

TEST_CASE("KMIP: Query of Test Case 12.1: the request, a failure and the answer", "[kmip][messages]") {
  // applctl sends no Maximum Response Size; its payload is the test case's.
  Item request = decode(from_hex(kQueryRequest));
  CHECK(encode(request) == from_hex(kQueryRequest));
  CHECK(request.at(tag::kBatchItem).at(tag::kRequestPayload) == query_payload());

  Response failed = decode_response(from_hex(kQueryTooLarge));
  CHECK(failed.status == ResultStatus::OperationFailed);
  CHECK(failed.reason == 2);
  CHECK(failed.operation == 0);  // the server left it out
  std::string e = error_of_kind([&] { require_success(failed, Operation::Query, "Query"); }, ErrorKind::Remote);
  CHECK(e == "KMIP server refused Query: Response Too Large: Response size: 648, Maximum Response Size indicated in "
             "request: 256");

  ServerInfo info = parse_query(require_success(decode_response(from_hex(kQueryResponse)), Operation::Query, "Query"));
  REQUIRE(info.operations.size() == 26);
  CHECK(info.operations.front() == "Create");
  CHECK(info.operations[9] == "GetAttributes");
  CHECK(info.operations.back() == "DiscoverVersions");
  CHECK(info.objects == std::vector<std::string>{"Certificate", "SymmetricKey", "PublicKey", "PrivateKey", "Template",
                                                 "SecretData"});
  CHECK(info.vendor == "IBM test server, not-TKLM 2.0.1.1 KMIP 2.0.0.1");
}

TEST_CASE("KMIP: Create (1.x), its answer and Destroy of Use Case 3.1.2", "[kmip][messages]") {
  Item request = decode(from_hex(kCreateRequest));
  CHECK(encode(request) == from_hex(kCreateRequest));
  // The use case's template also names a template ("Template1"), which applctl never does;
  // without it the payload is exactly what applctl builds for an AES-128 key named Key1.
  Item payload = request.at(tag::kBatchItem).at(tag::kRequestPayload);
  std::vector<Item> attrs;
  for (const auto& a : payload.at(tag::kTemplateAttribute).children())
    if (a.tag() != tag::kName) attrs.push_back(a);
  Item without_template_name = Item::structure(
      tag::kRequestPayload, {payload.at(tag::kObjectType), Item::structure(tag::kTemplateAttribute, attrs)});
  CHECK(create_payload({1, 1}, {128, "Key1"}) == without_template_name);

  Response created = decode_response(from_hex(kCreateResponse));
  CHECK(created.version == Version{1, 0});
  CHECK(parse_unique_identifier(require_success(created, Operation::Create, "Create")) == kKeyId);

  CHECK(encode_request({1, 0}, nullptr, Operation::Destroy, uid_payload(kKeyId)) == from_hex(kDestroyRequest));
}

TEST_CASE("KMIP: the Credential travels in the request header, as the specification lays it out", "[kmip][messages]") {
  Credential cred("alice", "s3cret");
  Bytes wire = encode_request({1, 4}, &cred, Operation::Query, query_payload());
  // Authentication > Credential > {Credential Type 1 (Username and Password), Credential Value >
  // {Username "alice", Password "s3cret"}}, between the Protocol Version and the Batch Count.
  const Bytes auth = from_hex(
      "42000C | 01 | 00000040 |"
      "  420023 | 01 | 00000038 |"
      "    420024 | 05 | 00000004 | 00000001 00000000 |"
      "    420025 | 01 | 00000020 |"
      "      420099 | 07 | 00000005 | 616C696365 000000 |"
      "      4200A1 | 07 | 00000006 | 733363726574 0000");
  const Bytes version = from_hex("420069 | 01 | 00000020 | 42006A 02 00000004 00000001 00000000 |"
                                 " 42006B 02 00000004 00000004 00000000");
  const Bytes count = from_hex("42000D | 02 | 00000004 | 00000001 00000000");
  Bytes header = from_hex("420077 | 01 | 00000080");
  header.insert(header.end(), version.begin(), version.end());
  header.insert(header.end(), auth.begin(), auth.end());
  header.insert(header.end(), count.begin(), count.end());
  REQUIRE(wire.size() > 8 + header.size());
  CHECK(Bytes(wire.begin() + 8, wire.begin() + 8 + static_cast<long>(header.size())) == header);

  // A user name alone: no Password item.
  Credential user_only("alice", "");
  Item decoded = decode(encode_request({1, 4}, &user_only, Operation::Query, query_payload()));
  const Item& value = decoded.at(tag::kRequestHeader).at(tag::kAuthentication).at(tag::kCredential).at(tag::kCredentialValue);
  CHECK(value.at(tag::kUsername).as_text() == "alice");
  CHECK(value.find(tag::kPassword) == nullptr);
  // No credential: no Authentication.
  Item plain = decode(encode_request({1, 4}, nullptr, Operation::Query, query_payload()));
  CHECK(plain.at(tag::kRequestHeader).find(tag::kAuthentication) == nullptr);
}

TEST_CASE("KMIP: 2.0 payloads carry attributes by tag", "[kmip][messages]") {
  const Bytes create20 = from_hex(
      "420079 | 01 | 00000070 |"
      "  420057 | 05 | 00000004 | 00000002 00000000 |"                 // Object Type: Symmetric Key
      "  420125 | 01 | 00000058 |"                                     // Attributes
      "    420028 | 05 | 00000004 | 00000003 00000000 |"               // Cryptographic Algorithm: AES
      "    42002A | 02 | 00000004 | 00000100 00000000 |"               // Cryptographic Length: 256
      "    42002C | 02 | 00000004 | 0000000C 00000000 |"               // Usage Mask: Encrypt | Decrypt
      "    420053 | 01 | 00000020 |"                                   // Name
      "      420055 | 07 | 00000004 | 64617461 00000000 |"             //   "data"
      "      420054 | 05 | 00000004 | 00000001 00000000");             //   Uninterpreted Text String
  CHECK(encode(create_payload({2, 0}, {256, "data"})) == create20);
  // Without a name, no Name attribute.
  CHECK(create_payload({2, 0}, {128, ""}).at(tag::kAttributes).find(tag::kName) == nullptr);
  CHECK(create_payload({1, 4}, {128, ""}).at(tag::kTemplateAttribute).children().size() == 3);

  Item get20 = get_attributes_payload({2, 0}, "7");
  auto refs = get20.all(tag::kAttributeReference);
  REQUIRE(refs.size() == 5);
  CHECK(refs[0]->as_enumeration() == tag::kObjectType);
  CHECK(refs[3]->as_enumeration() == tag::kState);
  CHECK(get_attributes_payload({1, 2}, "7").all(tag::kAttributeName).size() == 5);

  Item answer = Item::structure(
      tag::kResponsePayload,
      {Item::text(tag::kUniqueIdentifier, "7"),
       Item::structure(tag::kAttributes,
                       {Item::enumeration(tag::kObjectType, 2), Item::enumeration(tag::kCryptographicAlgorithm, 3),
                        Item::integer(tag::kCryptographicLength, 128), Item::enumeration(tag::kState, 2),
                        Item::structure(tag::kName, {Item::text(tag::kNameValue, "data"), Item::enumeration(tag::kNameType, 1)}),
                        Item::integer(0x420101, 5)})});  // an attribute applctl does not show
  KeyAttributes a = parse_get_attributes({2, 0}, answer);
  CHECK(a.unique_identifier == "7");
  CHECK(a.object_type == "SymmetricKey");
  CHECK(a.algorithm == "AES");
  CHECK(a.length == 128);
  CHECK(a.state == "active");
  CHECK(a.names == std::vector<std::string>{"data"});
}

TEST_CASE("KMIP: Locate by Name, as 1.x Attribute structures and as 2.0 Attributes", "[kmip][messages]") {
  const Bytes locate1x = from_hex(
      "420079 | 01 | 00000070 |"
      "  420008 | 01 | 00000028 |"                                   // Attribute
      "    42000A | 07 | 0000000B | 4F626A6563742054 79706500000000 00 |"  //   "Object Type"
      "    42000B | 05 | 00000004 | 00000002 00000000 |"             //   Symmetric Key
      "  420008 | 01 | 00000038 |"                                   // Attribute
      "    42000A | 07 | 00000004 | 4E616D65 00000000 |"             //   "Name"
      "    42000B | 01 | 00000020 |"                                 //   its value, a Name structure
      "      420055 | 07 | 00000004 | 64617461 00000000 |"           //     "data"
      "      420054 | 05 | 00000004 | 00000001 00000000");           //     Uninterpreted Text String
  CHECK(encode(locate_payload({1, 2}, "data")) == locate1x);
  const Bytes locate20 = from_hex(
      "420079 | 01 | 00000040 |"
      "  420125 | 01 | 00000038 |"                                   // Attributes
      "    420057 | 05 | 00000004 | 00000002 00000000 |"             //   Object Type: Symmetric Key
      "    420053 | 01 | 00000020 |"                                 //   Name
      "      420055 | 07 | 00000004 | 64617461 00000000 |"
      "      420054 | 05 | 00000004 | 00000001 00000000");
  CHECK(encode(locate_payload({2, 0}, "data")) == locate20);

  Item found = Item::structure(tag::kResponsePayload, {Item::integer(0x4200D5, 2), Item::text(tag::kUniqueIdentifier, "3"),
                                                        Item::text(tag::kUniqueIdentifier, "9")});
  CHECK(parse_locate(found) == std::vector<std::string>{"3", "9"});
  CHECK(parse_locate(Item::structure(tag::kResponsePayload)).empty());
}

TEST_CASE("KMIP: 1.x Get Attributes answers are read by attribute name", "[kmip][messages]") {
  auto attr = [](const char* name, Item value) {
    return Item::structure(tag::kAttribute, {Item::text(tag::kAttributeName, name), std::move(value)});
  };
  Item answer = Item::structure(
      tag::kResponsePayload,
      {Item::text(tag::kUniqueIdentifier, "3"), attr("State", Item::enumeration(tag::kAttributeValue, 1)),
       attr("Cryptographic Length", Item::integer(tag::kAttributeValue, 256)),
       attr("Name", Item::structure(tag::kAttributeValue, {Item::text(tag::kNameValue, "a"), Item::enumeration(tag::kNameType, 1)})),
       attr("Name", Item::structure(tag::kAttributeValue, {Item::text(tag::kNameValue, "b"), Item::enumeration(tag::kNameType, 1)})),
       attr("x-Purpose", Item::text(tag::kAttributeValue, "demonstration"))});
  KeyAttributes a = parse_get_attributes({1, 2}, answer);
  CHECK(a.state == "pre-active");
  CHECK(a.length == 256);
  CHECK(a.names == std::vector<std::string>{"a", "b"});
  CHECK(a.algorithm.empty());
}

TEST_CASE("KMIP: Get answers give the key bytes, Raw or Transparent Symmetric Key", "[kmip][messages]") {
  const Bytes key(16, 0x5A);
  auto answer = [&](std::uint32_t format, Item material, int bits, bool wrapped = false) {
    Item block = Item::structure(tag::kKeyBlock, {Item::enumeration(tag::kKeyFormatType, format),
                                                  Item::structure(tag::kKeyValue, {std::move(material)}),
                                                  Item::enumeration(tag::kCryptographicAlgorithm, 3),
                                                  Item::integer(tag::kCryptographicLength, bits)});
    if (wrapped) block.add(Item::structure(tag::kKeyWrappingData));
    return Item::structure(tag::kResponsePayload, {Item::enumeration(tag::kObjectType, 2), Item::text(tag::kUniqueIdentifier, "9"),
                                                   Item::structure(tag::kSymmetricKey, {block})});
  };
  KeyObject raw = parse_get(answer(1, Item::bytes(tag::kKeyMaterial, key), 128));
  CHECK(raw.format == "raw");
  CHECK(raw.algorithm == "AES");
  CHECK(raw.length == 128);
  CHECK(Bytes(raw.key.view().begin(), raw.key.view().end()) == key);

  KeyObject transparent =
      parse_get(answer(7, Item::structure(tag::kKeyMaterial, {Item::bytes(tag::kKey, key)}), 128));
  CHECK(transparent.format == "transparent-symmetric-key");
  CHECK(transparent.key.size() == 16);

  CHECK(mentions(error_of_kind([&] { parse_get(answer(1, Item::bytes(tag::kKeyMaterial, key), 256)); }, ErrorKind::Remote),
            "16 bytes of key material for a length of 256 bits"));
  CHECK(mentions(error_of_kind([&] { parse_get(answer(1, Item::bytes(tag::kKeyMaterial, key), 128, true)); }, ErrorKind::Remote),
            "wrapped"));
  CHECK(mentions(error_of_kind([&] { parse_get(answer(4, Item::bytes(tag::kKeyMaterial, key), 128)); }, ErrorKind::Remote),
            "key format 0x4"));

  // Another object type: its metadata, no key bytes.
  KeyObject cert = parse_get(Item::structure(
      tag::kResponsePayload, {Item::enumeration(tag::kObjectType, 1), Item::text(tag::kUniqueIdentifier, "2")}));
  CHECK(cert.object_type == "Certificate");
  CHECK(cert.key.size() == 0);
}

TEST_CASE("KMIP: results become errors: Item Not Found is exit 4, the rest exit 7", "[kmip][messages]") {
  Response r;
  r.status = ResultStatus::OperationFailed;
  r.reason = 1;
  r.message = "Could not locate object: 5";
  CHECK(error_of_kind([&] { require_success(r, Operation::Get, "Get of key '5'"); }, ErrorKind::NotFound) ==
        "KMIP server: Get of key '5': Item Not Found: Could not locate object: 5");
  r.reason = 12;
  r.message = "Object is active and cannot be destroyed.";
  CHECK(error_of_kind([&] { require_success(r, Operation::Destroy, "Destroy of key '5'"); }, ErrorKind::Remote) ==
        "KMIP server refused Destroy of key '5': Permission Denied: Object is active and cannot be destroyed.");
  r.reason = 0;
  r.message.clear();
  CHECK(mentions(error_of_kind([&] { require_success(r, Operation::Get, "Get"); }, ErrorKind::Remote), "no reason given"));

  Response ok;
  ok.status = ResultStatus::Success;
  ok.operation = static_cast<std::uint32_t>(Operation::Create);
  ok.payload = Item::structure(tag::kResponsePayload);
  CHECK(mentions(error_of_kind([&] { require_success(ok, Operation::Get, "Get"); }, ErrorKind::Remote), "is for Create"));
  ok.operation = static_cast<std::uint32_t>(Operation::Get);
  ok.payload.reset();
  CHECK(mentions(error_of_kind([&] { require_success(ok, Operation::Get, "Get"); }, ErrorKind::Remote), "without a response payload"));
}

TEST_CASE("KMIP: what is not a one-item Response Message is refused", "[kmip][messages]") {
  // A request where a response belongs.
  CHECK(mentions(error_of_kind([] { decode_response(from_hex(kDiscoverNone)); }, ErrorKind::Remote), "not a Response Message"));
  // Two batch items.
  Item two = decode(from_hex(kDiscoverNoneResponse));
  Item item = two.at(tag::kBatchItem);
  two.add(item);
  CHECK(mentions(error_of_kind([&] { decode_response(encode(two)); }, ErrorKind::Remote), "2 batch items"));
  // A header without a protocol version.
  Item bare = Item::structure(tag::kResponseMessage, {Item::structure(tag::kResponseHeader, {Item::integer(tag::kBatchCount, 1)})});
  CHECK(mentions(error_of_kind([&] { decode_response(encode(bare)); }, ErrorKind::Remote), "no item 0x420069"));
}

TEST_CASE("KMIP: versions, names and the proposal", "[kmip][messages]") {
  CHECK(Version::parse("1.4") == Version{1, 4});
  CHECK(Version::parse("2.0").str() == "2.0");
  CHECK_THROWS_AS(Version::parse("2"), Error);
  CHECK_THROWS_AS(Version::parse("1.x"), Error);
  CHECK((Version{2, 0} > Version{1, 4}));
  CHECK(supported_versions().front() == Version{2, 0});
  CHECK(supported_versions().back() == Version{1, 0});
  CHECK(operation_name(0x1E) == "DiscoverVersions");
  CHECK(operation_name(0x999) == "0x00000999");
  CHECK(result_reason_name(0x100) == "General Failure");
  CHECK(state_name(6) == "destroyed-compromised");
}
