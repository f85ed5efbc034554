// applctl acme account | issue | show (applctl-acme(1)). In applctl they reach the ACME client
// through acme_library(), which runs applctl-acme in applctl's place (cli.hpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/base/timeutil.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

void setup_acme_account(CLI::App& app, Runner& run) {
  auto req = std::make_shared<acme::AccountRequest>();
  app.add_option("--server", req->server, "The ACME server's directory URL (https://...)")->required();
  app.add_option("--email", req->email, "Contact email address of the account")->required();
  app.add_option("--ca-bundle", req->ca_bundle, "CA certificates (PEM) that verify a private ACME server's TLS")
      ->check(CLI::ExistingFile);
  app.add_flag("--accept-tos", req->accept_tos, "Agree to the server's terms of service (needed to create an account)");
  // Not CLI11's ExistingFile: a missing file is bad input (exit 6) like any other unusable key.
  app.add_option("--account-key", req->account_key_file,
                 "Use this existing account key (PEM, EC P-256, unencrypted; e.g. lego's) instead of the "
                 "store's; it replaces a different one the store has")
      ->type_name("FILE");
  auto* kid = app.add_option("--eab-kid", req->eab_kid, "External account binding: the key identifier the CA issued");
  auto* env = app.add_option("--eab-hmac-env", req->eab_hmac_env,
                             "External account binding: the environment variable holding the CA's HMAC key (base64url)");
  kid->needs(env);
  env->needs(kid);
  run = [req](Context& ctx) {
    acme::AccountResult r = acme_library(ctx).register_account(ctx.store_dir(), *req);
    if (r.bad_nonce_retries > 0) spdlog::info("acme account: {} badNonce retries", r.bad_nonce_retries);
    spdlog::info("acme account: {} {}", r.created ? "registered" : "found", r.account_url);
    if (r.new_key && !req->account_key_file.empty())
      spdlog::info("acme account: the key of {} is now the store's account key", req->account_key_file);
    nlohmann::json doc = {{"server", r.server},
                          {"email", r.email},
                          {"status", r.status},
                          {"kid", r.account_url},
                          {"account_url", r.account_url},
                          {"created", r.created},
                          {"new_key", r.new_key},
                          {"key_thumbprint", r.key_thumbprint},
                          {"terms_of_service", r.terms_of_service.empty() ? nlohmann::json(nullptr)
                                                                          : nlohmann::json(r.terms_of_service)}};
    Block b;
    b.add("account", r.created ? "registered" : "found")
        .add("server", r.server)
        .add("email", r.email)
        .add("status", r.status)
        .add("kid", r.account_url)
        .add("key thumbprint", r.key_thumbprint);
    if (!r.terms_of_service.empty()) b.add("terms of service", r.terms_of_service);
    ctx.emit(doc, b.str());
    return 0;
  };
}

void setup_acme_show(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    acme::AccountInfo r = acme_library(ctx).show_account(ctx.store_dir());
    nlohmann::json doc = {{"server", r.server},
                          {"email", r.email},
                          {"status", r.status},
                          {"kid", r.account_url},
                          {"key_thumbprint", r.key_thumbprint},
                          {"ca_bundle", r.ca_bundle.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.ca_bundle)}};
    Block b;
    b.add("server", r.server).add("email", r.email).add("status", r.status).add("kid", r.account_url).add(
        "key thumbprint", r.key_thumbprint);
    if (!r.ca_bundle.empty()) b.add("ca bundle", r.ca_bundle);
    ctx.emit(doc, b.str());
    return 0;
  };
}

void setup_acme_issue(CLI::App& app, Runner& run) {
  auto req = std::make_shared<acme::IssueRequest>();
  app.add_option("--name", req->name, "Friendly name of the new certificate")->required();
  app.add_option("--domain", req->domains, "A DNS name or IP address for the certificate (repeatable)")
      ->required()
      ->allow_extra_args(false);
  app.add_option("--key", req->key_spec, "Key: rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384")->default_str("ec:P-256");
  auto* port = app.add_option("--http-port", req->challenge.http_port,
                              "http-01: port of a responder of its own (the server validates on port 80)")
                   ->default_val(80)
                   ->check(CLI::Range(1, 65535));
  auto* webroot = app.add_option("--webroot", req->challenge.webroot,
                                 "http-01: a web server's document root; writes .well-known/acme-challenge/TOKEN there")
                      ->check(CLI::ExistingDirectory);
  auto* hook = app.add_option("--dns-hook", req->challenge.dns_hook,
                              "dns-01: a command (/bin/sh -c) that publishes and removes the TXT record");
  app.add_option("--preferred-chain", req->preferred_chain,
                 "Of the server's chains, the one whose topmost certificate is issued by (or is) this CN");
  webroot->excludes(port);
  hook->excludes(port);
  hook->excludes(webroot);
  app.add_option("--timeout", req->timeout_seconds, "Overall limit in seconds for the order")
      ->default_val(90)
      ->check(CLI::Range(1, 3600));
  run = [req](Context& ctx) {
    acme::IssueResult r = acme_library(ctx).issue_certificate(ctx.store_dir(), *req);
    spdlog::info("acme issue: {} in {:.2f} s ({} validation requests, {} badNonce retries)", r.name, r.seconds,
                 r.validation_requests, r.bad_nonce_retries);
    nlohmann::json doc = {{"friendly_name", r.name},
                          {"fingerprint_sha256", r.fingerprint_sha256},
                          {"identifiers", r.identifiers},
                          {"not_before", format_rfc3339(r.not_before)},
                          {"not_after", format_rfc3339(r.not_after)},
                          {"server", r.server},
                          {"order_url", r.order_url},
                          {"chain_certificates", r.chain_certificates},
                          {"origin", r.origin},
                          {"seconds", r.seconds}};
    Block b;
    b.add("issued", r.name)
        .add("fingerprint", r.fingerprint_sha256)
        .add("identifiers", fmt::format("{}", fmt::join(r.identifiers, ", ")))
        .add("expires", format_rfc3339(r.not_after))
        .add("server", r.server);
    ctx.emit(doc, b.str());
    return 0;
  };
}

}  // namespace applctl::cli
