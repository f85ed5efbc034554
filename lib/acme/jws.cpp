// ACME's pure parts: base64url, the account key's JWK and its RFC 7638 thumbprint, ES256 JWS
// (RFC 7515 flattened JSON, signature as raw r||s), the directory and problem documents.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <fmt/format.h>

#include "applctl/acme/acme.hpp"
#include "base/ossl.hpp"

namespace applctl::acme {

namespace {

Bytes sha256(BytesView data) {
  Bytes out(32);
  unsigned int len = 0;
  ossl::check(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr), "EVP_Digest");
  return out;
}

Bytes bn_param(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  ossl::check(EVP_PKEY_get_bn_param(pkey, name, &raw), "EVP_PKEY_get_bn_param");
  ossl::BignumPtr bn(raw);
  Bytes out(32);
  ossl::check(BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())), "BN_bn2binpad");
  return out;
}

void require_p256(const PrivateKey& key) {
  KeyInfo info = key.info();
  if (info.type != "EC" || info.curve != "P-256")
    fail(ErrorKind::BadInput, fmt::format("the ACME account key is {}, not ec:P-256 (ES256)", info.spec()));
}

std::string str_or_empty(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace


nlohmann::json public_jwk(const PrivateKey& key) {
  require_p256(key);
  return {{"crv", "P-256"},
          {"kty", "EC"},
          {"x", base64url(bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X))},
          {"y", base64url(bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y))}};
}

std::string jwk_thumbprint(const nlohmann::json& jwk) {
  std::string kty = str_or_empty(jwk, "kty");
  std::vector<const char*> members;
  if (kty == "EC") members = {"crv", "kty", "x", "y"};
  else if (kty == "RSA") members = {"e", "kty", "n"};
  else if (kty == "OKP") members = {"crv", "kty", "x"};
  else fail(ErrorKind::BadInput, fmt::format("JWK thumbprint: unsupported key type '{}'", printable(kty)));
  // nlohmann::json objects keep their members sorted, and dump() writes no white space: the
  // canonical form of RFC 7638 section 3 for these ASCII members.
  nlohmann::json required = nlohmann::json::object();
  for (const char* m : members) {
    std::string v = str_or_empty(jwk, m);
    if (v.empty()) fail(ErrorKind::BadInput, fmt::format("JWK thumbprint: the {} key has no '{}'", kty, m));
    required[m] = v;
  }
  return base64url(sha256(as_bytes(required.dump())));
}

nlohmann::json sign_jws(const PrivateKey& key, const JwsHeader& header, std::string_view payload) {
  require_p256(key);
  nlohmann::json prot = {{"alg", "ES256"}, {"nonce", header.nonce}, {"url", header.url}};
  if (header.kid) prot["kid"] = *header.kid;
  else prot["jwk"] = public_jwk(key);
  std::string protected64 = base64url(as_bytes(prot.dump()));
  std::string payload64 = base64url(as_bytes(payload));
  std::string input = protected64 + "." + payload64;

  ossl::MdCtxPtr ctx(ossl::check_ptr(EVP_MD_CTX_new(), "EVP_MD_CTX_new"));
  ossl::check(EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.get(), nullptr),
              "EVP_DigestSignInit_ex");
  std::size_t len = 0;
  ossl::check(EVP_DigestSign(ctx.get(), nullptr, &len, as_bytes(input).data(), input.size()), "EVP_DigestSign");
  Bytes der(len);
  ossl::check(EVP_DigestSign(ctx.get(), der.data(), &len, as_bytes(input).data(), input.size()), "EVP_DigestSign");
  der.resize(len);
  // DER ECDSA-Sig-Value -> r||s, each left-padded to 32 bytes (RFC 7518 section 3.4).
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, ossl::Free<ECDSA_SIG_free>> sig(
      ossl::check_ptr(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), "d2i_ECDSA_SIG"));
  Bytes raw(64);
  ossl::check(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 32), "BN_bn2binpad");
  ossl::check(BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 32, 32), "BN_bn2binpad");
  return {{"protected", protected64}, {"payload", payload64}, {"signature", base64url(raw)}};
}

nlohmann::json external_account_binding(std::string_view eab_kid, BytesView hmac_key, const std::string& url,
                                        const nlohmann::json& account_jwk) {
  if (hmac_key.empty()) fail(ErrorKind::BadInput, "external account binding: the MAC key is empty");
  nlohmann::json prot = {{"alg", "HS256"}, {"kid", std::string(eab_kid)}, {"url", url}};
  std::string protected64 = base64url(as_bytes(prot.dump()));
  std::string payload64 = base64url(as_bytes(account_jwk.dump()));
  std::string input = protected64 + "." + payload64;
  Bytes mac(32);
  std::size_t len = 0;
  ossl::check_ptr(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, hmac_key.data(), hmac_key.size(),
                            as_bytes(input).data(), input.size(), mac.data(), mac.size(), &len),
                  "EVP_Q_mac");
  mac.resize(len);
  return {{"protected", protected64}, {"payload", payload64}, {"signature", base64url(mac)}};
}

Directory parse_directory(std::string_view body, std::string_view url) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object())
    fail(ErrorKind::Remote, fmt::format("ACME directory {}: not a JSON object", url),
         "is --server the directory URL (e.g. https://acme.example/directory)?");
  Directory d;
  d.new_nonce = str_or_empty(j, "newNonce");
  d.new_account = str_or_empty(j, "newAccount");
  d.new_order = str_or_empty(j, "newOrder");
  d.revoke_cert = str_or_empty(j, "revokeCert");
  d.key_change = str_or_empty(j, "keyChange");
  d.renewal_info = str_or_empty(j, "renewalInfo");
  if (auto meta = j.find("meta"); meta != j.end() && meta->is_object()) {
    d.terms_of_service = str_or_empty(*meta, "termsOfService");
    d.website = str_or_empty(*meta, "website");
    auto ear = meta->find("externalAccountRequired");
    d.external_account_required = ear != meta->end() && ear->is_boolean() && ear->get<bool>();
  }
  if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty())
    fail(ErrorKind::Remote, fmt::format("ACME directory {}: newNonce, newAccount or newOrder missing", url),
         "is --server the directory URL of an ACME (RFC 8555) server?");
  return d;
}

std::string Problem::short_type() const {
  constexpr std::string_view prefix = "urn:ietf:params:acme:error:";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

Problem parse_problem(std::string_view body, long http_status) {
  Problem p;
  p.status = static_cast<int>(http_status);
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    p.type = str_or_empty(j, "type");
    p.detail = str_or_empty(j, "detail");
    if (auto s = j.find("status"); s != j.end() && s->is_number_integer()) p.status = s->get<int>();
    if (auto subs = j.find("subproblems"); subs != j.end() && subs->is_array())
      for (const auto& sub : *subs) p.subproblems.push_back(parse_problem(sub.dump(), http_status));
  }
  if (p.type.empty()) p.type = "about:blank";
  if (p.detail.empty()) p.detail = fmt::format("HTTP status {}", http_status);
  return p;
}

Error problem_error(std::string_view what, const Problem& p) {
  std::string msg = fmt::format("{}: {} ({})", what, printable(p.detail), p.short_type());
  for (const auto& sub : p.subproblems) msg += fmt::format("; {} ({})", printable(sub.detail), sub.short_type());
  std::string t = p.short_type(), hint;
  if (t == "userActionRequired" || t == "agreementRequired")
    hint = "read the server's terms of service and pass --accept-tos";
  else if (t == "externalAccountRequired")
    hint = "this server needs external account binding (--eab-kid and --eab-hmac-env)";
  else if (t == "rateLimited")
    hint = "the server's rate limit: try again later";
  else if (t == "invalidContact" || t == "unsupportedContact")
    hint = "check --email";
  else if (t == "accountDoesNotExist")
    hint = "register it with applctl acme account";
  return Error(ErrorKind::Remote, std::move(msg), std::move(hint));
}

}  // namespace applctl::acme
