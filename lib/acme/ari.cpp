// ACME Renewal Information (RFC 9773): a certificate's ARI identifier, the renewalInfo
// document's suggested window, and fetching it from a server that offers it.
#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/x509/certificate.hpp"
#include "applctl/base/timeutil.hpp"

namespace applctl::acme {

namespace {

Bytes from_hex(std::string hex) {
  if (hex.size() % 2 != 0) hex.insert(hex.begin(), '0');
  Bytes out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::int64_t instant(const nlohmann::json& w, const char* name) {
  auto it = w.find(name);
  if (it == w.end() || !it->is_string())
    fail(ErrorKind::Remote, fmt::format("ACME renewalInfo: suggestedWindow has no {}", name));
  try {
    return parse_rfc3339(it->get<std::string>()).seconds;
  } catch (const Error&) {
    fail(ErrorKind::Remote, fmt::format("ACME renewalInfo: suggestedWindow.{} '{}' is not an RFC 3339 time", name,
                                        printable(it->get<std::string>())));
  }
}

}  // namespace

std::string ari_cert_id(BytesView cert_der) {
  CertInfo info = inspect_certificate(cert_der);
  if (info.authority_key_id.empty())
    fail(ErrorKind::BadInput, fmt::format("certificate {}: no authority key identifier, so no ARI identifier", info.issued_to));
  // The serial's DER INTEGER content: big-endian two's complement, shortest form (a positive
  // serial whose top bit is set gets a leading zero byte).
  Bytes serial = from_hex(info.serial);
  if (serial.empty() || (serial.front() & 0x80) != 0) serial.insert(serial.begin(), 0);
  return base64url(from_hex(info.authority_key_id)) + "." + base64url(serial);
}

RenewalWindow parse_renewal_info(std::string_view body, std::optional<std::chrono::seconds> retry_after) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) fail(ErrorKind::Remote, "ACME renewalInfo: the answer is not a JSON object");
  auto w = j.find("suggestedWindow");
  if (w == j.end() || !w->is_object()) fail(ErrorKind::Remote, "ACME renewalInfo: no suggestedWindow");
  RenewalWindow r;
  r.start = instant(*w, "start");
  r.end = instant(*w, "end");
  if (r.end <= r.start)
    fail(ErrorKind::Remote,  // the times as sent: an offset can move them outside what format_rfc3339 prints
         fmt::format("ACME renewalInfo: the suggested window ends ({}) before it starts ({})",
                     printable((*w)["end"].get<std::string>()), printable((*w)["start"].get<std::string>())));
  if (auto u = j.find("explanationURL"); u != j.end() && u->is_string()) r.explanation_url = u->get<std::string>();
  r.retry_after = retry_after;
  return r;
}

std::optional<RenewalWindow> renewal_info(Client& client, BytesView cert_der) {
  const std::string& base = client.directory().renewal_info;
  if (base.empty()) return std::nullopt;
  const std::string url = (base.back() == '/' ? base : base + "/") + ari_cert_id(cert_der);
  HttpResponse r = client.get(url);
  if (r.status != 200) throw response_error(fmt::format("ACME server: GET {}", url), r, std::time(nullptr));
  return parse_renewal_info(r.body, retry_after(r));
}

}  // namespace applctl::acme
