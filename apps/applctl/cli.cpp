// Global options, dispatch through the command table, and the one place where errors and verdicts
// become exit codes (applctl(1), EXIT STATUS).
#include "cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "applctl/base/error.hpp"

namespace applctl::cli {

namespace {

std::string default_store_dir() {
  if (const char* s = std::getenv("APPLCTL_STORE"); s != nullptr && *s != '\0') return s;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x != nullptr && *x != '\0') return std::string(x) + "/applctl";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') return std::string(h) + "/.local/share/applctl";
  fail(ErrorKind::Usage, "cannot find a store: none of --store, APPLCTL_STORE, XDG_DATA_HOME, HOME is set");
}

// spdlog's default logger writes to stdout; ours writes to stderr (and to --log-file), so stdout
// carries nothing but results.
void setup_logging(const Globals& g) {
  auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  err->set_pattern("applctl: %l: %v");
  err->set_level(g.quiet ? spdlog::level::err
                 : g.verbosity >= 2 ? spdlog::level::debug
                 : g.verbosity == 1 ? spdlog::level::info
                                    : spdlog::level::warn);
  std::vector<spdlog::sink_ptr> sinks{err};
  if (!g.log_file.empty()) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(g.log_file);
    file->set_pattern("%Y-%m-%dT%H:%M:%S%z applctl[%P] %l: %v");
    file->set_level(g.verbosity >= 2 ? spdlog::level::debug : spdlog::level::info);
    sinks.push_back(file);
  }
  auto logger = std::make_shared<spdlog::logger>("applctl", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string footer(const Verb& v) {
  const bool changes = v.store == StoreUse::Change || v.store == StoreUse::Write;
  return fmt::format("EXAMPLES:\n{}\nEXIT CODES:\n{}{}", v.examples, v.exit_codes,
                     changes ? "  5 also: another command held the store longer than APPLCTL_LOCK_TIMEOUT (default 30 s)\n"
                             : "");
}

// A message as it is shown and put in JSON: its lines through printable(). Certificate text is
// escaped where it enters (lib/x509); this is the last guard for anything else a message quotes
// (a file name, an argument): no terminal escape sequence, always valid UTF-8 for the JSON.
std::string message_text(std::string_view message) {
  std::string out;
  for (std::size_t start = 0;;) {
    const std::size_t nl = message.find('\n', start);
    out += printable(message.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    out += '\n';
    start = nl + 1;
  }
  return out;
}

// Every error on stderr, from `run` and from `verdict`: printed with -q too.
void print_error(std::string_view message, std::string_view hint) {
  std::cerr << "applctl: error: " << message_text(message) << '\n';
  if (!hint.empty()) std::cerr << "hint: " << message_text(hint) << '\n';
}

int report(const Error& e, bool json) {
  print_error(e.what(), e.hint());
  spdlog::debug("exit {}: {}", e.exit_code(), message_text(e.what()));
  if (json) {
    nlohmann::json doc = {
        {"error", {{"code", e.code()}, {"message", message_text(e.what())}, {"hint", message_text(e.hint())}}}};
    std::cout << doc.dump(2) << std::endl;
  }
  return e.exit_code();
}

bool argv_has_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--json") return true;
  return false;
}

// True when argv names the verb: its group and then its name appear in argv.
bool named(const Verb& v, int argc, char** argv) {
  int i = 1;
  if (*v.group)
    while (i < argc && std::string_view(argv[i]) != v.group) ++i;
  while (i < argc && std::string_view(argv[i]) != v.name) ++i;
  return i < argc;
}

}  // namespace

std::string Context::store_dir() const {
  return globals.store_dir.empty() ? default_store_dir() : globals.store_dir;
}

Store& Context::store() {
  if (!store_) {
    if (store_use == StoreUse::None) fail(ErrorKind::Failed, "internal: this command does not use the store");
    const bool create = store_use == StoreUse::Write ||
                        (store_use == StoreUse::Change && std::filesystem::exists(Store::database_path(store_dir())));
    store_ = Store::open(store_dir(), create ? Store::Mode::ReadWrite : Store::Mode::ReadOnly);
  }
  return *store_;
}

void Context::emit(const nlohmann::json& doc, const std::string& human, bool confirmation) const {
  if (globals.json) {
    std::cout << doc.dump(2) << '\n';
  } else if (!(confirmation && globals.quiet)) {
    std::cout << human;
    if (!human.empty() && human.back() != '\n') std::cout << '\n';
  }
  std::cout.flush();
}

void Context::emit_json_array(std::size_t count, const std::function<void(std::string&, std::size_t, int)>& append) const {
  if (count == 0) {
    std::cout << "[]\n";
    std::cout.flush();
    return;
  }
  // The same text as dump(2) of the whole array.
  std::string out = "[\n";
  for (std::size_t i = 0; i < count; ++i) {
    out += "  ";
    append(out, i, 2);
    out += i + 1 < count ? ",\n" : "\n]\n";
    if (out.size() >= 1 << 16) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out;
  std::cout.flush();
}

CommandLine::CommandLine(const std::function<bool(const Verb&)>& build, const std::function<bool(const Group&)>& list) {
  app.set_version_flag("--version", std::string("applctl ") + APPLCTL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--store", globals.store_dir, "Store directory (default: $APPLCTL_STORE, $XDG_DATA_HOME/applctl)");
  app.add_flag("--json", globals.json, "Print one JSON document on stdout");
  app.add_flag("-q,--quiet", globals.quiet, "Only errors on stderr; no confirmations on stdout");
  app.add_flag("-v,--verbose", globals.verbosity, "More log output on stderr (-vv: debug)");
  app.add_option("--log-file", globals.log_file, "Also append logs to FILE");
  app.footer(
      "EXIT CODES:\n  0 success, 1 failed, 2 usage, 3 verification failed, 4 not found, 5 refused by a rule,\n"
      "  6 bad input, 7 remote service failed, 10 cert check: expiring, 11 cert renew: nothing due\n"
      "See applctl(1) and applctl-<group>(1).");

  std::map<std::string, CLI::App*, std::less<>> group_apps;  // the groups whose verbs are listed
  for (const auto& grp : groups()) {
    CLI::App* sub = app.add_subcommand(grp.name, grp.summary);
    sub->require_subcommand(1);
    sub->fallthrough();
    if (list(grp)) group_apps[grp.name] = sub;
  }
  for (const auto& v : verbs()) {
    auto listed = group_apps.find(std::string_view(v.group));
    if (*v.group && listed == group_apps.end()) continue;
    CLI::App* parent = *v.group ? listed->second : &app;
    CLI::App* sub = parent->add_subcommand(v.name, v.summary);
    sub->fallthrough();
    if (!build(v)) continue;
    sub->footer(footer(v));
    auto runner = std::make_shared<Runner>();  // kept alive by the callback, which the tree owns
    v.setup(*sub, *runner);
    sub->callback([this, runner, use = v.store] {
      chosen = *runner;
      chosen_use = use;
    });
  }
}

int verdict(int code, const std::vector<std::string>& errors) {
  for (const auto& e : errors) print_error(e, {});
  spdlog::debug("exit {}: the verdict", code);
  return code;
}

int run(int argc, char** argv) {
  const bool json_early = argv_has_json(argc, argv);
  // Building a CLI11 subcommand costs about as much as a small verb's work, so the tree leaves
  // out the verbs of the groups argv does not name.
  CommandLine cl([argc, argv](const Verb& v) { return named(v, argc, argv); },
                 [argc, argv](const Group& grp) { return std::find(argv + 1, argv + argc, std::string_view(grp.name)) != argv + argc; });
  CLI::App& app = cl.app;
  const Globals& g = cl.globals;

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      std::cout << app.help();
      return 0;
    } catch (const CLI::CallForAllHelp&) {
      std::cout << app.help("", CLI::AppFormatMode::All);
      return 0;
    } catch (const CLI::CallForVersion&) {
      std::cout << app.version() << '\n';
      return 0;
    } catch (const CLI::ParseError& e) {
      // CLI11's own codes never escape: every parse failure is a usage error (exit 2), with the
      // usage line of the command that was being parsed.
      const CLI::App* deepest = &app;
      std::string path = "applctl";
      while (!deepest->get_subcommands().empty()) {
        deepest = deepest->get_subcommands().front();
        path += " " + deepest->get_name();
      }
      std::string message = e.what();
      if (message.starts_with("A subcommand is required")) {
        // "A subcommand is required": name the word that is not a command, if there is one.
        int at = 1;
        for (const CLI::App* a = deepest; a != &app; a = a->get_parent())
          while (at < argc && a->get_name() != argv[at]) ++at;
        for (int i = deepest == &app ? 1 : at + 1; i < argc; ++i) {
          std::string_view word = argv[i];
          if (word.starts_with("-")) {
            if (word == "--store" || word == "--log-file") ++i;
            continue;
          }
          message = fmt::format("'{}' is not a command of '{}'", word, path);
          break;
        }
      }
      std::string help = deepest->help();
      std::string usage = help.substr(0, help.find('\n'));
      if (auto pos = help.find("Usage: "); pos != std::string::npos) usage = help.substr(pos, help.find('\n', pos) - pos);
      // CLI11 names only the last command ("Usage: create [OPTIONS]"); say the whole command.
      if (usage.starts_with("Usage: ")) {
        auto end = usage.find(' ', 7);
        usage = "Usage: " + path + (end == std::string::npos ? "" : usage.substr(end));
      }
      throw Error(ErrorKind::Usage, message, usage + "  (see --help)");
    }
    setup_logging(g);
    Context ctx(g);
    ctx.store_use = cl.chosen_use;
    ctx.argv.assign(argv, argv + argc);
    ctx.argv.push_back(nullptr);
    return cl.chosen(ctx);
  } catch (const Error& e) {
    return report(e, g.json || json_early);
  } catch (const std::exception& e) {
    return report(Error(ErrorKind::Failed, fmt::format("internal error: {}", e.what())), g.json || json_early);
  }
}

}  // namespace applctl::cli
