// applctl csr create | list | show | remove (applctl-csr(1)).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "applctl/services/requests.hpp"
#include "cli.hpp"
#include "render.hpp"

namespace applctl::cli {

void setup_csr_create(CLI::App& app, Runner& run) {
  struct Opts {
    CsrRequest req;
    std::string key = "rsa:3072";
    std::string out;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--name", o->req.name, "Friendly name of the request (and of the certificate it becomes)")->required();
  add_key_flag(app, o->key);
  add_subject_flags(app, o->req.subject);
  add_san_flag(app, o->req.sans);
  app.add_option("-o,--out", o->out, "Write the PEM request to FILE instead of stdout");
  app.add_flag("--force", o->force, "Overwrite FILE if it exists");
  run = [o](Context& ctx) {
    o->req.key = KeySpec::parse(o->key);
    refuse_existing(o->out, o->force);  // before the store changes: a failing command changes nothing
    CsrCreated c = create_request(ctx.store(), o->req);
    spdlog::info("csr create: request '{}' ({})", c.row.friendly_name, c.row.fingerprint_sha256);
    if (!o->out.empty()) write_file_atomic(o->out, as_bytes(c.pem), 0644, o->force);
    nlohmann::json doc = to_json(c.row);
    doc["pem"] = c.pem;
    ctx.emit(doc, o->out.empty() ? c.pem : request_block(c.row) + fmt::format("written to: {}\n", o->out),
             !o->out.empty());
    return 0;
  };
}

void setup_csr_list(CLI::App&, Runner& run) {
  run = [](Context& ctx) {
    auto rows = list_requests(ctx.store());
    nlohmann::json arr = nlohmann::json::array();
    Table t({"ID", "NAME", "SUBJECT", "ALT NAMES", "KEY", "CREATED"});
    for (const auto& r : rows) {
      arr.push_back(to_json(r));
      t.add({std::to_string(r.id), r.friendly_name, r.subject,
             r.alt_names.empty() ? "-" : fmt::format("{}", fmt::join(r.alt_names, ", ")), r.key_spec,
             date_of(r.created)});
    }
    ctx.emit(arr, rows.empty() ? "no pending requests\n" : t.str());
    return 0;
  };
}

void setup_csr_show(CLI::App& app, Runner& run) {
  auto ref = std::make_shared<std::string>();
  app.add_option("REQUEST", *ref, "Request id or friendly name")->required();
  run = [ref](Context& ctx) {
    CsrCreated c = show_request(ctx.store(), *ref);
    nlohmann::json doc = to_json(c.row);
    doc["pem"] = c.pem;
    ctx.emit(doc, c.pem);
    return 0;
  };
}

void setup_csr_remove(CLI::App& app, Runner& run) {
  auto ref = std::make_shared<std::string>();
  app.add_option("REQUEST", *ref, "Request id or friendly name")->required();
  run = [ref](Context& ctx) {
    RequestRow r = remove_request(ctx.store(), *ref);
    spdlog::info("csr remove: request '{}'", r.friendly_name);
    ctx.emit(to_json(r), fmt::format("removed request '{}' (id {})\n", r.friendly_name, r.id), true);
    return 0;
  };
}

}  // namespace applctl::cli
