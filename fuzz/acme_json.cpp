// ACME: what a server sends. The first byte picks the parser, the rest is the body:
//   0 directory, 1 problem document (and the error an operator sees, with a Retry-After),
//   2 Retry-After header value, 3 renewalInfo, 4 order, 5 authorization.
// Invariants: a Retry-After wait is never negative, a renewal window never ends before it starts.
#include <string>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/base/error.hpp"
#include "fuzz.hpp"

namespace {

constexpr std::time_t kNow = 1'800'000'000;  // 2027-01-15

void problem(std::string_view body, int selector) {
  const long status = selector & 0x80 ? 503 : 400 + (selector >> 3 & 0x0F);
  applctl::acme::Problem p = applctl::acme::parse_problem(body, status);
  (void)p.short_type();
  applctl::acme::HttpResponse r;
  r.status = status;
  r.body = std::string(body);
  r.headers.emplace("retry-after", "120");
  applctl::Error e = applctl::acme::response_error("fuzz", r, kNow);
  FUZZ_ASSERT(e.kind() == applctl::ErrorKind::Remote);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int selector = data[0];
  const std::string_view body = fuzz::text(data + 1, size - 1);
  try {
    switch (selector % 6) {
      case 0: applctl::acme::parse_directory(body, "https://ca.test/dir"); break;
      case 1: problem(body, selector); break;
      case 2:
        if (auto wait = applctl::acme::parse_retry_after(body, kNow)) FUZZ_ASSERT(wait->count() >= 0);
        break;
      case 3: {
        auto w = applctl::acme::parse_renewal_info(body, std::nullopt);
        FUZZ_ASSERT(w.end > w.start);
        break;
      }
      case 4: applctl::acme::parse_order(body, "https://ca.test/order/1"); break;
      case 5: applctl::acme::parse_authorization(body, "https://ca.test/authz/1"); break;
    }
  } catch (const applctl::Error&) {
  }
  return 0;
}
