// applctl cert list | show | self-signed | import | export | bundle | rename | remove | default | check
// (applctl-cert(1)). cert renew, with its report of renewed, pending and failed certificates, is
// in cmd_cert_renew.cpp.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/services/bundle.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/import.hpp"
#include "applctl/base/timeutil.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

namespace {

std::shared_ptr<std::string> add_cert_ref(CLI::App& app) {
  auto ref = std::make_shared<std::string>();
  app.add_option("CERT", *ref, "Friendly name or SHA-256 fingerprint prefix (>= 8 hex digits)")->required();
  return ref;
}

}  // namespace

void setup_cert_list(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    auto list = list_certificates(ctx.store());
    if (ctx.globals.json)
      ctx.emit_json_array(list.size(), [&](std::string& out, std::size_t i, int indent) { append_json(out, list[i], indent); });
    else
      ctx.emit(nlohmann::json(), list.empty() ? "no certificates\n" : cert_table(list));
    return 0;
  };
}

void setup_cert_show(CLI::App& app, Runner& run) {
  auto ref = add_cert_ref(app);
  run = [ref](Context& ctx) {
    CertDetails d = show_certificate(ctx.store(), *ref);
    ctx.emit(to_json(d), cert_details_block(d));
    return 0;
  };
}

void setup_cert_self_signed(CLI::App& app, Runner& run) {
  struct Opts {
    SelfSignedRequest req;
    std::string key = "rsa:3072";
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--name", o->req.name, "Friendly name of the new certificate")->required();
  add_key_flag(app, o->key);
  add_subject_flags(app, o->req.subject);
  add_san_flag(app, o->req.sans);
  app.add_option("--days", o->req.days, "Validity in days")->default_val(365)->check(CLI::Range(1, 36500));
  run = [o](Context& ctx) {
    o->req.key = KeySpec::parse(o->key);
    CertSummary c = create_self_signed(ctx.store(), o->req);
    spdlog::info("cert self-signed: created '{}' ({})", c.row.friendly_name, c.row.fingerprint_sha256);
    ctx.emit(to_json(c), cert_block(c));
    return 0;
  };
}

void setup_cert_import(CLI::App& app, Runner& run) {
  struct Opts {
    ImportRequest req;
    std::string name;
    SecretSource pass;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("FILE", o->req.files, "DER, PEM, PKCS#7 or PKCS#12 files, certificates and keys")->required();
  app.add_option("--name", o->name, "Friendly name for the server certificate");
  add_passphrase_flags(app, o->pass);
  run = [o](Context& ctx) {
    if (!o->name.empty()) o->req.name = o->name;
    o->req.passphrase = o->pass.getter("Passphrase of the file", false);
    o->req.passphrase_given = !o->pass.file.empty() || !o->pass.env.empty();
    ImportResult r = import_files(ctx.store(), o->req);
    nlohmann::json arr = nlohmann::json::array();
    Table t({"NAME", "STATUS", "ROLE", "KEY", "FINGERPRINT", "WARNINGS"});
    for (const auto& c : r.certificates) {
      nlohmann::json j = to_json(c.summary);
      j["status"] = c.status;
      if (!c.fulfilled_request.empty()) j["fulfilled_request"] = c.fulfilled_request;
      if (!c.replaced.empty()) j["replaced"] = c.replaced;
      if (!c.replaced_name.empty()) j["replaced_name"] = c.replaced_name;
      if (!c.name_changes.empty()) j["name_changes"] = c.name_changes;
      arr.push_back(j);
      std::string codes;
      for (const auto& w : c.summary.warnings) codes += (codes.empty() ? "" : ",") + w.code;
      t.add({c.summary.row.friendly_name, c.status, std::string(role_name(c.summary.row.role)),
             c.summary.has_key ? "yes" : "no", c.summary.row.fingerprint_sha256.substr(0, 16), codes.empty() ? "-" : codes});
      spdlog::info("cert import: '{}' {} ({})", c.summary.row.friendly_name, c.status, c.summary.row.fingerprint_sha256);
    }
    std::string human = t.str();
    for (const auto& c : r.certificates) {
      if (!c.replaced.empty())
        human += fmt::format("replaced '{}' ({}) in place\n", c.replaced_name, c.replaced.substr(0, 16));
      if (!c.name_changes.empty())
        human += fmt::format("name '{}' made from the certificate: {}\n", c.summary.row.friendly_name,
                             fmt::join(c.name_changes, "; "));
    }
    if (r.keys_added > 0) human += fmt::format("private keys added: {}\n", r.keys_added);
    if (!r.unattached_keys.empty())
      human += fmt::format("keys waiting for their certificate: {}\n", r.unattached_keys.size());
    ctx.emit(arr, human);
    return 0;
  };
}

void setup_cert_export(CLI::App& app, Runner& run) {
  struct Opts {
    ExportRequest req;
    std::string format;
    std::string out;
    bool force = false;
    SecretSource pass;
  };
  auto o = std::make_shared<Opts>();
  o->req.ref = "";
  app.add_option("CERT", o->req.ref, "Friendly name or fingerprint prefix")->required();
  app.add_option("--format", o->format, "der | pem | p7b | pkcs8 | p12")
      ->required()
      ->check(CLI::IsMember({"der", "pem", "p7b", "pkcs8", "p12"}));
  app.add_flag("--with-key", o->req.with_key, "Include the private key (encrypted)");
  app.add_flag("--with-chain", o->req.with_chain, "Include the intermediates and root");
  app.add_flag("--legacy", o->req.legacy, "p12: 3DES/RC2-40 with a SHA-1 MAC, for old Windows and Java");
  app.add_flag("--no-passphrase", o->req.no_passphrase, "Write the key unencrypted (needs --insecure; pem, pkcs8)");
  app.add_flag("--insecure", o->req.insecure, "Confirm --no-passphrase");
  app.add_option("-o,--out", o->out, "Output FILE, or - for standard output")->required();
  app.add_flag("--force", o->force, "Overwrite FILE if it exists");
  add_passphrase_flags(app, o->pass);
  run = [o](Context& ctx) {
    o->req.format = parse_export_format(o->format);
    // -o -: the data on stdout (as apply -f - reads stdin), the confirmation on stderr.
    const bool to_stdout = o->out == "-";
    if (to_stdout && ctx.globals.json)
      fail(ErrorKind::Usage, "--json with -o -: the JSON document and the exported data would share stdout",
           "write the data to a file (-o FILE) or drop --json");
    const bool binary = o->req.format == ExportFormat::Der || o->req.format == ExportFormat::P12;
    if (to_stdout && binary && ::isatty(STDOUT_FILENO))
      fail(ErrorKind::Refused, fmt::format("--format {} is binary: not written to a terminal", o->format),
           "redirect it (-o - > FILE, | openssl ...) or give -o FILE");
    if (!to_stdout) refuse_existing(o->out, o->force);
    o->req.passphrase = o->pass.getter("Passphrase to encrypt the private key", true);
    ExportResult r = export_certificate(ctx.store(), o->req);
    if (to_stdout) {
      if (std::fwrite(r.data.data(), 1, r.data.size(), stdout) != r.data.size() || std::fflush(stdout) != 0)
        fail(ErrorKind::Failed, fmt::format("cannot write the export to standard output: {}", std::strerror(errno)));
    } else {
      write_file_atomic(o->out, r.data, r.contains_key ? 0600 : 0644, o->force);
    }
    spdlog::info("cert export: '{}' as {} to {}{}", r.row.friendly_name, o->format, to_stdout ? "stdout" : o->out,
                 r.contains_key ? " (with private key)" : "");
    const std::string human =
        fmt::format("exported '{}' as {} to {} ({} certificate{}{})\n", r.row.friendly_name, o->format,
                    to_stdout ? "standard output" : o->out, r.chain.size(), r.chain.size() == 1 ? "" : "s",
                    !r.contains_key        ? ""
                    : o->req.no_passphrase ? ", private key IN THE CLEAR"
                                           : ", private key encrypted");
    if (to_stdout) {
      if (!ctx.globals.quiet) std::fputs(human.c_str(), stderr);
      return 0;
    }
    nlohmann::json doc = {{"friendly_name", r.row.friendly_name},
                          {"fingerprint_sha256", r.row.fingerprint_sha256},
                          {"format", o->format},
                          {"file", o->out},
                          {"private_key", r.contains_key},
                          {"certificates", r.chain}};
    if (r.contains_key) doc["key_encrypted"] = !o->req.no_passphrase;  // no key written: no such field
    ctx.emit(doc, human, true);
    return 0;
  };
}

void setup_cert_bundle(CLI::App& app, Runner& run) {
  struct Opts {
    std::string ref, out;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("CERT", o->ref, "Friendly name or fingerprint prefix")->required();
  app.add_option("-o,--out", o->out, "The .zip to write")->required();
  app.add_flag("--force", o->force, "Overwrite FILE if it exists");
  run = [o](Context& ctx) {
    refuse_existing(o->out, o->force);
    BundleResult b = make_bundle(ctx.store(), o->ref);
    write_file_atomic(o->out, b.zip, 0644, o->force);
    spdlog::info("cert bundle: '{}' to {}", b.row.friendly_name, o->out);
    ctx.emit({{"friendly_name", b.row.friendly_name}, {"fingerprint_sha256", b.row.fingerprint_sha256},
              {"file", o->out}, {"files", b.files}},
             fmt::format("wrote {} with {}\n", o->out, fmt::join(b.files, ", ")), true);
    return 0;
  };
}

void setup_cert_rename(CLI::App& app, Runner& run) {
  auto ref = add_cert_ref(app);
  auto name = std::make_shared<std::string>();
  app.add_option("NEW_NAME", *name, "The new friendly name")->required();
  run = [ref, name](Context& ctx) {
    CertSummary c = rename_certificate(ctx.store(), *ref, *name);
    spdlog::info("cert rename: '{}' -> '{}'", *ref, *name);
    ctx.emit(to_json(c), fmt::format("renamed '{}' to '{}'\n", *ref, c.row.friendly_name), true);
    return 0;
  };
}

void setup_cert_remove(CLI::App& app, Runner& run) {
  auto ref = add_cert_ref(app);
  auto force = std::make_shared<bool>(false);
  app.add_flag("--force", *force, "Also when assigned: move its IP addresses back to the factory default");
  run = [ref, force](Context& ctx) {
    RemoveResult r = remove_certificate(ctx.store(), *ref, *force);
    spdlog::info("cert remove: '{}' ({})", r.removed.friendly_name, r.removed.fingerprint_sha256);
    nlohmann::json doc = {{"friendly_name", r.removed.friendly_name},
                          {"fingerprint_sha256", r.removed.fingerprint_sha256},
                          {"moved_ips", r.moved_ips},
                          {"was_default", r.was_default}};
    std::string human = fmt::format("removed '{}'\n", r.removed.friendly_name);
    if (!r.moved_ips.empty())
      human += fmt::format("moved to the factory default certificate: {}\n", fmt::join(r.moved_ips, ", "));
    ctx.emit(doc, human, true);
    return 0;
  };
}

void setup_cert_default(CLI::App& app, Runner& run) {
  auto ref = add_cert_ref(app);
  run = [ref](Context& ctx) {
    CertSummary c = set_default_certificate(ctx.store(), *ref);
    spdlog::info("cert default: '{}'", c.row.friendly_name);
    ctx.emit(to_json(c), fmt::format("'{}' is now the default certificate\n", c.row.friendly_name), true);
    return 0;
  };
}

void setup_cert_check(CLI::App& app, Runner& run) {
  struct Opts {
    std::vector<std::string> refs;
    std::string window = "30d";
  };
  auto o = std::make_shared<Opts>();
  app.add_option("CERT", o->refs, "Certificates to check (default: all)");
  app.add_option("--expires-in", o->window, "Window, like 30d or 12h")->default_str("30d");
  run = [o](Context& ctx) {
    CheckRequest req{o->refs, parse_duration(o->window)};
    CheckResult r = check_certificates(ctx.store(), req);
    // Only the form that is printed is built (a store may hold tens of thousands).
    const bool json = ctx.globals.json;
    nlohmann::json arr = nlohmann::json::array();
    Table t({"NAME", "EXPIRES", "DAYS LEFT", "STATUS"});
    int code = r.attention ? 10 : 0;
    std::vector<std::string> errors;
    for (const auto& e : r.entries) {
      if (e.status == "not-found" || e.status == "ambiguous") {
        if (json)
          arr.push_back({{"friendly_name", e.row.friendly_name}, {"status", e.status}, {"error", e.error}});
        else
          t.add({e.row.friendly_name, "-", "-", e.status});
        errors.push_back(e.error);
        code = e.status == "not-found" ? 4 : 5;
        continue;
      }
      if (json)
        arr.push_back({{"friendly_name", e.row.friendly_name},
                       {"fingerprint_sha256", e.row.fingerprint_sha256},
                       {"not_after", format_rfc3339(e.row.not_after)},
                       {"seconds_left", e.seconds_left},
                       {"days_left", e.seconds_left / 86400},
                       {"status", e.status}});
      else
        t.add({e.row.friendly_name, format_rfc3339(e.row.not_after), std::to_string(e.seconds_left / 86400), e.status});
    }
    ctx.emit_built(
        [&] {
          return nlohmann::json{{"checked_at", format_rfc3339(r.checked_at)},
                                {"expires_in", format_duration(r.window)},
                                {"ok", !r.attention && !r.unresolved},
                                {"certificates", std::move(arr)}};
        },
        [&] { return r.entries.empty() ? std::string("no certificates\n") : t.str(); });
    return verdict(code, errors);
  };
}

}  // namespace applctl::cli
