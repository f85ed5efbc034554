// KMIP: what a server sends. The TTLV decoder (applctl::kmip::decode), then the whole response
// path of the client (decode_response, require_success for every operation) and each response
// payload parser, applied to the response's payload and to the decoded item itself.
// Invariants: the decoder is exact (encoding what it decoded gives the input back, item_size of
// the header is the input's size) and dump() never fails on what it decoded.
#include <string>

#include "applctl/base/error.hpp"
#include "applctl/kmip/kmip.hpp"
#include "applctl/kmip/ttlv.hpp"
#include "fuzz.hpp"

namespace {

using namespace applctl::kmip;

template <typename F>
void guarded(F f) {
  try {
    f();
  } catch (const applctl::Error&) {
  }
}

void parse_payload(const Item& payload) {
  guarded([&] { parse_discover_versions(payload); });
  guarded([&] { parse_query(payload); });
  guarded([&] { parse_unique_identifier(payload); });
  guarded([&] { parse_locate(payload); });
  guarded([&] { parse_get(payload); });
  guarded([&] { parse_get_attributes(Version{1, 4}, payload); });
  guarded([&] { parse_get_attributes(Version{2, 0}, payload); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  applctl::BytesView input(data, size);
  try {
    Item item = decode(input);
    FUZZ_ASSERT(encode(item) == applctl::Bytes(input.begin(), input.end()));
    FUZZ_ASSERT(item_size(input.first(kHeaderSize)) == size);
    FUZZ_ASSERT(!dump(item).empty());
    parse_payload(item);
  } catch (const applctl::Error&) {
  }
  try {
    Response r = decode_response(input);
    for (Operation op : {Operation::Create, Operation::Locate, Operation::Get, Operation::GetAttributes,
                         Operation::Activate, Operation::Revoke, Operation::Destroy, Operation::Query,
                         Operation::DiscoverVersions})
      guarded([&] { require_success(r, op, "fuzz"); });
    if (r.payload) parse_payload(*r.payload);
  } catch (const applctl::Error&) {
  }
  return 0;
}
