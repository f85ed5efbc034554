// applctl completion bash|zsh: the scripts complete exactly the groups, verbs and flags the binary
// has (read from its --help, as test_help.cpp does), option values, and the global options.
#include <algorithm>

#include "harness.hpp"
#include "help_text.hpp"
#include "shell_completion.hpp"

namespace {
using clitest::bash_complete;
using clitest::first_column;
using clitest::help_flags;
using clitest::help_section;
using clitest::Result;
using clitest::zsh_complete;
namespace fs = std::filesystem;
using Words = std::vector<std::string>;

Result run_applctl(std::vector<std::string> args) {
  args.insert(args.begin(), APPLCTL_BIN);
  return clitest::run_process(args);
}

// `applctl completion SHELL`, written to a file that lives as long as the test.
struct Script {
  clitest::TempDir dir;
  fs::path path;
  explicit Script(const std::string& shell) : path(dir / ("applctl." + shell)) {
    Result r = run_applctl({"completion", shell});
    INFO(r.err);
    REQUIRE(r.code == 0);
    clitest::spit(path, r.out);
  }
};

Words sorted(Words w) {
  std::sort(w.begin(), w.end());
  return w;
}

Words subcommands(const std::vector<std::string>& args) {
  std::vector<std::string> help_args = args;
  help_args.push_back("--help");
  Result r = run_applctl(help_args);
  REQUIRE(r.code == 0);
  return sorted(first_column(help_section(r.out, "Subcommands")));
}

bool has_word(const Words& words, const std::string& w) { return std::find(words.begin(), words.end(), w) != words.end(); }

bool command_exists(const std::string& program) { return clitest::run_process({"sh", "-c", "command -v " + program}).code == 0; }

}  // namespace

TEST_CASE("completion bash: every group, verb and flag of the binary, and nothing else", "[cli][completion]") {
  Script bash("bash");
  const Words groups = subcommands({});
  REQUIRE(has_word(groups, "cert"));
  CHECK(bash_complete(bash.path, "applctl ") == groups);
  for (const auto& group : groups) {
    const Words verbs = subcommands({group});
    INFO("applctl " << group);
    if (!verbs.empty()) CHECK(bash_complete(bash.path, "applctl " + group + " ") == verbs);
    for (const auto& verb : verbs.empty() ? Words{""} : verbs) {
      std::vector<std::string> args{group};
      if (!verb.empty()) args.push_back(verb);
      args.push_back("--help");
      const std::string help = run_applctl(args).out;
      const Words completed = bash_complete(bash.path, "applctl " + group + " " + verb + (verb.empty() ? "-" : " -"));
      INFO("applctl " << group << " " << verb << " -<TAB>");
      for (const auto& flag : help_flags(help)) CHECK(has_word(completed, flag));
      CHECK(has_word(completed, "--help"));
      for (const auto& flag : completed) CHECK(help.find(flag) != std::string::npos);
    }
  }
}

TEST_CASE("completion bash: prefixes, option values and the global options", "[cli][completion]") {
  Script bash("bash");
  CHECK(bash_complete(bash.path, "applctl ce") == Words{"cert"});
  CHECK(bash_complete(bash.path, "applctl cert ex") == Words{"export"});
  CHECK(bash_complete(bash.path, "applctl cert export --fo") == Words{"--force", "--format"});
  CHECK(bash_complete(bash.path, "applctl cert export web --format ") == Words{"der", "p12", "p7b", "pem", "pkcs8"});
  CHECK(bash_complete(bash.path, "applctl cert export web --format p") == Words{"p12", "p7b", "pem", "pkcs8"});
  CHECK(bash_complete(bash.path, "applctl chain verify --purpose ") == Words{"any", "client", "server"});
  CHECK(bash_complete(bash.path, "applctl completion ") == Words{"bash", "zsh"});
  // Global options, before the group, and the words after an option's value.
  Words globals = bash_complete(bash.path, "applctl -");
  Result top = run_applctl({"--help"});
  for (const auto& flag : help_flags(top.out)) CHECK(has_word(globals, flag));
  CHECK(bash_complete(bash.path, "applctl --st") == Words{"--store"});
  CHECK(bash_complete(bash.path, "applctl --store cert ce") == Words{"cert"});  // "cert" here is the store
  CHECK(bash_complete(bash.path, "applctl -v --json --log-file x.log cert li") == Words{"list"});
  // An option's value that applctl does not name, and a positional: file names (complete -o default).
  CHECK(bash_complete(bash.path, "applctl cert export web -o ").empty());
  CHECK(bash_complete(bash.path, "applctl --store ").empty());
  Result spec = clitest::run_process({"bash", "-c", "source \"$1\" && complete -p applctl", "bash", bash.path.string()});
  CHECK(spec.out.find("-o default") != std::string::npos);
}

TEST_CASE("completion zsh: a zsh script that completes as the bash one does", "[cli][completion]") {
  if (!command_exists("zsh")) {
    WARN("zsh is not installed (scripts/setup installs it): the zsh script is not checked");
    return;
  }
  Script zsh("zsh"), bash("bash");
  CHECK(clitest::slurp(zsh.path).rfind("#compdef applctl\n", 0) == 0);
  Result syntax = clitest::run_process({"zsh", "-n", zsh.path.string()});
  INFO(syntax.err);
  CHECK(syntax.code == 0);
  for (const char* line : {"applctl ", "applctl ce", "applctl cert ", "applctl cert export --fo", "applctl cert export -",
                           "applctl cert export web --format ", "applctl chain verify --purpose s", "applctl -",
                           "applctl --store cert ce", "applctl completion "}) {
    INFO("applctl completion zsh: " << line);
    CHECK(zsh_complete(zsh.path, line) == bash_complete(bash.path, line));
  }
  CHECK(zsh_complete(zsh.path, "applctl cert import ") == Words{"<files>"});
  CHECK(zsh_complete(zsh.path, "applctl cert export web -o ") == Words{"<files>"});
}

TEST_CASE("completion: needs no store, --json, usage errors", "[cli][completion]") {
  clitest::Appliance a;
  Result plain = a.run({"completion", "bash"});
  CHECK(plain.code == 0);
  CHECK(plain.out.rfind("# bash completion for applctl", 0) == 0);
  CHECK_FALSE(fs::exists(a.store));
  auto doc = a.json({"completion", "zsh"});
  CHECK(doc["shell"] == "zsh");
  CHECK(doc["script"] == a.run({"completion", "zsh"}).out);
  CHECK(a.run({"completion"}).code == 2);
  Result fish = a.run({"completion", "fish"});
  CHECK(fish.code == 2);
  CHECK(fish.out.empty());
  CHECK(fish.err.find("Usage: applctl completion") != std::string::npos);
}
