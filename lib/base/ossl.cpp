// OpenSSL error queues drained into applctl::Error, and the owning handles' helpers (see
// base/ossl.hpp).
#include "base/ossl.hpp"

#include <algorithm>
#include <deque>
#include <mutex>

#include <fmt/format.h>

namespace applctl::ossl {

std::string drain_errors() {
  std::string out;
  unsigned long code = 0;
  const char* data = nullptr;
  int flags = 0;
  while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

void raise(std::string_view what, ErrorKind kind) {
  std::string queue = drain_errors();
  if (queue.empty()) queue = "no OpenSSL error reported";
  throw Error(kind, fmt::format("{} failed: {}", what, queue));
}

BioPtr mem_bio(BytesView data) {
  return BioPtr(check_ptr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), "BIO_new_mem_buf"));
}

BioPtr new_mem_bio() { return BioPtr(check_ptr(BIO_new(BIO_s_mem()), "BIO_new")); }

Bytes bio_bytes(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0) return {};
  return Bytes(data, data + len);
}

X509Ptr parse_x509(BytesView der) {
  constexpr std::size_t kKept = 16;
  static std::mutex mutex;
  // OpenSSL is initialised first, so its exit handler runs after this cache is destroyed.
  static std::deque<std::pair<Bytes, X509Ptr>> kept = [] {
    OPENSSL_init_crypto(0, nullptr);
    return std::deque<std::pair<Bytes, X509Ptr>>{};
  }();  // most recent last
  auto same = [&](const std::pair<Bytes, X509Ptr>& e) { return std::ranges::equal(e.first, der); };
  {
    std::lock_guard lock(mutex);
    if (auto it = std::find_if(kept.begin(), kept.end(), same); it != kept.end()) {
      X509_up_ref(it->second.get());
      return X509Ptr(it->second.get());
    }
  }
  const unsigned char* p = der.data();
  ERR_set_mark();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_pop_to_mark();
  if (!x || p != der.data() + der.size()) return nullptr;
  std::lock_guard lock(mutex);
  if (X509_up_ref(x.get()) == 1) {
    kept.emplace_back(Bytes(der.begin(), der.end()), X509Ptr(x.get()));
    if (kept.size() > kKept) kept.pop_front();
  }
  return x;
}

X509Ptr x509_from_der(BytesView der, std::string_view what) {
  if (X509Ptr x = parse_x509(der)) return x;
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) raise(what, ErrorKind::BadInput);
  // The fingerprint is the hash of exactly these bytes: nothing may follow the certificate.
  if (p != der.data() + der.size())
    throw Error(ErrorKind::BadInput, fmt::format("{}: {} bytes of trailing data after the certificate", what,
                                                 der.data() + der.size() - p));
  return x;
}

X509ReqPtr req_from_der(BytesView der, std::string_view what) {
  const unsigned char* p = der.data();
  X509ReqPtr r(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!r) raise(what, ErrorKind::BadInput);
  return r;
}

}  // namespace applctl::ossl
