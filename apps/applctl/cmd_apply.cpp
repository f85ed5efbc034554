// applctl apply | export-config (applctl(1), applctl-appliance(5)): the store to and from an
// APPLIANCE.yaml file.
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/provision/provision.hpp"
#include "cli.hpp"

namespace applctl::cli {

namespace {

nlohmann::json to_json(const PlanAction& a) {
  static const std::map<char, const char*> ops = {{'+', "create"}, {'~', "change"}, {'-', "remove"}};
  return {{"op", ops.at(a.op)}, {"kind", a.kind}, {"name", a.name}, {"detail", a.detail}};
}

std::string plan_text(const std::vector<PlanAction>& actions) {
  std::string out;
  int counts[3] = {0, 0, 0};
  for (const auto& a : actions) {
    out += fmt::format("{} {} {}{}\n", a.op, a.kind, a.name, a.detail.empty() ? "" : ": " + a.detail);
    ++counts[a.op == '+' ? 0 : a.op == '~' ? 1 : 2];
  }
  return out + fmt::format("plan: {} to create, {} to change, {} to remove\n", counts[0], counts[1], counts[2]);
}

}  // namespace

void setup_apply(CLI::App& app, Runner& run) {
  struct Opts {
    std::string file;
    bool dry_run = false;
    bool prune = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-f,--file", o->file, "The APPLIANCE.yaml file (see applctl-appliance(5)); - reads standard input")
      ->required();
  app.add_flag("--dry-run", o->dry_run, "Print the plan, change nothing");
  app.add_flag("--prune", o->prune,
               "Also remove certificates and IP addresses the file does not name (never the KMIP settings)");
  run = [o](Context& ctx) {
    ApplyRequest request{load_appliance_file(o->file), o->dry_run, o->prune};
    if (o->dry_run) ctx.store_use = StoreUse::Read;  // a dry run never creates the store
    ApplyResult r = apply_appliance(ctx.store(), request);
    for (const auto& w : r.warnings) spdlog::warn("apply: {}", w);
    nlohmann::json actions = nlohmann::json::array();
    for (const auto& a : r.actions) actions.push_back(to_json(a));
    std::string human;
    if (r.actions.empty()) human = fmt::format("no changes: the store already matches {}\n", o->file);
    else human = plan_text(r.actions) + (r.changed ? "applied\n" : "dry run: nothing changed\n");
    spdlog::info("apply {}: {} actions{}", o->file, r.actions.size(), r.changed ? ", applied" : "");
    ctx.emit({{"changed", r.changed}, {"dry_run", o->dry_run}, {"actions", actions}, {"warnings", r.warnings}}, human);
    return 0;
  };
}

void setup_export_config(CLI::App& app, Runner& run) {
  struct Opts {
    std::string dir;
    SecretSource passphrase;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-o,--output", o->dir, "Write DIR/appliance.yaml and DIR/certs/; default: one YAML document on stdout");
  add_passphrase_flags(app, o->passphrase);
  app.add_flag("--force", o->force, "Overwrite files in DIR");
  run = [o](Context& ctx) {
    if (o->dir.empty() && ctx.globals.json)
      fail(ErrorKind::Usage, "--json needs -o DIR: without it the YAML itself is the output");
    ExportConfigRequest request;
    if (!o->dir.empty()) request.dir = o->dir;
    request.passphrase.env = o->passphrase.env;
    if (!o->passphrase.file.empty()) request.passphrase.file = std::filesystem::absolute(o->passphrase.file).string();
    ExportConfigResult r = export_config(ctx.store(), request);
    const std::string password_note =
        r.kmip_password_env.empty()
            ? ""
            : fmt::format("the KMIP password is not exported: set {} before applying", r.kmip_password_env);
    if (!request.dir) {
      if (!password_note.empty()) spdlog::warn("export-config: {}", password_note);
      std::cout << r.yaml;
      return 0;
    }
    write_export(*request.dir, r, o->force);
    nlohmann::json files = nlohmann::json::array({"appliance.yaml"});
    for (const auto& f : r.files) files.push_back(f.path);
    const std::string yaml = (std::filesystem::path(o->dir) / "appliance.yaml").string();
    std::string human = fmt::format("wrote {} ({} certificates, {} with their key in passphrase-encrypted PKCS#12 files)\n",
                                    yaml, r.certificates, r.keys);
    if (r.kmip) human += "KMIP settings: kmip/ca.pem, kmip/client.p12 (the client key, encrypted the same way)\n";
    if (!password_note.empty()) human += password_note + "\n";
    human += fmt::format("apply it with: applctl apply -f {}\n", yaml);
    ctx.emit({{"directory", o->dir},
              {"file", yaml},
              {"files", files},
              {"certificates", r.certificates},
              {"keys", r.keys},
              {"kmip", r.kmip},
              {"kmip_password_env", r.kmip_password_env.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.kmip_password_env)}},
             human, true);
    return 0;
  };
}

}  // namespace applctl::cli
