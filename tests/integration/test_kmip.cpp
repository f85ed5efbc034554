// applctl kmip against PyKMIP's server, end to end: configure ("save and test") and what it
// refuses, the connection test, keys created, read (checked with PyKMIP's own Python client)
// and destroyed, the Credential, file modes and secrets kept out of every output. The failure
// classes a real server does not produce on demand (a name mismatch, an answer that is not KMIP,
// a server that never answers) use a small TLS server in Python.
#include <chrono>
#include <regex>

#include "integration/pykmip.hpp"

namespace {

using clitest::Appliance;
using clitest::Background;
using clitest::has;
using clitest::Result;
using kmiptest::KmipPki;
using kmiptest::PyKmipServer;
using kmiptest::hex_of;
using kmiptest::pykmip_get;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using kmiptest::pki;

std::vector<std::string> configure_args(int port, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"kmip",          "configure", "--host", "127.0.0.1", "--port", std::to_string(port),
                                "--ca",          pki() / "ca.crt",      "--client-cert", pki() / "client.crt",
                                "--client-key",  pki() / "client.key"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A store configured for the shared server.
struct Configured : Appliance {
  PyKmipServer& server = PyKmipServer::shared();
  Configured() {
    Result r = run(configure_args(server.port()));
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
  }
};

bool nothing_saved(const Appliance& a) { return !fs::exists(a.store / "kmip.json") && !fs::exists(a.db()); }

// A TLS server of the test CA that is not a KMIP server: after the handshake it reads the
// request and answers `reply` (or nothing at all). Python's ssl module, one connection.
struct FakeServer {
  int port = clitest::free_port();
  Background proc;
  FakeServer(const std::string& cert, const std::string& reply)
      : proc({"/usr/bin/python3", "-c", R"py(
import socket, ssl, sys, time
port, cert, key, reply = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(1)
print("READY", flush=True)
conn, _ = s.accept()
try:
    tls = ctx.wrap_socket(conn, server_side=True)
    tls.recv(4096)
    if reply:
        tls.sendall(reply.encode())
    time.sleep(30)
except Exception as e:
    print(e, flush=True)
)py",
              std::to_string(port), pki() / (cert + ".crt"), pki() / (cert + ".key"), reply}) {
    INFO("fake server: " << proc.out() << proc.err());
    REQUIRE(proc.wait_for("READY"));
  }
};

}  // namespace

TEST_CASE("kmip configure saves and tests, the settings are private, status and test show them",
          "[integration][kmip]") {
  PyKmipServer& server = PyKmipServer::shared();
  Appliance a;
  clitest::ScopedUmask open_umask(0);  // the modes must not depend on the umask
  nlohmann::json doc = a.json(configure_args(server.port()));
  CHECK(doc["server"] == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(doc["tested"] == true);
  CHECK(doc["client_subject"] == "CN=alice");
  CHECK(doc["test"]["version"] == "2.0");
  CHECK(doc["test"]["versions"] == nlohmann::json({"2.0", "1.4", "1.3", "1.2", "1.1", "1.0"}));
  CHECK(doc["test"]["vendor"] == "PyKMIP 0.10.0 Software Server");
  CHECK(has(doc["test"]["tls"].get<std::string>(), "TLSv1.2"));
  for (const char* op : {"Create", "Get", "GetAttributes", "Activate", "Revoke", "Destroy", "Query", "DiscoverVersions"}) {
    INFO(op);
    CHECK(std::count(doc["test"]["operations"].begin(), doc["test"]["operations"].end(), op) == 1);
  }

  CHECK(clitest::mode_of(a.store) == 0700);
  CHECK(clitest::mode_of(a.store / "kmip.json") == 0600);
  CHECK(clitest::mode_of(a.store / "kmip-test.json") == 0600);
  CHECK(clitest::mode_of(a.db()) == 0600);
  // The key is kept (the store's own keys are kept the same way), and nowhere else.
  const std::string saved = clitest::slurp(a.store / "kmip.json");
  CHECK(has(saved, "PRIVATE KEY"));
  CHECK(clitest::sql(a, "SELECT command, objects FROM audit_log WHERE command LIKE 'kmip%'") ==
        "kmip configure|[\"kmip:127.0.0.1:" + std::to_string(server.port()) + "\"]");

  nlohmann::json status = a.json({"kmip", "status"});
  CHECK(status["configured"] == true);
  CHECK(status["host"] == "127.0.0.1");
  CHECK(status["port"] == server.port());
  CHECK(status["encrypted"] == false);
  CHECK(status["key_unique_identifier"].is_null());
  CHECK(status["version"] == "2.0");
  CHECK(status["client_certificate"]["subject"] == "CN=alice");
  CHECK(status["last_test"]["ok"] == true);
  CHECK(!has(status.dump(), "PRIVATE KEY"));

  nlohmann::json top = a.json({"status"});
  CHECK(top["kmip"]["configured"] == true);
  CHECK(top["kmip"]["encrypted"] == false);
  CHECK(top["kmip"]["server"] == "127.0.0.1:" + std::to_string(server.port()));

  nlohmann::json test = a.json({"kmip", "test"});
  CHECK(test["version"] == "2.0");
  CHECK(test["vendor"] == "PyKMIP 0.10.0 Software Server");
  CHECK(!test["operations"].empty());
  CHECK(test["objects"].is_array());

  Result human = a.run({"kmip", "status"});
  CHECK(human.code == 0);
  CHECK(has(human.out, "server:"));
  CHECK(has(human.out, "last test:"));

  // Damaged settings are reported, and configuring again replaces them.
  clitest::spit(a.store / "kmip.json", "{\"format\": 1");
  Result damaged = a.run({"kmip", "status"});
  CHECK(damaged.code == 1);
  CHECK(has(damaged.err, "cannot read the KMIP settings"));
  CHECK(a.run(configure_args(server.port())).code == 0);
  CHECK(a.json({"kmip", "status"})["configured"] == true);
  CHECK(clitest::count_rows(a, "audit_log") >= 2);
}

TEST_CASE("kmip configure refuses what it cannot use and saves nothing", "[integration][kmip]") {
  PyKmipServer& server = PyKmipServer::shared();
  const int port = server.port();

  SECTION("a CA that did not issue the server's certificate: exit 7") {
    Appliance a;
    auto args = configure_args(port);
    args[7] = pki() / "other_ca.crt";
    Result r = a.run(args);
    CHECK(r.code == 7);
    CHECK(has(r.err, "does not verify"));
    CHECK(has(r.err, "hint:"));
    CHECK(nothing_saved(a));
  }
  SECTION("a key that does not match the client certificate: exit 6 naming the key file") {
    Appliance a;
    auto args = configure_args(port);
    args.back() = pki() / "wrong.key";
    Result r = a.run(args);
    CHECK(r.code == 6);
    CHECK(has(r.err, "wrong.key"));
    CHECK(has(r.err, "does not match"));
    CHECK(nothing_saved(a));
  }
  SECTION("a client certificate without a key: exit 6") {
    Appliance a;
    auto args = configure_args(port);
    args.resize(args.size() - 2);
    Result r = a.run(args);
    CHECK(r.code == 6);
    CHECK(has(r.err, "no private key"));
    CHECK(nothing_saved(a));
  }
  SECTION("unreadable and undecodable files: exit 6 naming them") {
    Appliance a;
    auto args = configure_args(port);
    args[7] = (a.dir / "missing.pem").string();
    Result missing = a.run(args);
    CHECK(missing.code == 6);
    CHECK(has(missing.err, "missing.pem"));
    clitest::spit(a.dir / "garbage.pem", "not a certificate\n");
    args[7] = (a.dir / "garbage.pem").string();
    Result garbage = a.run(args);
    CHECK(garbage.code == 6);
    CHECK(has(garbage.err, "garbage.pem"));
    CHECK(nothing_saved(a));
  }
  SECTION("a client certificate the server does not trust: exit 7") {
    Appliance a;
    auto args = configure_args(port);
    args[9] = pki() / "stranger.crt";
    args[11] = pki() / "stranger.key";
    Result r = a.run(args);
    CHECK(r.code == 7);
    CHECK(has(r.err, "127.0.0.1:" + std::to_string(port)));
    CHECK(nothing_saved(a));
  }
  SECTION("no server on the port: exit 7 at once, with the reason") {
    Appliance a;
    const int dead = clitest::free_port();
    const auto start = std::chrono::steady_clock::now();
    Result r = a.run(configure_args(dead));
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.code == 7);
    CHECK(has(r.err, "cannot connect to 127.0.0.1:" + std::to_string(dead)));
    CHECK(has(r.err, "refused"));
    CHECK(took < 3s);
    CHECK(nothing_saved(a));
  }
  SECTION("a failed test keeps the settings saved before") {
    Appliance a;
    REQUIRE(a.run(configure_args(port)).code == 0);
    const std::string before = clitest::slurp(a.store / "kmip.json");
    const auto audit = clitest::count_rows(a, "audit_log");
    CHECK(a.run(configure_args(clitest::free_port())).code == 7);
    CHECK(clitest::slurp(a.store / "kmip.json") == before);
    CHECK(clitest::count_rows(a, "audit_log") == audit);
  }
}

TEST_CASE("kmip configure --no-test saves with a warning, kmip test then reports the failure",
          "[integration][kmip]") {
  Appliance a;
  const int dead = clitest::free_port();
  Result r = a.run(configure_args(dead, {"--no-test", "--timeout", "2"}));
  CHECK(r.code == 0);
  CHECK(has(r.err, "warning"));
  CHECK(has(r.err, "without testing"));
  CHECK(clitest::mode_of(a.store / "kmip.json") == 0600);

  Result test = a.run({"--json", "kmip", "test"});
  CHECK(test.code == 7);
  CHECK(test.json()["error"]["code"] == "remote-failed");
  nlohmann::json status = a.json({"kmip", "status"});
  CHECK(status["configured"] == true);
  CHECK(status["version"].is_null());
  CHECK(status["timeout"] == 2);
  CHECK(status["last_test"]["ok"] == false);
  CHECK(has(status["last_test"]["error"].get<std::string>(), "cannot connect"));

  // Without settings: exit 4 with the way out.
  Appliance empty;
  Result none = empty.run({"kmip", "test"});
  CHECK(none.code == 4);
  CHECK(has(none.err, "kmip configure"));
  CHECK(empty.json({"kmip", "status"})["configured"] == false);
  CHECK(empty.run({"kmip", "create-key"}).code == 4);
  CHECK(!fs::exists(empty.store));
}

TEST_CASE("kmip create-key, get-key and destroy-key against PyKMIP", "[integration][kmip]") {
  Configured a;
  const int port = a.server.port();

  for (int bits : {128, 256}) {
    INFO("AES-" << bits);
    const std::string name = "appliance-" + std::to_string(bits);
    Result created = a.run({"kmip", "create-key", "--bits", std::to_string(bits), "--name", name});
    REQUIRE(created.code == 0);
    const std::string uid = clitest::chomp(created.out);
    CHECK(std::regex_match(uid, std::regex(R"(\S+)")));

    nlohmann::json meta = a.json({"kmip", "get-key", uid});
    CHECK(meta["unique_identifier"] == uid);
    CHECK(meta["algorithm"] == "AES");
    CHECK(meta["length"] == bits);
    CHECK(meta["state"] == "active");
    CHECK(meta["name"] == name);
    CHECK(!meta.contains("key_hex"));

    // --reveal to a pipe (not a terminal): the key bytes, as PyKMIP's own client reads them.
    nlohmann::json revealed = a.json({"kmip", "get-key", uid, "--reveal"});
    const std::string key_hex = revealed["key_hex"];
    CHECK(std::regex_match(key_hex, std::regex("[0-9a-f]{" + std::to_string(bits / 4) + "}")));
    Result oracle = pykmip_get(port, uid);
    INFO(oracle.err);
    REQUIRE(oracle.code == 0);
    CHECK(oracle.out == key_hex + "\nAES " + std::to_string(bits) + "\n" + name + " ACTIVE\n");
    Result human = a.run({"kmip", "get-key", uid, "--reveal"});
    CHECK(has(human.out, "key:"));
    CHECK(has(human.out, key_hex));
    Result plain = a.run({"-vv", "kmip", "get-key", uid});
    CHECK(!has(plain.out + plain.err, key_hex));

    nlohmann::json destroyed = a.json({"kmip", "destroy-key", uid});
    CHECK(destroyed["revoked"] == true);
    CHECK(destroyed["destroyed"] == true);
    Result gone = a.run({"--json", "kmip", "get-key", uid});
    CHECK(gone.code == 4);
    CHECK(gone.json()["error"]["code"] == "not-found");
    CHECK(a.run({"kmip", "destroy-key", uid}).code == 4);
  }
  CHECK(a.run({"kmip", "get-key", "no-such-key"}).code == 4);
  Result bad_bits = a.run({"kmip", "create-key", "--bits", "192"});
  CHECK(bad_bits.code == 2);

  // Without a name: the key has none.
  nlohmann::json created = a.json({"kmip", "create-key"});
  CHECK(created["length"] == 256);
  const std::string uid = created["unique_identifier"];
  nlohmann::json meta = a.json({"kmip", "get-key", uid});
  CHECK(meta["name"].is_null());
  CHECK(meta["names"].empty());

  // On a terminal (script(1) gives the command a pseudo-terminal), --reveal asks first.
  const std::string key_hex = a.json({"kmip", "get-key", uid, "--reveal"})["key_hex"];
  auto on_tty = [&](const std::string& answer) {
    const std::string cmd = std::string(APPLCTL_BIN) + " --store " + a.store.string() + " kmip get-key " + uid + " --reveal";
    return clitest::run_process({"script", "-qec", cmd, "/dev/null"}, {}, answer + "\n");
  };
  Result no = on_tty("n");
  CHECK(no.code == 5);
  CHECK(has(no.out, "Print the secret key bytes"));
  CHECK(!has(no.out, key_hex));
  Result yes = on_tty("y");
  CHECK(yes.code == 0);
  CHECK(has(yes.out, key_hex));
}

TEST_CASE("kmip: the Credential is sent, and no secret reaches an output, a log or the audit log",
          "[integration][kmip]") {
  PyKmipServer& server = PyKmipServer::shared();
  Appliance a;
  const std::string password = "kmip-Pa55-word-7f3a";
  clitest::spit(a.dir / "password", password + "\n");
  const fs::path log = a.dir / "applctl.log";
  Result r = a.run({"-vv", "--log-file", log.string(), "--json", "kmip", "configure", "--host", "127.0.0.1", "--port",
                    std::to_string(server.port()), "--ca", pki() / "ca.crt", "--client-cert", pki() / "client.pem",
                    "--username", "alice", "--password-file", (a.dir / "password").string()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.json()["username"] == "alice");
  // The server saw it: PyKMIP logs each request's encoding at DEBUG (it does not check it).
  CHECK(has(server.log(), hex_of(password)));

  const std::string key_body = clitest::slurp(pki() / "client.key").substr(40, 40);  // a line of the key
  Result created = a.run({"-vv", "--log-file", log.string(), "kmip", "create-key", "--name", "secret-test"});
  REQUIRE(created.code == 0);
  const std::string uid = clitest::chomp(created.out);
  Result test = a.run({"-vv", "--log-file", log.string(), "kmip", "test"});
  Result status = a.run({"-vv", "--log-file", log.string(), "kmip", "status"});
  Result json_status = a.run({"-vv", "--json", "kmip", "status"});
  Result top = a.run({"-vv", "status"});
  for (const Result* out : {&r, &created, &test, &status, &json_status, &top}) {
    CHECK(out->code == 0);
    CHECK(!has(out->out + out->err, password));
    CHECK(!has(out->out + out->err, key_body));
  }
  CHECK(has(status.out, "alice"));
  const std::string logged = clitest::slurp(log);
  CHECK(!logged.empty());
  CHECK(!has(logged, password));
  CHECK(!has(logged, key_body));
  const std::string audit = clitest::sql(a, "SELECT * FROM audit_log");
  CHECK(!has(audit, password));
  CHECK(!has(audit, "PRIVATE"));
  // Not in the database at all: the settings live beside it.
  CHECK(!has(clitest::slurp(a.db()), password));

  // A failing command does not show it either.
  Result gone = a.run({"-vv", "kmip", "get-key", "404"});
  CHECK(gone.code == 4);
  CHECK(!has(gone.out + gone.err, password));
}

TEST_CASE("kmip: a name mismatch, an answer that is not KMIP and a silent server are exit 7",
          "[integration][kmip]") {
  SECTION("the server's certificate does not name the host") {
    FakeServer s("elsewhere", "");
    Appliance a;
    Result r = a.run(configure_args(s.port));
    CHECK(r.code == 7);
    CHECK(has(r.err, "does not verify"));
    CHECK(has(r.err, "mismatch"));
    CHECK(nothing_saved(a));
  }
  SECTION("an HTTP answer") {
    FakeServer s("server", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    Appliance a;
    Result r = a.run(configure_args(s.port));
    CHECK(r.code == 7);
    CHECK(has(r.err, "malformed KMIP message"));
    CHECK(has(r.err, "not a KMIP tag"));
    CHECK(nothing_saved(a));
  }
  SECTION("a server that never answers: the read timeout") {
    FakeServer s("server", "");
    Appliance a;
    const auto start = std::chrono::steady_clock::now();
    Result r = a.run(configure_args(s.port, {"--timeout", "1"}));
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.code == 7);
    CHECK(has(r.err, "did not answer within 1 s"));
    CHECK(took < 5s);
    CHECK(nothing_saved(a));
  }
}
