// The command-line layer: global options, the command table, and what every verb shares.
// A verb's function fills a typed request from its flags, calls one library function and renders
// the result; `run` in cli.cpp is the only place that turns errors into exit codes, and `verdict`
// the only one that turns a verdict (cert check, cert renew, chain verify, probe, doctor) into one.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "applctl/acme/acme.hpp"
#include "applctl/acme/order.hpp"
#include "applctl/x509/names.hpp"
#include "applctl/store/store.hpp"

namespace applctl::cli {

// None: no store. Read: never created; a missing store reads as empty. Change: changes objects
// that must already exist (a missing store reads as empty, so they are not found). Write: creates
// the store, as `init` does, when it does not exist.
enum class StoreUse { None, Read, Change, Write };

struct Globals {
  std::string store_dir;
  bool json = false;
  bool quiet = false;
  int verbosity = 0;
  std::string log_file;
};

class Context {
 public:
  explicit Context(const Globals& g) : globals(g) {}
  const Globals& globals;
  StoreUse store_use = StoreUse::None;
  std::vector<char*> argv;  // the command line as given (applctl-acme is exec'd with it)

  // The store for this command, opened on first use as the command table says (a read-only
  // command never creates it).
  Store& store();
  std::string store_dir() const;

  // Prints the JSON document with --json, else the human text (nothing with --quiet when the
  // text is only a confirmation).
  void emit(const nlohmann::json& doc, const std::string& human, bool confirmation = false) const;
  // --json output of a long list, written element by element: the text of one document, without
  // a document of the whole list in memory. `append(out, i, indent)` appends element i's text,
  // its lines after the first indented by `indent` spaces.
  void emit_json_array(std::size_t count, const std::function<void(std::string&, std::size_t, int)>& append) const;
  // The same for output that is costly to build (a list of thousands of certificates): only the
  // form that is printed is built.
  template <typename MakeDoc, typename MakeHuman>
  void emit_built(MakeDoc&& doc, MakeHuman&& human) const {
    if (globals.json)
      emit(doc(), std::string());
    else
      emit(nlohmann::json(), human());
  }

 private:
  std::optional<Store> store_;
};

using Runner = std::function<int(Context&)>;

struct Verb {
  const char* group;  // "" for top-level commands (init, status)
  const char* name;
  const char* summary;
  StoreUse store;
  void (*setup)(CLI::App& app, Runner& run);
  const char* examples;    // EXAMPLES section of --help and the man page
  const char* exit_codes;  // EXIT CODES section
};

struct Group {
  const char* name;
  const char* summary;
};

const std::vector<Group>& groups();
const std::vector<Verb>& verbs();

// The command table as a CLI11 tree: the global options, a subcommand per group and per verb.
// Every command is a new process, so only the verbs `build` accepts get their options and runner
// (`run` builds the verbs argv names, `completion` all of them); the others have their summary.
// A group's verbs are in the tree when `list` accepts the group (`run`: the groups argv names, so
// the help and the errors of a group still list all its verbs); the top-level verbs always are.
class CommandLine {
 public:
  CommandLine(const std::function<bool(const Verb&)>& build, const std::function<bool(const Group&)>& list);
  Globals globals;
  CLI::App app{"applctl: the certificate lifecycle of a network appliance, from a shell", "applctl"};
  Runner chosen;  // set by parsing: the runner of the verb argv names, and its store access
  StoreUse chosen_use = StoreUse::None;
};

int run(int argc, char** argv);

// How a verdict verb ends, its result already on stdout (with --json, its one document): `code`
// is what the result says (0; 3 it does not verify; 10 expiring; 11 nothing due; or the exit code
// of the errors that did not stop the verb), and each of `errors` goes to stderr as `run` prints
// an error (with -q too). Nothing more goes to stdout. Returns code, which the verb returns.
int verdict(int code, const std::vector<std::string>& errors = {});

// The ACME client (lib/acme_*.cpp) is the only user of libcurl, whose 40 shared libraries would
// add ~4.5 ms to the start-up of every command. So it is linked into a second binary only,
// applctl-acme, built from the same command-line sources: the verbs that talk ACME call it
// through this table. In applctl, acme_library() replaces the process with applctl-acme and
// the same arguments (apps/applctl/exec/acme_library.cpp); in applctl-acme it returns the client
// (apps/applctl-acme/library.cpp). Both binaries parse the whole command line, so --help and
// the completion scripts are the same.
struct AcmeLibrary {
  acme::AccountResult (*register_account)(const std::filesystem::path& store_dir, const acme::AccountRequest& req);
  acme::IssueResult (*issue_certificate)(const std::filesystem::path& store_dir, const acme::IssueRequest& req);
  acme::AccountInfo (*show_account)(const std::filesystem::path& store_dir);
  std::unique_ptr<AcmeRenewer> (*make_renewer)(const std::filesystem::path& store_dir);  // cert renew
};
const AcmeLibrary& acme_library(Context& ctx);

// Shared flag sets, defined once.
void add_subject_flags(CLI::App& app, Subject& subject);
void add_key_flag(CLI::App& app, std::string& spec);
void add_san_flag(CLI::App& app, std::vector<std::string>& sans);
// A --timeout or interval given in seconds (serve, probe), to the millisecond.
std::chrono::milliseconds seconds_to_ms(double seconds);
// The certificates of FILEs given as --roots, --untrusted or --file (chain verify, probe), decoded
// as cert import decodes them but without a passphrase; a file without one is bad input (exit 6).
std::vector<Bytes> read_certificate_files(const std::vector<std::string>& files);

// A secret from --X-file / --X-env / an echo-less TTY prompt (applctl(1), Secrets: never argv).
struct SecretSource {
  std::string file;
  std::string env;
  std::function<std::optional<std::string>()> getter(std::string prompt, bool confirm) const;
};
void add_passphrase_flags(CLI::App& app, SecretSource& src);
// For the *-env options of secrets (CLI11 `each`): the variable leaves the environment while the
// arguments are parsed, before the store is opened or its lock awaited (take_secret_env).
void take_env_at_parse(const std::string& var);

// Asks a yes/no question on /dev/tty (echoed); false when the answer is not yes or there is no TTY.
bool confirm_on_tty(const std::string& question);

// Refused (exit 5) when path exists and --force was not given; checked before anything changes.
void refuse_existing(const std::string& path, bool force);

// Verb setup functions, one per verb (the command table in commands.cpp lists them).
#define APPLCTL_VERB(fn) void fn(CLI::App& app, Runner& run)
APPLCTL_VERB(setup_acme_account);
APPLCTL_VERB(setup_acme_issue);
APPLCTL_VERB(setup_acme_show);
APPLCTL_VERB(setup_apply);
APPLCTL_VERB(setup_export_config);
APPLCTL_VERB(setup_completion);
APPLCTL_VERB(setup_init);
APPLCTL_VERB(setup_probe);
APPLCTL_VERB(setup_serve);
APPLCTL_VERB(setup_status);
APPLCTL_VERB(setup_doctor);
APPLCTL_VERB(setup_cert_list);
APPLCTL_VERB(setup_cert_show);
APPLCTL_VERB(setup_cert_self_signed);
APPLCTL_VERB(setup_cert_export);
APPLCTL_VERB(setup_cert_rename);
APPLCTL_VERB(setup_cert_renew);
APPLCTL_VERB(setup_cert_remove);
APPLCTL_VERB(setup_cert_default);
APPLCTL_VERB(setup_cert_check);
APPLCTL_VERB(setup_cert_bundle);
APPLCTL_VERB(setup_cert_import);
APPLCTL_VERB(setup_chain_show);
APPLCTL_VERB(setup_chain_set);
APPLCTL_VERB(setup_chain_verify);
APPLCTL_VERB(setup_csr_create);
APPLCTL_VERB(setup_ip_add);
APPLCTL_VERB(setup_ip_assign);
APPLCTL_VERB(setup_ip_list);
APPLCTL_VERB(setup_ip_remove);
APPLCTL_VERB(setup_ip_unassign);
APPLCTL_VERB(setup_sni_resolve);
APPLCTL_VERB(setup_csr_list);
APPLCTL_VERB(setup_csr_show);
APPLCTL_VERB(setup_csr_remove);
APPLCTL_VERB(setup_kmip_configure);
APPLCTL_VERB(setup_kmip_create_key);
APPLCTL_VERB(setup_kmip_decrypt);
APPLCTL_VERB(setup_kmip_destroy_key);
APPLCTL_VERB(setup_kmip_encrypt);
APPLCTL_VERB(setup_kmip_get_key);
APPLCTL_VERB(setup_kmip_locate);
APPLCTL_VERB(setup_kmip_status);
APPLCTL_VERB(setup_kmip_test);
#undef APPLCTL_VERB

}  // namespace applctl::cli
