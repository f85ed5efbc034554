// HTTPS for the ACME client: libcurl, the server verified against --ca-bundle (or the system's
// roots), TLS 1.2 or newer, a timeout per request, response headers collected lowercased.
#include "acme/http.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace applctl::acme {

std::string HttpResponse::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

namespace detail {

namespace {

using CurlSlist = std::unique_ptr<curl_slist, decltype([](curl_slist* l) { curl_slist_free_all(l); })>;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::multimap<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  // A new status line (after a 100 Continue or a redirect) starts a new set of headers.
  if (line.rfind("HTTP/", 0) == 0) headers->clear();
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    headers->emplace(std::move(name), std::string(value));
  }
  return size * n;
}

void setopt_ok(CURLcode rc, const char* what) {
  if (rc != CURLE_OK) fail(ErrorKind::Failed, fmt::format("curl_easy_setopt({}): {}", what, curl_easy_strerror(rc)));
}

}  // namespace

Http::Http(HttpOptions options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
  if (curl_ == nullptr) fail(ErrorKind::Failed, "curl_easy_init failed");
}

Http::~Http() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse Http::request(std::string_view method, const std::string& url, const std::string& body) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  HttpResponse resp;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CurlSlist headers;
  setopt_ok(curl_easy_setopt(c, CURLOPT_URL, url.c_str()), "URL");
  setopt_ok(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf), "ERRORBUFFER");
  setopt_ok(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
  setopt_ok(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http"), "PROTOCOLS_STR");
  setopt_ok(curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2), "SSLVERSION");
  setopt_ok(curl_easy_setopt(c, CURLOPT_TIMEOUT, options_.timeout_seconds), "TIMEOUT");
  setopt_ok(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, std::min(options_.timeout_seconds, 10L)), "CONNECTTIMEOUT");
  setopt_ok(curl_easy_setopt(c, CURLOPT_USERAGENT, "applctl/" APPLCTL_VERSION), "USERAGENT");
  if (!options_.ca_bundle.empty()) {
    setopt_ok(curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_bundle.c_str()), "CAINFO");
    setopt_ok(curl_easy_setopt(c, CURLOPT_CAPATH, nullptr), "CAPATH");
  }
  setopt_ok(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body), "WRITEFUNCTION");
  setopt_ok(curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body), "WRITEDATA");
  setopt_ok(curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header), "HEADERFUNCTION");
  setopt_ok(curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp.headers), "HEADERDATA");
  if (method == "HEAD") {
    setopt_ok(curl_easy_setopt(c, CURLOPT_NOBODY, 1L), "NOBODY");
  } else if (method == "POST") {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/jose+json"));
    setopt_ok(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()), "HTTPHEADER");
    setopt_ok(curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str()), "POSTFIELDS");
    setopt_ok(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size())), "POSTFIELDSIZE");
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    std::string hint;
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
      hint = "the server's TLS certificate does not verify: give its CA with --ca-bundle";
    else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
      hint = "is the ACME server up, and is --server right?";
    fail(ErrorKind::Remote, fmt::format("ACME server: {} {}: {}", method, url, why), hint);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

}  // namespace detail
}  // namespace applctl::acme
