// HTTPS for the ACME client, with libcurl. Internal to lib/ (applctl_acme).
#pragma once

#include <string>
#include <string_view>

#include "applctl/acme/acme.hpp"

namespace applctl::acme::detail {

// One libcurl easy handle, reused for every request of a client (connection reuse).
class Http {
 public:
  explicit Http(HttpOptions options);
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // method: "GET", "HEAD" or "POST" (body sent as application/jose+json). Transport and TLS
  // failures throw Remote naming the URL; any HTTP status is returned.
  HttpResponse request(std::string_view method, const std::string& url, const std::string& body = {});

 private:
  HttpOptions options_;
  void* curl_ = nullptr;  // CURL*
};

}  // namespace applctl::acme::detail
