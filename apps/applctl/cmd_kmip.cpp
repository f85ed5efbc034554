// applctl kmip configure | test | create-key | get-key | locate | destroy-key | encrypt | decrypt | status
// (applctl-kmip(1)).
#include <unistd.h>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "applctl/services/kmip.hpp"
#include "applctl/services/encryption.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

std::vector<std::string> version_strings(const std::vector<kmip::Version>& vs) {
  std::vector<std::string> out;
  for (const auto& v : vs) out.push_back(v.str());
  return out;
}

std::string list_or_dash(const std::vector<std::string>& v) {
  return v.empty() ? "-" : fmt::format("{}", fmt::join(v, ", "));
}

nlohmann::json test_json(const KmipTestResult& t) {
  return {{"server", t.server},       {"tls", t.tls},
          {"version", t.version.str()}, {"versions", version_strings(t.versions)},
          {"operations", t.info.operations}, {"objects", t.info.objects},
          {"vendor", t.info.vendor}};
}

Block& test_block(Block& b, const KmipTestResult& t) {
  return b.add("kmip version", t.version.str())
      .add("server versions", list_or_dash(version_strings(t.versions)))
      .add("vendor", t.info.vendor.empty() ? "-" : t.info.vendor)
      .add("tls", t.tls)
      .add("operations", list_or_dash(t.info.operations))
      .add("objects", list_or_dash(t.info.objects));
}

std::shared_ptr<std::string> add_uid(CLI::App& app) {
  auto uid = std::make_shared<std::string>();
  app.add_option("UID", *uid, "Unique identifier of the key on the KMIP server")->required();
  return uid;
}

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

void setup_kmip_configure(CLI::App& app, Runner& run) {
  struct Opts {
    KmipConfigureRequest req;
    SecretSource pass;
    SecretSource password;
    bool no_test = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--host", o->req.host, "KMIP server host name or IP address (checked against its certificate)")
      ->required();
  app.add_option("--port", o->req.port, "KMIP server port")->default_val(5696)->check(CLI::Range(1, 65535));
  app.add_option("--ca", o->req.ca_file, "CA certificate(s) that issued the server's certificate (PEM or DER)")
      ->required();
  app.add_option("--client-cert", o->req.client_cert_file,
                 "Client certificate (PEM, DER or PKCS#12; may hold its key and chain)")
      ->required();
  app.add_option("--client-key", o->req.client_key_file, "Private key of the client certificate");
  add_passphrase_flags(app, o->pass);
  auto* user = app.add_option("--username", o->req.username, "KMIP user name, sent as a Credential in every request");
  auto* pf = app.add_option("--password-file", o->password.file, "Read the KMIP password from the first line of FILE");
  auto* pe = app.add_option("--password-env", o->password.env, "Read the KMIP password from environment variable VAR")
                ->each(take_env_at_parse);
  pf->excludes(pe)->needs(user);
  pe->needs(user);
  app.add_option("--timeout", o->req.timeout_seconds, "Connect and read timeout in seconds")
      ->default_val(10)
      ->check(CLI::Range(1, 600));
  app.add_flag("--no-test", o->no_test, "Save without connecting to the server (with a warning)");
  run = [o](Context& ctx) {
    o->req.passphrase = o->pass.getter("Passphrase of the client key", false);
    o->req.passphrase_given = !o->pass.file.empty() || !o->pass.env.empty();
    o->req.password = o->password.getter("KMIP password", false);
    o->req.test = !o->no_test;
    KmipConfigureResult r = configure_kmip(ctx.store_dir(), o->req);
    for (const auto& w : r.warnings) spdlog::warn("kmip configure: {}", w);
    spdlog::info("kmip configure: saved {}", r.server);
    nlohmann::json doc = {{"server", r.server},
                          {"host", o->req.host},
                          {"port", o->req.port},
                          {"client_subject", r.client_subject},
                          {"username", or_null(r.username)},
                          {"tested", r.test.has_value()},
                          {"warnings", r.warnings}};
    Block b;
    b.add("saved", r.server).add("client certificate", r.client_subject).add("username", r.username.empty() ? "-" : r.username);
    if (r.test) {
      doc["test"] = test_json(*r.test);
      test_block(b, *r.test);
    } else {
      b.add("tested", "no");
    }
    ctx.emit(doc, b.str());
    return 0;
  };
}

void setup_kmip_test(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    KmipTestResult t = test_kmip(ctx.store_dir(), require_kmip_config(ctx.store_dir()));
    if (t.saved_version && *t.saved_version != t.version)
      spdlog::warn("kmip test: the settings use KMIP {}, the server now prefers {}: run applctl kmip configure again",
                   t.saved_version->str(), t.version.str());
    spdlog::info("kmip test: {} answers KMIP {} ({})", t.server, t.version.str(), t.tls);
    Block b;
    b.add("server", t.server);
    ctx.emit(test_json(t), test_block(b, t).str());
    return 0;
  };
}

void setup_kmip_create_key(CLI::App& app, Runner& run) {
  auto spec = std::make_shared<kmip::AesKeySpec>();
  app.add_option("--name", spec->name, "Name attribute of the key");
  app.add_option("--bits", spec->bits, "AES key length: 128 or 256")->default_val(256)->check(CLI::IsMember({128, 256}));
  run = [spec](Context& ctx) {
    std::string uid = create_kmip_key(require_kmip_config(ctx.store_dir()), *spec);
    spdlog::info("kmip create-key: created and activated AES-{} key '{}'", spec->bits, uid);
    nlohmann::json doc = {{"unique_identifier", uid}, {"algorithm", "AES"}, {"length", spec->bits},
                          {"state", "active"},       {"name", or_null(spec->name)}};
    ctx.emit(doc, uid + "\n");
    return 0;
  };
}

void setup_kmip_get_key(CLI::App& app, Runner& run) {
  struct Opts {
    bool reveal = false;
  };
  auto o = std::make_shared<Opts>();
  auto uid = add_uid(app);
  app.add_flag("--reveal", o->reveal,
               "Also print the key bytes (hex); on a terminal only after a confirmation");
  run = [o, uid](Context& ctx) {
    if (o->reveal && ::isatty(STDOUT_FILENO) == 1 &&
        !confirm_on_tty(fmt::format("Print the secret key bytes of '{}' on this terminal?", *uid)))
      fail(ErrorKind::Refused, "the key bytes are not printed on a terminal without a confirmation",
           "redirect standard output to a file or a pipe, or answer y");
    KmipKeyResult r = get_kmip_key(require_kmip_config(ctx.store_dir()), *uid, o->reveal);
    const auto& a = r.attributes;
    nlohmann::json doc = {{"unique_identifier", a.unique_identifier},
                          {"object_type", a.object_type},
                          {"algorithm", or_null(a.algorithm)},
                          {"length", a.length},
                          {"state", or_null(a.state)},
                          {"name", a.names.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.names.front())},
                          {"names", a.names},
                          {"key_format", or_null(r.format)}};
    Block b;
    b.add("unique identifier", a.unique_identifier)
        .add("object type", a.object_type)
        .add("algorithm", a.algorithm.empty() ? "-" : a.algorithm)
        .add("length", a.length != 0 ? fmt::format("{} bits", a.length) : "-")
        .add("state", a.state.empty() ? "-" : a.state)
        .add("name", list_or_dash(a.names))
        .add("retrievable", "yes");
    std::string key_hex;
    if (r.key) {
      key_hex = hex(r.key->view());
      doc["key_hex"] = key_hex;
      b.add("key", key_hex);
    }
    ctx.emit(doc, b.str());
    OPENSSL_cleanse(key_hex.data(), key_hex.size());
    if (doc.contains("key_hex")) {
      auto& s = doc["key_hex"].get_ref<std::string&>();
      OPENSSL_cleanse(s.data(), s.size());
    }
    return 0;
  };
}

void setup_kmip_destroy_key(CLI::App& app, Runner& run) {
  auto uid = add_uid(app);
  run = [uid](Context& ctx) {
    KmipDestroyResult r = destroy_kmip_key(require_kmip_config(ctx.store_dir()), *uid);
    spdlog::info("kmip destroy-key: {}destroyed '{}'", r.revoked ? "revoked and " : "", *uid);
    ctx.emit({{"unique_identifier", *uid}, {"revoked", r.revoked}, {"destroyed", true}},
             fmt::format("destroyed key {}{}\n", *uid, r.revoked ? " (revoked first)" : ""), true);
    return 0;
  };
}

void setup_kmip_locate(CLI::App& app, Runner& run) {
  auto name = std::make_shared<std::string>();
  app.add_option("--name", *name, "The Name attribute of the keys to find")->required();
  run = [name](Context& ctx) {
    std::vector<std::string> uids = locate_kmip_keys(require_kmip_config(ctx.store_dir()), *name);
    std::string human;
    for (const auto& u : uids) human += u + "\n";
    ctx.emit({{"name", *name}, {"unique_identifiers", uids}}, human);
    return 0;
  };
}

void setup_kmip_encrypt(CLI::App& app, Runner& run) {
  auto req = std::make_shared<EncryptRequest>();
  app.add_option("--key", req->key_uid, "Use this existing AES key on the server instead of creating one");
  app.add_option("--name", req->name, "Name attribute of the key created for the store")->default_val("applctl-store");
  app.add_option("--bits", req->bits, "AES length of the key created for the store: 128 or 256")
      ->default_val(256)
      ->check(CLI::IsMember({128, 256}));
  run = [req](Context& ctx) {
    EncryptResult r = encrypt_store(ctx.store_dir(), *req);
    spdlog::info("kmip encrypt: {} with key '{}' on {}", r.changed ? "encrypted" : "already encrypted", r.unique_identifier, r.server);
    nlohmann::json doc = {{"changed", r.changed},          {"encrypted", true},
                          {"unique_identifier", r.unique_identifier}, {"created_key", r.created_key},
                          {"server", r.server},            {"bytes", r.bytes}};
    ctx.emit(doc,
             r.changed ? fmt::format("encrypted the store with {}key {} on {} ({} bytes)\n", r.created_key ? "the new " : "",
                                     r.unique_identifier, r.server, r.bytes)
                       : fmt::format("the store is already encrypted with key {}; nothing changed\n", r.unique_identifier),
             true);
    return 0;
  };
}

void setup_kmip_decrypt(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    DecryptResult r = decrypt_store(ctx.store_dir());
    spdlog::info("kmip decrypt: {}", r.changed ? "decrypted" : "not encrypted");
    nlohmann::json doc = {{"changed", r.changed},
                          {"encrypted", false},
                          {"unique_identifier", or_null(r.unique_identifier)},
                          {"bytes", r.bytes}};
    ctx.emit(doc,
             r.changed ? fmt::format("decrypted the store ({} bytes); key {} stays on the server until you destroy it\n",
                                     r.bytes, r.unique_identifier)
                       : std::string("the store is not encrypted; nothing changed\n"),
             true);
    return 0;
  };
}

void setup_kmip_status(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    KmipStatus s = kmip_status(ctx.store_dir(), load_kmip_config(ctx.store_dir()));
    nlohmann::json doc = {{"configured", s.configured},
                          {"host", or_null(s.host)},
                          {"port", s.configured ? nlohmann::json(s.port) : nlohmann::json(nullptr)},
                          {"encrypted", s.encrypted},
                          {"key_unique_identifier", or_null(s.key_unique_identifier)}};
    if (!s.configured) {
      ctx.emit(doc, "kmip: not configured\n");
      return 0;
    }
    doc["username"] = or_null(s.username);
    doc["timeout"] = s.timeout_seconds;
    doc["version"] = s.version ? nlohmann::json(s.version->str()) : nlohmann::json(nullptr);
    doc["configured_at"] = format_rfc3339(s.configured_at);
    doc["ca_subjects"] = s.ca_subjects;
    doc["client_certificate"] = {{"subject", s.client_subject},
                                 {"fingerprint_sha256", s.client_fingerprint_sha256},
                                 {"not_after", format_rfc3339(s.client_not_after)}};
    Block b;
    b.add("server", s.server)
        .add("kmip version", s.version ? s.version->str() : "not negotiated yet")
        .add("username", s.username.empty() ? "-" : s.username)
        .add("timeout", fmt::format("{} s", s.timeout_seconds))
        .add("client certificate", fmt::format("{} (expires {})", s.client_subject, date_of(s.client_not_after)))
        .add("ca", list_or_dash(s.ca_subjects))
        .add("configured", format_rfc3339(s.configured_at))
        .add("encrypted at rest", s.encrypted ? "yes, key " + s.key_unique_identifier : "no");
    doc["last_test"] = nullptr;
    if (const auto& t = s.last_test) {
      doc["last_test"] = {{"time", format_rfc3339(t->time)}, {"server", t->server}, {"ok", t->ok}};
      if (t->ok) {
        doc["last_test"]["version"] = t->version;
        doc["last_test"]["vendor"] = t->vendor;
      } else {
        doc["last_test"]["error"] = t->error;
      }
      b.add("last test", t->ok ? fmt::format("ok, {} (KMIP {})", format_rfc3339(t->time), t->version)
                               : fmt::format("failed, {}: {}", format_rfc3339(t->time), t->error));
    }
    ctx.emit(doc, b.str());
    return 0;
  };
}

}  // namespace applctl::cli
