// Data at rest encryption against PyKMIP's server, end to end: kmip encrypt writes the store
// through the encrypting VFS with a key the server holds (checked with PyKMIP's own client, and
// the key's bytes are nowhere in the store), every read and write command works on it, across a
// server restart, the sqlite3 CLI cannot read it, and kmip decrypt gives a plain database back.
// Faults: server down, key destroyed out of band, another key, an altered page, a command killed
// in the middle of the rewrite: each has its exit code, a clear message, and loses nothing.
#include <csignal>
#include <fstream>

#include "integration/pykmip.hpp"

namespace {

using clitest::Appliance;
using clitest::Background;
using clitest::has;
using clitest::Result;
using kmiptest::KmipPki;
using kmiptest::PyKmipServer;
using kmiptest::pykmip_get;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

using kmiptest::pki;

std::string unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// A store with certificates, a pending request and IP addresses, configured for `server`.
struct Populated : Appliance {
  explicit Populated(const PyKmipServer& server) {
    Result c = run({"kmip", "configure", "--host", "127.0.0.1", "--port", std::to_string(server.port()), "--ca",
                    pki() / "ca.crt", "--client-cert", pki() / "client.crt", "--client-key", pki() / "client.key"});
    INFO(c.out << c.err);
    REQUIRE(c.code == 0);
    REQUIRE(run({"cert", "self-signed", "--name", "web", "--key", "ec:P-256", "--cn", "www.example.com", "--san",
                 "DNS:www.example.com"})
                .code == 0);
    REQUIRE(run({"csr", "create", "--name", "api", "--key", "rsa:2048", "--cn", "api.example.com", "-o",
                 (dir / "api.csr").string()})
                .code == 0);
    REQUIRE(run({"ip", "add", "192.0.2.1", "192.0.2.2"}).code == 0);
    REQUIRE(run({"ip", "assign", "web", "192.0.2.1"}).code == 0);
  }
  std::string view() const { return kmiptest::store_view(*this); }
};

// PyKMIP's own client: revoke and destroy a key behind applctl's back.
void destroy_out_of_band(int port, const std::string& uid) {
  const char* script = R"py(
import sys, logging
logging.disable(logging.CRITICAL)
from kmip.pie.client import ProxyKmipClient
from kmip import enums
port, cert, key, ca, uid = sys.argv[1:]
with ProxyKmipClient(hostname="127.0.0.1", port=int(port), cert=cert, key=key, ca=ca, config_file="/dev/null") as c:
    c.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, uid)
    c.destroy(uid)
)py";
  Result r = clitest::run_process({"/usr/bin/python3", "-c", script, std::to_string(port), pki() / "client.crt",
                                   pki() / "client.key", pki() / "ca.crt", uid});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
}

// `cert export NAME --format pem`, read back by the openssl CLI: its SHA-256 fingerprint line.
std::string exported_fingerprint(const Appliance& a, const std::string& name) {
  const std::string out = (a.dir / (name + ".pem")).string();
  Result r = a.run({"cert", "export", name, "--format", "pem", "-o", out, "--force"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  Result o = clitest::openssl({"x509", "-in", out, "-noout", "-fingerprint", "-sha256"});
  REQUIRE(o.code == 0);
  return o.out;
}

// A TCP relay to the KMIP server that passes the first `allow` connections through and closes
// every later one at once: the server "stops" in the middle of a command that connects twice.
struct CutOffRelay {
  int port = clitest::free_port();
  Background proc;
  CutOffRelay(int target, int allow)
      : proc({"/usr/bin/python3", "-c", R"py(
import socket, sys, threading
port, target, allow = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
print("READY", flush=True)
n = 0
while True:
    conn, _ = s.accept()
    n += 1
    print("connection", n, flush=True)
    if n > allow:
        conn.close()
        continue
    up = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
    threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
)py",
              std::to_string(port), std::to_string(target), std::to_string(allow)}) {
    INFO("relay: " << proc.out() << proc.err());
    REQUIRE(proc.wait_for("READY"));
  }
};

std::string store_files(const Appliance& a) {
  std::string all;
  for (const auto& e : fs::directory_iterator(a.store))
    if (e.is_regular_file() && e.path().filename() != "kmip.json") all += clitest::slurp(e.path());
  return all;
}

}  // namespace

TEST_CASE("kmip encrypt and decrypt the whole store with a key held by PyKMIP", "[integration][kmip][encrypt]") {
  PyKmipServer server(pki());
  Populated a(server);
  const std::string before = a.view();
  const std::string fingerprint = exported_fingerprint(a, "web");

  nlohmann::json enc = a.json({"kmip", "encrypt"});
  CHECK(enc["changed"] == true);
  CHECK(enc["created_key"] == true);
  const std::string uid = enc["unique_identifier"];
  CHECK(!uid.empty());

  // The key lives on the server, as PyKMIP's own client reads it, and nowhere in the store.
  Result oracle = pykmip_get(server.port(), uid);
  INFO(oracle.err);
  REQUIRE(oracle.code == 0);
  const std::string key_hex = oracle.out.substr(0, oracle.out.find('\n'));
  CHECK(key_hex.size() == 64);
  CHECK(has(oracle.out, "AES 256\napplctl-store ACTIVE\n"));
  const std::string files = store_files(a);
  CHECK(!has(files, key_hex));
  CHECK(!has(files, unhex(key_hex)));
  CHECK(!has(clitest::slurp(a.store / "kmip.json"), key_hex));

  // Nothing readable in the database file: no header, no names, no certificate; sqlite3 refuses it.
  const std::string db = clitest::slurp(a.db());
  CHECK(db.substr(0, 15) != "SQLite format 3");
  CHECK(!has(db, "www.example.com"));
  CHECK(!has(db, "api.example.com"));
  CHECK(!has(db, "CREATE TABLE"));
  CHECK(clitest::mode_of(a.db()) == 0600);
  Result raw = clitest::run_process({"sqlite3", a.db().string(), "SELECT count(*) FROM certificates"});
  CHECK(raw.code != 0);

  // Every read command, the export, status; then a change, in the WAL, encrypted too.
  CHECK(a.view() == before);
  CHECK(exported_fingerprint(a, "web") == fingerprint);
  CHECK(a.run({"cert", "show", "web"}).code == 0);
  CHECK(a.run({"cert", "check"}).code == 0);
  nlohmann::json st = a.json({"status"});
  CHECK(st["kmip"]["encrypted"] == true);
  CHECK(st["kmip"]["key_unique_identifier"] == uid);
  nlohmann::json ks = a.json({"kmip", "status"});
  CHECK(ks["encrypted"] == true);
  CHECK(ks["key_unique_identifier"] == uid);
  REQUIRE(a.run({"cert", "self-signed", "--name", "second", "--cn", "second.example.com"}).code == 0);
  CHECK(!has(store_files(a), "second.example.com"));
  CHECK(has(a.run({"cert", "list"}).out, "second"));

  // Again: nothing to do. The key that encrypts the store cannot be destroyed.
  CHECK(a.json({"kmip", "encrypt"})["changed"] == false);
  CHECK(a.run({"kmip", "destroy-key", uid}).code == 5);

  // The server restarts with its database: the store reads again.
  server.restart();
  CHECK(has(a.view(), "second"));

  // The server down: exit 7, a message naming the store and the server, nothing changed.
  server.stop();
  const std::string frozen = clitest::slurp(a.db());
  Result down = a.run({"cert", "list"});
  CHECK(down.code == 7);
  CHECK(has(down.err, "cannot open the encrypted store"));
  CHECK(has(down.err, "127.0.0.1:" + std::to_string(server.port())));
  CHECK(a.run({"cert", "self-signed", "--name", "third", "--cn", "third.example.com"}).code == 7);
  CHECK(a.run({"kmip", "decrypt"}).code == 7);
  CHECK(clitest::slurp(a.db()) == frozen);
  CHECK(a.json({"kmip", "status"})["encrypted"] == true);  // needs no server

  server.restart();
  nlohmann::json dec = a.json({"kmip", "decrypt"});
  CHECK(dec["changed"] == true);
  CHECK(dec["unique_identifier"] == uid);
  server.stop();  // a plain store needs no server
  CHECK(clitest::slurp(a.db()).substr(0, 15) == "SQLite format 3");
  CHECK(clitest::sql(a, "SELECT count(*) FROM certificates") == "3");  // web, second, the factory default
  CHECK(clitest::sql(a, "SELECT command FROM audit_log WHERE command LIKE 'kmip %crypt' ORDER BY id") ==
        "kmip encrypt\nkmip decrypt");
  CHECK(has(a.view(), "second"));
  CHECK(a.json({"status"})["kmip"]["encrypted"] == false);
  CHECK(a.json({"kmip", "decrypt"})["changed"] == false);
  CHECK(!fs::exists(a.store / "applctl.db.rewrite"));
}

TEST_CASE("kmip encrypt: faults leave the store as it was, with their exit codes", "[integration][kmip][encrypt]") {
  // The process's one server, for every section (each runs the test case from the top): the
  // section that stops it finds it started again by the next one's shared().
  PyKmipServer& server = PyKmipServer::shared();
  Populated a(server);
  const std::string before = a.view();

  SECTION("no such key: exit 4, nothing changed") {
    const std::string db = clitest::slurp(a.db()), settings = clitest::slurp(a.store / "kmip.json");
    Result r = a.run({"kmip", "encrypt", "--key", "no-such-key"});
    CHECK(r.code == 4);
    CHECK(clitest::slurp(a.db()) == db);
    CHECK(clitest::slurp(a.store / "kmip.json") == settings);
  }
  SECTION("the server down: exit 7, nothing changed, no key left behind") {
    server.stop();
    const std::string db = clitest::slurp(a.db()), settings = clitest::slurp(a.store / "kmip.json");
    Result r = a.run({"kmip", "encrypt"});
    CHECK(r.code == 7);
    CHECK(clitest::slurp(a.db()) == db);
    CHECK(clitest::slurp(a.store / "kmip.json") == settings);
    CHECK(a.view() == before);
  }
  SECTION("the server gone between Create and Get: exit 7, nothing changed, the new key named") {
    CutOffRelay relay(server.port(), 1);  // kmip encrypt connects to Create, then again to Get
    nlohmann::json settings = nlohmann::json::parse(clitest::slurp(a.store / "kmip.json"));
    settings["port"] = relay.port;
    clitest::spit(a.store / "kmip.json", settings.dump());
    const std::string db = clitest::slurp(a.db()), saved = clitest::slurp(a.store / "kmip.json");
    Result r = a.run({"kmip", "encrypt"});
    CHECK(r.code == 7);
    CHECK(has(r.err, "still on the server, unused"));
    CHECK(has(relay.proc.out(), "connection 2"));
    CHECK(clitest::slurp(a.db()) == db);
    CHECK(clitest::slurp(a.store / "kmip.json") == saved);
    CHECK(a.view() == before);
    CHECK(a.json({"kmip", "status"})["encrypted"] == false);
  }
  SECTION("new KMIP settings must reach the store's key: another server is refused, the same one kept") {
    const std::string uid = a.json({"kmip", "encrypt"})["unique_identifier"];
    const std::string saved = clitest::slurp(a.store / "kmip.json");
    PyKmipServer other(pki());  // the same PKI, but it never saw the store's key
    auto configure = [&](int port, std::vector<std::string> extra) {
      std::vector<std::string> args{"kmip", "configure", "--host", "127.0.0.1", "--port", std::to_string(port), "--ca",
                                    pki() / "ca.crt", "--client-cert", pki() / "client.crt", "--client-key", pki() / "client.key"};
      args.insert(args.end(), extra.begin(), extra.end());
      return a.run(args);
    };
    Result moved = configure(other.port(), {});
    CHECK(moved.code == 4);
    CHECK(has(moved.err, "cannot reach the key '" + uid + "' that encrypts the store"));
    CHECK(configure(other.port(), {"--no-test"}).code == 5);
    CHECK(clitest::slurp(a.store / "kmip.json") == saved);
    CHECK(a.view() == before);
    // The same server with another timeout: saved, with the store's key and its check value.
    Result again = configure(server.port(), {"--timeout", "20"});
    INFO(again.err);
    CHECK(again.code == 0);
    nlohmann::json settings = nlohmann::json::parse(clitest::slurp(a.store / "kmip.json"));
    CHECK(settings["timeout_seconds"] == 20);
    CHECK(settings["encryption"] == nlohmann::json::parse(saved)["encryption"]);
    CHECK(a.view() == before);
  }
  SECTION("the key destroyed out of band: the store cannot be opened, and says why") {
    const std::string uid = a.json({"kmip", "encrypt"})["unique_identifier"];
    destroy_out_of_band(server.port(), uid);
    Result r = a.run({"--json", "cert", "list"});
    CHECK(r.code == 4);
    CHECK(has(r.out, uid));
    CHECK(has(r.out, "cannot open the encrypted store"));
  }
  SECTION("another key named in the settings: refused as the wrong key, not as damage") {
    a.json({"kmip", "encrypt"});
    const std::string other = a.json({"kmip", "create-key"})["unique_identifier"];
    nlohmann::json settings = nlohmann::json::parse(clitest::slurp(a.store / "kmip.json"));
    settings["encryption"]["key_unique_identifier"] = other;
    std::ofstream(a.store / "kmip.json") << settings.dump();
    Result r = a.run({"cert", "list"});
    CHECK(r.code == 1);
    CHECK(has(r.err, "is not the key this store was encrypted with"));
  }
  SECTION("an altered page: exit 1 naming the page, never garbage") {
    a.json({"kmip", "encrypt"});
    const auto size = fs::file_size(a.db());
    REQUIRE(size >= 3 * 4096);
    {
      std::fstream f(a.db(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(2 * 4096 + 100);
      f.put('\x5a');
    }
    const std::string altered = clitest::slurp(a.db());
    Result r = a.run({"cert", "list"});
    CHECK(r.code == 1);
    CHECK(has(r.err, "failed its authentication tag"));
    CHECK(has(r.err, "offset 8192"));
    CHECK(clitest::slurp(a.db()) == altered);
  }
}

// A kill loop (label long: the release half of scripts/test runs it, tests/CMakeLists.txt).
TEST_CASE("kmip encrypt killed at any moment: the store reads, plain or encrypted, with everything in it",
          "[integration][kmip][encrypt][long]") {
  PyKmipServer& server = PyKmipServer::shared();
  Populated a(server);
  const std::string before = a.view();
  // Eight moments in the release run; four over the same span under the sanitizers, where each
  // kill and the reads after it take seconds.
  const std::vector<int> delays_ms = clitest::full_or_sanitized(std::vector<int>{0, 30, 60, 90, 120, 160, 220, 300},
                                                                std::vector<int>{0, 60, 160, 300});
  for (int delay_ms : delays_ms) {
    INFO("killed after " << delay_ms << " ms");
    Background enc({APPLCTL_BIN, "--store", a.store.string(), "kmip", "encrypt"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    enc.stop(SIGKILL, 5s);
    CHECK(a.view() == before);
    if (a.json({"kmip", "status"})["encrypted"] == true) REQUIRE(a.run({"kmip", "decrypt"}).code == 0);
  }
}
