// `cert bundle`: the support zip without any private key (see applctl/services/bundle.hpp).
#include "applctl/services/bundle.hpp"

#include <zip.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"

namespace applctl {

namespace {

// A file-name-safe form of a certificate's name.
std::string safe(std::string_view s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  if (out.size() > 60) out.resize(60);
  return out.empty() ? "certificate" : out;
}

std::string status_text(const CertSummary& s, const std::vector<CertInfo>& chain, bool complete) {
  const CertRow& r = s.row;
  std::string t;
  t += fmt::format("Certificate:   {}\n", r.friendly_name);
  t += fmt::format("Subject:       {}\n", r.subject);
  t += fmt::format("Issuer:        {}\n", r.issuer);
  t += fmt::format("SHA-256:       {}\n", r.fingerprint_sha256);
  t += fmt::format("Serial:        {}\n", r.serial);
  t += fmt::format("Valid from:    {}\n", format_rfc3339(r.not_before));
  t += fmt::format("Valid until:   {}\n", format_rfc3339(r.not_after));
  t += fmt::format("Alt names:     {}\n", r.alt_names.empty() ? "-" : fmt::format("{}", fmt::join(r.alt_names, ", ")));
  t += fmt::format("Role:          {}\n", role_name(r.role));
  t += fmt::format("Chain:         {} ({} certificate{})\n", complete ? "complete" : "incomplete", chain.size(),
                   chain.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < chain.size(); ++i)
    t += fmt::format("  {}. {} [{}] {}\n", i + 1, chain[i].subject, role_name(chain[i].role), chain[i].fingerprint_sha256);
  if (s.warnings.empty()) t += "Warnings:      none\n";
  for (const auto& w : s.warnings) t += fmt::format("Warning:       {}: {}\n", w.code, w.message);
  t += "\nThis bundle holds certificates only: no private key.\n";
  return t;
}

struct ZipWriter {
  zip_source_t* src = nullptr;
  zip_t* za = nullptr;
  ZipWriter() {
    zip_error_t err;
    zip_error_init(&err);
    src = zip_source_buffer_create(nullptr, 0, 0, &err);
    if (src == nullptr) fail(ErrorKind::Failed, "zip_source_buffer_create failed");
    za = zip_open_from_source(src, ZIP_TRUNCATE, &err);
    if (za == nullptr) {
      zip_source_free(src);
      fail(ErrorKind::Failed, fmt::format("zip_open_from_source failed: {}", zip_error_strerror(&err)));
    }
    zip_source_keep(src);  // read the archive back after zip_close
  }
  ~ZipWriter() {
    if (za != nullptr) zip_discard(za);
    zip_source_free(src);
  }
  void add(const std::string& name, Bytes data) {
    auto* buf = static_cast<std::uint8_t*>(std::malloc(std::max<std::size_t>(data.size(), 1)));
    if (buf == nullptr) throw std::bad_alloc();
    std::copy(data.begin(), data.end(), buf);
    zip_source_t* s = zip_source_buffer(za, buf, data.size(), 1);  // libzip frees buf
    if (s == nullptr) {
      std::free(buf);
      fail(ErrorKind::Failed, fmt::format("zip_source_buffer failed: {}", zip_strerror(za)));
    }
    const zip_int64_t index = zip_file_add(za, name.c_str(), s, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(s);
      fail(ErrorKind::Failed, fmt::format("zip_file_add({}) failed: {}", name, zip_strerror(za)));
    }
    // A regular file, rw-r--r--: the bundle never holds a key (libzip's default is 0666).
    if (zip_file_set_external_attributes(za, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                         static_cast<zip_uint32_t>(0100644) << 16) != 0)
      fail(ErrorKind::Failed, fmt::format("zip_file_set_external_attributes({}) failed: {}", name, zip_strerror(za)));
  }
  Bytes finish() {
    if (zip_close(za) != 0) fail(ErrorKind::Failed, fmt::format("zip_close failed: {}", zip_strerror(za)));
    za = nullptr;
    zip_stat_t st;
    if (zip_source_stat(src, &st) != 0 || zip_source_open(src) != 0) fail(ErrorKind::Failed, "cannot read the zip back");
    Bytes out(st.size);
    zip_int64_t n = zip_source_read(src, out.data(), out.size());
    zip_source_close(src);
    if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) fail(ErrorKind::Failed, "short read of the zip");
    return out;
  }
};

}  // namespace

BundleResult make_bundle(const Store& store, std::string_view ref) {
  BundleResult result;
  result.row = store.resolve_cert(ref);
  std::vector<Bytes> certs{store.cert_der(result.row.id)};
  for (auto& der : chain_for_export(store, result.row)) certs.push_back(std::move(der));
  std::vector<CertInfo> infos;
  for (const auto& der : certs) infos.push_back(inspect_certificate(der));
  const bool complete = infos.back().self_signed;

  ZipWriter zip;
  auto add = [&](std::string name, Bytes data) {
    zip.add(name, std::move(data));
    result.files.push_back(std::move(name));
  };
  const std::string base = safe(result.row.friendly_name);
  add(base + "-chain.p7b", encode_p7b(certs));
  for (std::size_t i = 0; i < certs.size(); ++i)
    add(fmt::format("{}-{}-{}.cer", i + 1, role_name(infos[i].role), safe(infos[i].issued_to)), certs[i]);
  std::string text = status_text(summarize(store, result.row), infos, complete);
  add("status.txt", Bytes(text.begin(), text.end()));
  result.zip = zip.finish();
  return result;
}

}  // namespace applctl
