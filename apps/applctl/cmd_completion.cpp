// applctl completion bash|zsh: completion scripts generated from the CLI11 tree of the command
// table, built with every verb's options, so they cannot drift from what the binary accepts. A
// script holds the tree as `case` functions, and a small function per shell walks them.
#include <sstream>

#include <fmt/format.h>

#include "cli.hpp"

namespace applctl::cli {

namespace {

struct Word {  // a subcommand, an option or an argument's value, with its summary
  std::string name;
  std::string summary;
};

struct ValueOption {  // an option that takes a value, and the values it accepts (empty: any)
  std::vector<std::string> names;
  std::vector<std::string> choices;
};

// One command of the tree: "" (applctl itself), "cert", "cert export".
struct CommandNode {
  std::string path;
  std::vector<Word> words;  // what may come next: subcommands, or the first argument's values
  std::vector<Word> options;
  std::vector<ValueOption> values;
};

// The values an option accepts when CLI::IsMember checks it: the "{a,b,c}" CLI11 appends to its
// type name (as --help shows it).
std::vector<std::string> choices_of(const CLI::Option& opt) {
  const std::string type = opt.get_type_name();
  const auto open = type.rfind('{');
  if (open == std::string::npos || type.back() != '}') return {};
  std::vector<std::string> out;
  std::istringstream in(type.substr(open + 1, type.size() - open - 2));
  for (std::string c; std::getline(in, c, ',');) out.push_back(c);
  return out;
}

void add_options(const CLI::App& app, CommandNode& node) {
  auto visible = [](const CLI::Option* o) { return o->nonpositional() && !o->get_group().empty(); };
  for (const CLI::Option* opt : app.get_options(visible)) {
    ValueOption value{{}, choices_of(*opt)};
    for (const auto& l : opt->get_lnames()) value.names.push_back("--" + l);
    for (const auto& s : opt->get_snames()) value.names.push_back("-" + s);
    for (const auto& n : value.names) node.options.push_back({n, opt->get_description()});
    if (opt->get_items_expected_max() > 0) node.values.push_back(std::move(value));
  }
}

void walk_tree(const CLI::App& app, const std::string& path, std::vector<CommandNode>& nodes) {
  CommandNode node{path, {}, {}, {}};
  add_options(app, node);
  auto subs = app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); });
  for (const CLI::App* sub : subs) node.words.push_back({sub->get_name(), sub->get_description()});
  auto positionals = app.get_options([](const CLI::Option* o) { return o->get_positional(); });
  if (subs.empty() && !positionals.empty())  // a verb: the values of its first argument, when it names them
    for (const auto& c : choices_of(*positionals.front())) node.words.push_back({c, positionals.front()->get_description()});
  nodes.push_back(std::move(node));
  for (const CLI::App* sub : subs) walk_tree(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), nodes);
}

// 'text' for bash and zsh ('\'' for a quote).
std::string sh_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

using Lines = std::function<std::vector<std::string>(const CommandNode&)>;

// NAME CMD: a `case` on the command path with one arm per node that has lines to print.
std::string case_function(const std::string& name, const std::string& comment, const std::vector<CommandNode>& nodes,
                          const std::string& print, const Lines& lines) {
  std::string arms;
  for (const auto& node : nodes) {
    std::vector<std::string> ls = lines(node);
    if (ls.empty()) continue;
    std::vector<std::string> args;
    for (const auto& l : ls) args.push_back(sh_quoted(l));
    std::string arm = fmt::format("    {}) {} {} ;;\n", sh_quoted(node.path), print, fmt::join(args, " "));
    if (arm.size() > 110 && args.size() > 1)  // one line per item
      arm = fmt::format("    {})\n      {} \\\n        {} ;;\n", sh_quoted(node.path), print, fmt::join(args, " \\\n        "));
    arms += arm;
  }
  return fmt::format("# {} CMD: {}\n{}() {{\n  case $1 in\n{}  esac\n}}\n\n", name, comment, name, arms);
}

// _applctl_value CMD OPTION: true when OPTION takes a value in CMD; prints the values it accepts.
// applctl's own options (--store ...) are accepted after any command too (CLI11 fallthrough).
std::string value_function(const std::vector<CommandNode>& nodes) {
  std::string arms;
  for (const auto& node : nodes)
    for (const auto& v : node.values) {
      std::vector<std::string> patterns;
      for (const auto& n : v.names)
        patterns.push_back(node.path.empty() ? fmt::format("*{}", sh_quoted(" " + n)) : sh_quoted(node.path + " " + n));
      const std::string choices = fmt::format("{}", fmt::join(v.choices, " "));
      arms += fmt::format("    {}) {};;\n", fmt::join(patterns, "|"), choices.empty() ? "" : "echo " + sh_quoted(choices) + " ");
    }
  return "# _applctl_value CMD OPTION: true when OPTION takes a value after CMD; prints the values it accepts\n"
         "_applctl_value() {\n  case \"$1 $2\" in\n" + arms + "    *) return 1 ;;\n  esac\n}\n\n";
}

// The names on one line, as bash's `compgen -W` takes them (no line when there are none).
std::vector<std::string> spaced(const std::vector<Word>& words) {
  if (words.empty()) return {};
  std::string line = words.front().name;
  for (std::size_t i = 1; i < words.size(); ++i) line += " " + words[i].name;
  return {line};
}

// "name:summary", as zsh's _describe lists them.
std::vector<std::string> described(const std::vector<Word>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) out.push_back(w.name + ":" + w.summary);
  return out;
}

const char* const kBashMain = R"sh(_applctl() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd='' word values i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      _applctl_value "$cmd" "$word" >/dev/null && ((i++))
    elif [[ " $(_applctl_words "$cmd") " == *" $word "* ]]; then
      cmd=${cmd:+$cmd }$word
    fi
  done
  if [[ $prev == -* ]] && values=$(_applctl_value "$cmd" "$prev"); then
    :  # the option's values; none named: file names (complete -o default)
  elif [[ $cur == -* ]]; then
    values=$(_applctl_options "$cmd")
  else
    values=$(_applctl_words "$cmd")
  fi
  mapfile -t COMPREPLY < <(compgen -W "$values" -- "$cur")
}
complete -o default -F _applctl applctl
)sh";

const char* const kZshMain = R"sh(_applctl() {
  local cmd='' word prev values i
  local -a listed
  for ((i = 2; i < CURRENT; i++)); do
    word=${words[i]}
    if [[ $word == -* ]]; then
      _applctl_value "$cmd" "$word" >/dev/null && ((i++))
    else
      listed=(${(f)"$(_applctl_words "$cmd")"})
      (( ${listed[(I)${(b)word}:*]} )) && cmd=${cmd:+$cmd }$word
    fi
  done
  prev=${words[CURRENT-1]}
  if [[ $prev == -* ]] && values=$(_applctl_value "$cmd" "$prev"); then
    if [[ -n $values ]]; then compadd -- ${=values}; else _files; fi
  elif [[ $PREFIX == -* ]]; then
    listed=(${(f)"$(_applctl_options "$cmd")"})
    _describe -t options option listed
  else
    listed=(${(f)"$(_applctl_words "$cmd")"})
    if (( $#listed )); then _describe -t commands command listed; else _files; fi
  fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _applctl "$@"
else
  compdef _applctl applctl
fi
)sh";

std::string bash_script(const std::vector<CommandNode>& nodes) {
  return "# bash completion for applctl(1), generated by `applctl completion bash` from its command table.\n"
         "# Installed as /usr/share/bash-completion/completions/applctl; or: source <(applctl completion bash)\n\n" +
         case_function("_applctl_words", "the subcommands of CMD (\"\" is applctl), or its argument's values", nodes,
                       "echo", [](const CommandNode& n) { return spaced(n.words); }) +
         case_function("_applctl_options", "the options of CMD", nodes, "echo",
                       [](const CommandNode& n) { return spaced(n.options); }) +
         value_function(nodes) + kBashMain;
}

std::string zsh_script(const std::vector<CommandNode>& nodes) {
  return "#compdef applctl\n"
         "# zsh completion for applctl(1), generated by `applctl completion zsh` from its command table.\n"
         "# Installed as /usr/share/zsh/vendor-completions/_applctl; or: source <(applctl completion zsh)\n\n" +
         case_function("_applctl_words", "name:summary lines of the subcommands of CMD, or of its argument's values",
                       nodes, "print -rl --", [](const CommandNode& n) { return described(n.words); }) +
         case_function("_applctl_options", "name:summary lines of the options of CMD", nodes, "print -rl --",
                       [](const CommandNode& n) { return described(n.options); }) +
         value_function(nodes) + kZshMain;
}

}  // namespace

void setup_completion(CLI::App& app, Runner& run) {
  auto shell = std::make_shared<std::string>();
  app.add_option("SHELL", *shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  run = [shell](Context& ctx) {
    CommandLine all([](const Verb&) { return true; }, [](const Group&) { return true; });
    std::vector<CommandNode> nodes;
    walk_tree(all.app, "", nodes);
    const std::string script = *shell == "bash" ? bash_script(nodes) : zsh_script(nodes);
    ctx.emit({{"shell", *shell}, {"script", script}}, script);
    return 0;
  };
}

}  // namespace applctl::cli
