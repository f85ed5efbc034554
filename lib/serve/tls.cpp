// The TLS side of `serve`: one ready SSL_CTX per servable certificate, built when the store is
// loaded, the servername hook that switches each connection to the one the index picks, and the
// HTTP answer that says what was picked.
#include <fmt/format.h>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"
#include "serve/internal.hpp"

namespace applctl::serving {

namespace {

// The context of one certificate: the leaf, its key, and exactly its chain.
SslCtxPtr make_cert_ctx(const Store& store, const CertRow& row, const std::vector<Bytes>& chain) {
  SslCtxPtr ctx = new_server_ctx();
  Bytes der = store.cert_der(row.id);
  ossl::X509Ptr leaf = ossl::x509_from_der(der, fmt::format("certificate '{}'", row.friendly_name));
  ossl::check(SSL_CTX_use_certificate(ctx.get(), leaf.get()), "SSL_CTX_use_certificate");
  PrivateKey key = store.load_key(*row.key_id);
  ossl::check(SSL_CTX_use_PrivateKey(ctx.get(), key.get()), "SSL_CTX_use_PrivateKey");
  ossl::check(SSL_CTX_check_private_key(ctx.get()), "SSL_CTX_check_private_key");
  for (const auto& c : chain) {
    ossl::X509Ptr x = ossl::x509_from_der(c, fmt::format("chain of '{}'", row.friendly_name));
    ossl::check(static_cast<int>(SSL_CTX_add1_chain_cert(ctx.get(), x.get())), "SSL_CTX_add1_chain_cert");
  }
  return ctx;
}

int on_servername(SSL* ssl, int* alert, void*) {
  auto* info = static_cast<HandshakeInfo*>(SSL_get_app_data(ssl));
  if (info == nullptr || info->catalog == nullptr || !*info->catalog) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  info->sni = name != nullptr ? name : "";
  info->pick = (*info->catalog)->pick(info->sni, info->local_address);
  if (!info->pick) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (SSL_set_SSL_CTX(ssl, info->pick->cert->ctx.get()) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

SslCtxPtr new_server_ctx() {
  SslCtxPtr ctx(ossl::check_ptr(SSL_CTX_new_ex(nullptr, nullptr, TLS_server_method()), "SSL_CTX_new_ex"));
  ossl::check(static_cast<int>(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION)), "SSL_CTX_set_min_proto_version");
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  ossl::check(SSL_CTX_set_num_tickets(ctx.get(), 0), "SSL_CTX_set_num_tickets");
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_NO_AUTO_CHAIN | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

SslCtxPtr new_listening_ctx() {
  SslCtxPtr ctx = new_server_ctx();
  ossl::check(static_cast<int>(SSL_CTX_set_tlsext_servername_callback(ctx.get(), on_servername)),
              "SSL_CTX_set_tlsext_servername_callback");
  return ctx;
}

std::shared_ptr<const Catalog> Catalog::load(const std::filesystem::path& dir, const Catalog* previous,
                                             std::vector<std::string>* problems) {
  Store store = Store::open(dir, Store::Mode::ReadOnly);
  auto cat = std::make_shared<Catalog>();
  cat->built_at_ = now();
  cat->index_ = SniIndex::build(store, cat->built_at_);
  for (auto& row : store.list_certs()) {
    if (!row.key_id) continue;  // nothing serves a certificate without its key
    try {
      std::vector<Bytes> chain = chain_for_export(store, row);
      std::vector<std::string> fingerprints;
      std::string reuse_key = fmt::format("{}/{}", row.fingerprint_sha256, *row.key_id);
      for (const auto& der : chain) {
        fingerprints.push_back(sha256_hex(der));
        reuse_key += "/" + fingerprints.back();
      }
      auto served = std::make_shared<ServedCert>();
      served->chain = std::move(fingerprints);
      const ServedCert* old = nullptr;
      if (previous != nullptr)
        if (auto it = previous->by_key_.find(reuse_key); it != previous->by_key_.end()) old = it->second.get();
      if (old != nullptr) {
        ossl::check(SSL_CTX_up_ref(old->ctx.get()), "SSL_CTX_up_ref");
        served->ctx.reset(old->ctx.get());
      } else {
        served->ctx = make_cert_ctx(store, row, chain);
      }
      served->row = std::move(row);
      cat->by_id_.emplace(served->row.id, served);
      cat->by_key_.emplace(std::move(reuse_key), std::move(served));
    } catch (const Error& e) {
      if (problems != nullptr) problems->push_back(fmt::format("cannot serve '{}': {}", row.friendly_name, e.what()));
    }
  }
  cat->has_default_ = cat->pick("", "").has_value();
  return cat;
}

std::optional<Pick> Catalog::pick(std::string_view sni, std::string_view local_address) const {
  auto choice = index_.resolve(sni, local_address);
  if (!choice) return std::nullopt;
  auto it = by_id_.find(choice->cert.id);
  if (it == by_id_.end()) return std::nullopt;
  return Pick{it->second, choice->rule};
}

std::string status_text(const HandshakeInfo& info, SSL* ssl) {
  std::string out = "applctl serve\n";
  if (info.pick) {
    const CertRow& row = info.pick->cert->row;
    out += fmt::format("certificate: {}\nfingerprint_sha256: {}\nrule: {}\nsubject: {}\nchain: {}\n", row.friendly_name,
                       row.fingerprint_sha256, rule_name(info.pick->rule), row.subject, info.pick->cert->chain.size());
  }
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  out += fmt::format("sni: {}\naddress: {}\nprotocol: {}\ncipher: {}\n", info.sni.empty() ? "-" : printable(info.sni),
                     info.local_address, SSL_get_version(ssl), cipher != nullptr ? SSL_CIPHER_get_name(cipher) : "-");
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

std::string http_response(std::string_view request, const HandshakeInfo& info, SSL* ssl) {
  std::string_view line = request.substr(0, request.find_first_of("\r\n"));
  std::string_view method = line.substr(0, line.find(' '));
  std::string status = "200 OK", body;
  if (request.size() >= kMaxRequest) {
    status = "431 Request Header Fields Too Large";
    body = "request too large\n";
  } else if (method == "GET" || method == "HEAD") {
    body = status_text(info, ssl);
  } else if (line.find(" HTTP/1.") != std::string_view::npos) {
    status = "405 Method Not Allowed";
    body = "only GET and HEAD\n";
  } else {
    status = "400 Bad Request";
    body = "not an HTTP/1.x request\n";
  }
  std::string head = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Cache-Control: no-store\r\n\r\n",
      status, body.size());
  return method == "HEAD" ? head : head + body;
}

}  // namespace applctl::serving
