// The example playbook (examples/ansible/playbook.yml) run by ansible-playbook against this host
// twice: the first run reports the apply task changed, the second reports it ok (nothing to do).
#include "harness.hpp"
#include "test_pki.hpp"

using namespace clitest;

namespace {

// "changed" or "ok": how the playbook's output reports a task on localhost.
std::string task_status(const std::string& out, const std::string& task) {
  auto at = out.find("TASK [" + task + "]");
  if (at == std::string::npos) return "missing";
  auto line = out.find("\n", out.find('\n', at) + 1);
  std::string next = out.substr(out.find('\n', at) + 1, line - out.find('\n', at) - 1);
  if (next.rfind("changed:", 0) == 0) return "changed";
  if (next.rfind("ok:", 0) == 0) return "ok";
  return next;
}

}  // namespace

TEST_CASE("ansible: the example playbook applies a file, changed then ok", "[cli][apply][ansible]") {
  TempDir tmp;
  fs::path source = tmp / "appliance";
  fs::create_directories(source);
  spit(source / "appliance.yaml",
       "version: 1\nhostnames: [appl.example.com]\ncertificates:\n  - name: web\n    self_signed: {key: \"ec:P-256\", cn: "
       "www.example.com}\nips:\n  - {address: 192.0.2.10, certificate: web}\ndefault: web\n");
  fs::create_directories(tmp / "home");
  const std::map<std::string, std::string> env = {
      {"HOME", (tmp / "home").string()},          {"ANSIBLE_LOCAL_TEMP", (tmp / "ansible-local").string()},
      {"ANSIBLE_REMOTE_TEMP", (tmp / "ansible-remote").string()}, {"ANSIBLE_NOCOLOR", "1"},
      {"ANSIBLE_RETRY_FILES_ENABLED", "0"},       {"ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3"},
      {"PATH", "/usr/bin:/bin"}};
  const fs::path store = tmp / "store";
  std::vector<std::string> argv = {"ansible-playbook", "-c", "local", "-i", "localhost,",
                                   (fs::path(APPLCTL_SOURCE_DIR) / "examples" / "ansible" / "playbook.yml").string(),
                                   "-e", std::string("applctl=") + APPLCTL_BIN, "-e", "applctl_store=" + store.string(),
                                   "-e", "appliance_dir=" + source.string(), "-e", "remote_dir=" + (tmp / "remote").string()};

  Result first = run_process(argv, env);
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  CHECK(task_status(first.out, "Apply it") == "changed");
  CHECK(has(first.out, "certificate web"));  // the debug task lists the actions

  Result second = run_process(argv, env);
  INFO(second.out << second.err);
  REQUIRE(second.code == 0);
  CHECK(task_status(second.out, "Apply it") == "ok");
  CHECK(has(second.out, "changed=0"));

  Appliance check;
  check.store = store;
  auto list = check.json({"cert", "list"});
  bool web = false;
  for (const auto& c : list) web = web || (c["friendly_name"] == "web" && c["ips"] == nlohmann::json({"192.0.2.10"}));
  CHECK(web);
}
