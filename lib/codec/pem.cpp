// PEM as people actually send it: several blocks in one file, any text around them (openssl's
// "Bag Attributes"/"subject=" lines, mail bodies), CRLF line endings, indentation. Parsing is
// strict inside a block: known label, matching END line, valid base64, nothing after the DER.
#include <array>
#include <optional>

#include <fmt/format.h>

#include "codec/internal.hpp"

namespace applctl::codec {
namespace {

enum class BlockKind { Certificate, TrustedCertificate, Pkcs7, RsaKey, EcKey, Pkcs8Key, EncryptedPkcs8Key, Ignored };

struct Label {
  std::string_view name;
  BlockKind kind;
};

constexpr std::array labels{
    Label{"CERTIFICATE", BlockKind::Certificate},
    Label{"X509 CERTIFICATE", BlockKind::Certificate},
    Label{"TRUSTED CERTIFICATE", BlockKind::TrustedCertificate},
    Label{"PKCS7", BlockKind::Pkcs7},
    Label{"PKCS #7 SIGNED DATA", BlockKind::Pkcs7},
    Label{"RSA PRIVATE KEY", BlockKind::RsaKey},
    Label{"EC PRIVATE KEY", BlockKind::EcKey},
    Label{"PRIVATE KEY", BlockKind::Pkcs8Key},
    Label{"ENCRYPTED PRIVATE KEY", BlockKind::EncryptedPkcs8Key},
    Label{"EC PARAMETERS", BlockKind::Ignored},  // `openssl ecparam -genkey` writes it before the key
};

struct Block {
  std::string label;
  BlockKind kind = BlockKind::Ignored;
  std::string headers;  // "Name: value\n" lines (legacy encryption)
  std::string body;     // base64, whitespace removed
  std::size_t number = 0;  // 1-based, for messages
  std::string what() const { return fmt::format("PEM block {} ('{}')", number, label); }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(static_cast<std::uint8_t>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<std::uint8_t>(s.back()))) s.remove_suffix(1);
  return s;
}

// "-----BEGIN X-----" -> "X" (also for END); nullopt when the line is not of that shape.
std::optional<std::string_view> boundary_label(std::string_view line, std::string_view word) {
  std::string_view prefix = word == "BEGIN" ? "-----BEGIN " : "-----END ";
  if (!line.starts_with(prefix)) return std::nullopt;
  line.remove_prefix(prefix.size());
  if (!line.ends_with("-----")) return std::nullopt;
  line.remove_suffix(5);
  return line;
}

// Splits the text into blocks; every problem of shape is reported before anything is decoded
// (so a passphrase is never asked for a file that is malformed anyway).
std::vector<Block> scan(std::string_view text, const std::string& source) {
  std::vector<Block> blocks;
  std::optional<Block> open;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;

    if (!open) {
      if (auto label = boundary_label(line, "BEGIN")) {
        Block b;
        b.label = std::string(*label);
        b.number = blocks.size() + 1;
        auto it = std::find_if(labels.begin(), labels.end(), [&](const Label& l) { return l.name == *label; });
        if (it == labels.end())
          bad_input(source, fmt::format("unknown PEM label '{}' (block {})", b.label, b.number),
                    "expected CERTIFICATE, PKCS7, or RSA/EC/ENCRYPTED PRIVATE KEY blocks");
        b.kind = it->kind;
        open = std::move(b);
      } else if (line.starts_with("-----BEGIN") || line.starts_with("-----END")) {
        bad_input(source, fmt::format("malformed PEM boundary line '{}'", line.substr(0, 80)));
      }
      continue;
    }
    if (auto label = boundary_label(line, "END")) {
      if (*label != open->label)
        bad_input(source, fmt::format("{} ends with the END line of '{}'", open->what(), *label));
      if (open->body.empty()) bad_input(source, fmt::format("{} is empty", open->what()));
      blocks.push_back(std::move(*open));
      open.reset();
    } else if (line.starts_with("-----")) {
      bad_input(source, fmt::format("{} has no END line", open->what()));
    } else if (open->body.empty() && line.find(':') != std::string_view::npos) {
      open->headers += std::string(line) + '\n';
    } else {
      for (char c : line)
        if (c != ' ' && c != '\t') open->body += c;
    }
  }
  if (open) bad_input(source, fmt::format("{} has no END line (truncated PEM?)", open->what()));
  return blocks;
}


template <typename Ptr, typename D2i>
std::pair<Ptr, bool> parse(BytesView der, D2i d2i) {
  const unsigned char* p = der.data();
  ERR_set_mark();
  Ptr obj(d2i(nullptr, &p, static_cast<long>(der.size())));
  ERR_pop_to_mark();
  bool exact = obj && p == der.data() + der.size();
  return {std::move(obj), exact};
}

// Cleanses a decoded key body when it goes out of scope.
struct Scrub {
  Bytes& bytes;
  ~Scrub() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void decode_pem(BytesView data, const std::string& source, Passphrase& pass, Decoded& out) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  std::vector<Block> blocks = scan(text, source);
  bool saw_cert = false, saw_pkcs7 = false, saw_key = false;

  for (const Block& b : blocks) {
    if (b.kind == BlockKind::Ignored) continue;
    std::optional<Bytes> decoded = b.body.empty() ? std::nullopt : base64_try_decode(b.body, kBase64);
    if (!decoded) bad_input(source, fmt::format("invalid base64 in {}", b.what()));
    Bytes der = std::move(*decoded);
    Scrub scrub{der};
    // Only legacy encryption headers mean anything; other headers (comments) are ignored.
    bool decrypted = b.headers.find("Proc-Type:") != std::string::npos &&
                     decrypt_pem_body(b.headers, der, source, pass, b.what());

    switch (b.kind) {
      case BlockKind::Certificate: {
        if (ossl::parse_x509(der)) {
          saw_cert = true;
          add_certificate(out, der);
          break;
        }
        auto [x, exact] = parse<ossl::X509Ptr>(der, d2i_X509);
        if (exact) {
          saw_cert = true;
          add_certificate(out, der);
          break;
        }
        if (x) bad_input(source, fmt::format("trailing data after the certificate in {}", b.what()));
        // Some CAs put a PKCS#7 bundle inside BEGIN CERTIFICATE.
        auto [p7, p7_exact] = parse<ossl::Pkcs7Ptr>(der, d2i_PKCS7);
        if (!p7_exact) bad_input(source, fmt::format("invalid certificate in {}", b.what()));
        saw_pkcs7 = true;
        add_pkcs7_certificates(out, p7.get(), source);
        break;
      }
      case BlockKind::TrustedCertificate: {
        // X509 followed by OpenSSL's trust settings; keep the certificate alone.
        auto [x, exact] = parse<ossl::X509Ptr>(der, d2i_X509_AUX);
        if (!exact) bad_input(source, fmt::format("invalid certificate in {}", b.what()));
        saw_cert = true;
        add_certificate(out, ossl::to_der(x.get(), i2d_X509, "i2d_X509"));
        break;
      }
      case BlockKind::Pkcs7: {
        auto [p7, exact] = parse<ossl::Pkcs7Ptr>(der, d2i_PKCS7);
        if (!exact) bad_input(source, fmt::format("invalid PKCS#7 in {}", b.what()));
        saw_pkcs7 = true;
        add_pkcs7_certificates(out, p7.get(), source);
        break;
      }
      case BlockKind::RsaKey:
      case BlockKind::EcKey:
      case BlockKind::Pkcs8Key:
      case BlockKind::EncryptedPkcs8Key: {
        KeyForm form = b.kind == BlockKind::RsaKey   ? KeyForm::Rsa
                       : b.kind == BlockKind::EcKey  ? KeyForm::Ec
                       : b.kind == BlockKind::Pkcs8Key ? KeyForm::Pkcs8
                                                       : KeyForm::EncryptedPkcs8;
        saw_key = true;
        add_key(out, decode_key(form, der, source, pass, b.what(), decrypted));
        break;
      }
      case BlockKind::Ignored:
        break;
    }
  }
  if (!saw_cert && !saw_pkcs7 && saw_key)
    out.format = "key";
  else if (!saw_cert && saw_pkcs7 && !saw_key)
    out.format = "pkcs7-pem";
  else
    out.format = "pem";
}

}  // namespace applctl::codec
