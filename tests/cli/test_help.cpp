// Keeps the command table, every verb's --help and the man pages in step (style.md points 3, 18).
// The table is read from the binary itself (`applctl --help`, `applctl GROUP --help`), never from a
// copied list: a verb added to apps/applctl/commands.cpp without its man page section, or a man page
// section left behind for a verb that is gone, fails here.
#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "harness.hpp"
#include "help_text.hpp"

namespace {
using clitest::first_column;
using clitest::help_flags;
using clitest::help_section;
using clitest::lines_of;
using clitest::lower;
using clitest::Result;
using clitest::trim;
namespace fs = std::filesystem;

const fs::path kManDir = fs::path(APPLCTL_SOURCE_DIR) / "man";

Result applctl(std::vector<std::string> args) {
  args.insert(args.begin(), APPLCTL_BIN);
  return clitest::run_process(args);
}

// The exit codes listed in a help text's EXIT CODES section ("  0 success; 1 failed; 4 no such").
std::set<int> help_exit_codes(const std::string& help) {
  std::set<int> out;
  std::string text;
  for (const auto& line : help_section(help, "EXIT CODES")) text += trim(line) + "\n";
  static const std::regex code(R"((?:^|[;,\n])\s*(\d+)\s)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), code); it != std::sregex_iterator(); ++it)
    out.insert(std::stoi((*it)[1]));
  return out;
}

// What a reader sees of roff source, near enough to search: \- -> -, font escapes removed.
std::string unroff(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[i + 1];
      if (c == '-' || c == 'e' || c == '&' || c == '%') {
        out += c == '-' ? "-" : c == 'e' ? "\\" : "";
        ++i;
        continue;
      }
      if (c == 'f' && i + 2 < s.size()) {
        i += 2;
        continue;
      }
      if (c == 'c') {
        ++i;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// True when word occurs in text with no letter, digit, '-' or '_' right before or after it.
bool contains_word(const std::string& text, const std::string& word) {
  for (auto pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
    bool left = pos == 0 || !word_char(text[pos - 1]);
    bool right = pos + word.size() >= text.size() || !word_char(text[pos + word.size()]);
    if (left && right) return true;
  }
  return false;
}

struct ManPage {
  fs::path path;
  std::vector<std::string> lines;
  // .SS "applctl cert list" -> "cert list": the raw lines up to the next .SS or .SH.
  std::map<std::string, std::vector<std::string>> verbs;
  std::map<std::string, std::vector<std::string>> sections;  // .SH NAME -> raw lines

  std::string text(const std::vector<std::string>& ls) const {
    std::string t;
    for (const auto& l : ls) t += unroff(l) + "\n";
    return t;
  }
};

ManPage read_man(const fs::path& path) {
  ManPage page;
  page.path = path;
  page.lines = lines_of(clitest::slurp(path));
  static const std::regex ss(R"re(^\.SS\s+"?applctl\s+([^"]+?)"?\s*$)re");
  static const std::regex sh(R"re(^\.SH\s+"?([^"]+?)"?\s*$)re");
  std::vector<std::string>* verb = nullptr;
  std::vector<std::string>* section = nullptr;
  for (const auto& raw : page.lines) {
    std::string line = unroff(raw);
    std::smatch m;
    if (std::regex_match(line, m, sh)) {
      INFO(path << ": section " << m[1] << " twice");
      CHECK(page.sections.count(m[1]) == 0);
      section = &page.sections[m[1]];
      verb = nullptr;
      continue;
    }
    if (line.rfind(".SS", 0) == 0) {
      verb = nullptr;
      if (std::regex_match(line, m, ss)) {
        std::string name = std::regex_replace(std::string(m[1]), std::regex(R"(\s+)"), " ");
        INFO(path << ": .SS \"applctl " << name << "\" twice");
        CHECK(page.verbs.count(name) == 0);
        verb = &page.verbs[name];
      }
    }
    if (verb != nullptr) verb->push_back(raw);
    if (section != nullptr) section->push_back(raw);
  }
  return page;
}

// The command table as the binary shows it.
struct Table {
  std::string top_help;
  std::vector<std::string> top_verbs;                          // init, status
  std::map<std::string, std::vector<std::string>> groups;      // cert -> check, default, ...
  std::map<std::string, std::string> verb_help;                // "cert list" / "init" -> --help
};

const Table& command_table() {
  static const Table table = [] {
    Table t;
    Result top = applctl({"--help"});
    REQUIRE(top.code == 0);
    t.top_help = top.out;
    auto names = first_column(help_section(top.out, "Subcommands"));
    REQUIRE(!names.empty());
    for (const auto& name : names) {
      Result r = applctl({name, "--help"});
      INFO("applctl " << name << " --help: " << r.out << r.err);
      REQUIRE(r.code == 0);
      auto verbs = first_column(help_section(r.out, "Subcommands"));
      if (verbs.empty()) {
        t.top_verbs.push_back(name);
        t.verb_help[name] = r.out;
        continue;
      }
      t.groups[name] = verbs;
      for (const auto& v : verbs) {
        Result vr = applctl({name, v, "--help"});
        INFO("applctl " << name << " " << v << " --help: " << vr.out << vr.err);
        REQUIRE(vr.code == 0);
        t.verb_help[name + " " + v] = vr.out;
      }
    }
    return t;
  }();
  return table;
}

fs::path page_of(const std::string& group) {
  return group.empty() ? kManDir / "applctl.1" : kManDir / ("applctl-" + group + ".1");
}

// The man page section of one verb agrees with its --help: it names every flag and positional
// argument, and every exit code the help lists.
void check_verb_section(const ManPage& page, const std::string& verb, const std::string& help) {
  INFO("verb: applctl " << verb << " (" << page.path.filename().string() << ")");
  auto it = page.verbs.find(verb);
  CHECK(it != page.verbs.end());
  if (it == page.verbs.end()) return;
  const std::string body = page.text(it->second);
  for (const auto& flag : help_flags(help)) {
    INFO("flag " << flag << " of --help is not in the man page section");
    CHECK(contains_word(body, flag));
  }
  for (const auto& positional : first_column(help_section(help, "Positionals"))) {
    INFO("argument " << positional << " of --help is not in the man page section");
    CHECK(contains_word(body, positional));
  }
  auto codes = help_exit_codes(help);
  CHECK(codes.count(0) == 1);
  for (int code : codes) {
    INFO("exit code " << code << " of --help is not in the man page section as .B " << code);
    CHECK(std::find_if(it->second.begin(), it->second.end(), [&](const std::string& l) {
            return trim(l) == ".B " + std::to_string(code);
          }) != it->second.end());
  }
  // The synopsis has one line per verb.
  INFO("the SYNOPSIS does not show the verb");
  CHECK(page.sections.count("SYNOPSIS") == 1);
  if (page.sections.count("SYNOPSIS") == 1) CHECK(contains_word(page.text(page.sections.at("SYNOPSIS")), verb));
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((fs::path(d) / program).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("applctl --version prints its name and version, no arguments is a usage error", "[cli][help]") {
  Result v = applctl({"--version"});
  CHECK(v.code == 0);
  CHECK(std::regex_match(v.out, std::regex(R"(applctl \d+\.\d+\.\d+\S*\n?)")));

  Result none = applctl({});
  CHECK(none.code == 2);
  CHECK(none.out.empty());
  CHECK_FALSE(none.err.empty());

  for (const auto& [group, verbs] : command_table().groups) {
    INFO("applctl " << group << " without a verb");
    Result r = applctl({group});
    CHECK(r.code == 2);
    Result bogus = applctl({group, "no-such-verb"});
    CHECK(bogus.code == 2);
  }
}

TEST_CASE("every verb's --help has a usage line, EXAMPLES and EXIT CODES", "[cli][help]") {
  const Table& t = command_table();
  REQUIRE(!t.groups.empty());
  for (const auto& [verb, help] : t.verb_help) {
    INFO("applctl " << verb << " --help:\n" << help);
    CHECK(help.find("Usage:") != std::string::npos);
    CHECK(help.find("Usage: applctl " + verb) != std::string::npos);
    CHECK(help.find("EXAMPLES:") != std::string::npos);
    CHECK(help.find("EXIT CODES:") != std::string::npos);
    auto examples = help_section(help, "EXAMPLES");
    CHECK(std::any_of(examples.begin(), examples.end(),
                      [&](const std::string& l) { return l.find("applctl") != std::string::npos && contains_word(l, verb); }));
    CHECK(!help_exit_codes(help).empty());
  }
}

TEST_CASE("every group has a man page and every verb its section", "[cli][help]") {
  const Table& t = command_table();
  ManPage main_page = read_man(page_of(""));
  for (const auto& verb : t.top_verbs) check_verb_section(main_page, verb, t.verb_help.at(verb));

  REQUIRE(main_page.sections.count("COMMANDS") == 1);
  const auto& commands = main_page.sections.at("COMMANDS");
  for (const auto& [group, verbs] : t.groups) {
    // applctl(1) lists the group with all of its verbs and points to its page.
    auto entry = std::find_if(commands.begin(), commands.end(), [&](const std::string& l) {
      return unroff(l).rfind(".B applctl " + group + " ", 0) == 0;
    });
    {
      INFO("applctl(1) COMMANDS has no entry \".B applctl " << group << " VERB | VERB ...\"");
      CHECK(entry != commands.end());
    }
    for (const auto& v : verbs) {
      INFO("applctl(1) COMMANDS does not list " << group << " " << v);
      CHECK((entry != commands.end() && contains_word(unroff(*entry), v)));
    }
    {
      INFO("applctl(1) COMMANDS does not point to applctl-" << group << "(1)");
      CHECK(std::regex_search(main_page.text(commands), std::regex("applctl-" + group + R"(\s*\(1\))")));
    }

    INFO("group " << group << ", man page " << page_of(group).filename().string());
    CHECK(fs::exists(page_of(group)));
    if (!fs::exists(page_of(group))) continue;
    ManPage page = read_man(page_of(group));
    for (const auto& v : verbs) check_verb_section(page, group + " " + v, t.verb_help.at(group + " " + v));
  }
}

TEST_CASE("the man pages document nothing the binary does not have", "[cli][help]") {
  const Table& t = command_table();
  for (const auto& entry : fs::directory_iterator(kManDir)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".1") continue;
    INFO("man page " << file);
    ManPage page = read_man(entry.path());
    if (file == "applctl.1") {
      for (const auto& [verb, body] : page.verbs) {
        INFO(".SS \"applctl " << verb << "\" is not a top-level verb of the binary");
        CHECK(std::count(t.top_verbs.begin(), t.top_verbs.end(), verb) == 1);
      }
      continue;
    }
    REQUIRE(file.rfind("applctl-", 0) == 0);
    const std::string group = file.substr(8, file.size() - 8 - 2);
    {
      INFO("no group '" << group << "' in the binary: stale man page");
      CHECK(t.groups.count(group) == 1);
    }
    if (t.groups.count(group) == 0) continue;
    const auto& verbs = t.groups.at(group);
    for (const auto& [verb, body] : page.verbs) {
      INFO(".SS \"applctl " << verb << "\" is not a verb of the binary");
      CHECK(verb.rfind(group + " ", 0) == 0);
      CHECK((verb.rfind(group + " ", 0) == 0 &&
             std::count(verbs.begin(), verbs.end(), verb.substr(group.size() + 1)) == 1));
    }
  }
}

TEST_CASE("applctl(1) documents the global options and every exit code", "[cli][help]") {
  const Table& t = command_table();
  ManPage page = read_man(page_of(""));
  for (const char* s : {"NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT",
                        "FILES", "EXAMPLES", "SEE ALSO"}) {
    INFO("applctl(1) has no section " << s);
    CHECK(page.sections.count(s) == 1);
  }
  REQUIRE(page.sections.count("GLOBAL OPTIONS") == 1);
  const std::string options = page.text(page.sections.at("GLOBAL OPTIONS"));
  auto flags = help_flags(t.top_help);
  CHECK(std::count(flags.begin(), flags.end(), "--store") == 1);
  for (const auto& flag : flags) {
    INFO("global option " << flag << " is not in applctl(1) GLOBAL OPTIONS");
    CHECK(contains_word(options, flag));
  }
  // The binary's exit code summary, and the contract's table (cli.md), are both in EXIT STATUS.
  REQUIRE(page.sections.count("EXIT STATUS") == 1);
  const auto& status = page.sections.at("EXIT STATUS");
  std::set<int> documented;
  for (const auto& l : status) {
    std::smatch m;
    std::string line = trim(l);
    if (std::regex_match(line, m, std::regex(R"(\.B (\d+))"))) documented.insert(std::stoi(m[1]));
  }
  std::set<int> contract{0, 1, 2, 3, 4, 5, 6, 7, 10, 11};
  CHECK(help_exit_codes(t.top_help) == contract);
  CHECK(documented == contract);
  const std::string env = page.text(page.sections.at("ENVIRONMENT"));
  for (const char* var : {"APPLCTL_STORE", "XDG_DATA_HOME", "HOME", "APPLCTL_LOCK_TIMEOUT"}) {
    INFO("ENVIRONMENT does not describe " << var);
    CHECK(contains_word(env, var));
  }
}

TEST_CASE("every group page has the standard sections", "[cli][help]") {
  for (const auto& [group, verbs] : command_table().groups) {
    ManPage page = read_man(page_of(group));
    for (const char* s : {"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"}) {
      INFO(page.path.filename().string() << " has no section " << s);
      CHECK(page.sections.count(s) == 1);
    }
    INFO("NAME of " << page.path.filename().string() << " is not 'applctl-" << group << " - ...'");
    CHECK((page.sections.count("NAME") == 1 &&
           page.text(page.sections.at("NAME")).find("applctl-" + group + " -") != std::string::npos));
  }
}

TEST_CASE("the man pages render without groff warnings", "[cli][help]") {
  if (!on_path("man")) {
    WARN("man(1) is not installed: rendering not checked");
    return;
  }
  std::size_t pages = 0;
  for (const auto& entry : fs::directory_iterator(kManDir)) {
    if (entry.path().extension() != ".1") continue;
    ++pages;
    Result r = clitest::run_process({"man", "--warnings", "-l", "-Tutf8", entry.path().string()}, {{"MANWIDTH", "80"}});
    INFO(entry.path().filename().string() << ": " << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    std::string shown;  // without the overstrike (c BS c) that makes bold on a terminal
    for (char c : r.out) {
      if (c == '\b') {
        if (!shown.empty()) shown.pop_back();
      } else {
        shown += c;
      }
    }
    CHECK(shown.find("EXIT STATUS") != std::string::npos);
  }
  CHECK(pages == command_table().groups.size() + 1);
}
