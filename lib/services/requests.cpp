// Certificate signing requests: create, list, show, remove (see applctl/services/requests.hpp).
#include "applctl/services/requests.hpp"

#include "applctl/services/appliance.hpp"
#include "applctl/x509/certificate.hpp"

namespace applctl {

CsrCreated create_request(Store& store, const CsrRequest& request) {
  // Everything that can fail on the input, and the slow key generation, happens before the lock.
  checked_friendly_name(request.name);
  Subject subject = validated(request.subject);
  std::vector<San> sans = build_sans(subject, request.sans);
  PrivateKey key = PrivateKey::generate(request.key);
  auto [der, info] = build_csr(key, subject, sans);

  ensure_initialized(store);
  auto tx = store.write("csr create");
  RequestRow row;
  row.friendly_name = request.name;
  row.subject = info.subject;
  row.alt_names = info.alt_names;
  row.fingerprint_sha256 = sha256_hex(der);
  row.spki_sha256 = info.spki_sha256;
  row.key_spec = request.key.str();
  row.key_id = store.insert_key(key);
  row.created = now();
  row.id = store.insert_request(row, der);
  tx.touch("request:" + row.friendly_name);
  tx.commit();
  return {row, pem_encode(der, "CERTIFICATE REQUEST")};
}

std::vector<RequestRow> list_requests(const Store& store) { return store.list_requests(); }

CsrCreated show_request(const Store& store, std::string_view ref) {
  RequestRow row = store.resolve_request(ref);
  return {row, pem_encode(store.request_der(row.id), "CERTIFICATE REQUEST")};
}

RequestRow remove_request(Store& store, std::string_view ref) {
  auto tx = store.write("csr remove");
  RequestRow row = store.resolve_request(ref);
  store.remove_request(row.id);
  store.remove_key_if_unused(row.key_id);
  tx.touch("request:" + row.friendly_name);
  tx.commit();
  return row;
}

}  // namespace applctl
