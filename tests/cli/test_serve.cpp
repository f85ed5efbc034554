// applctl serve, end to end: a real server on 127.0.0.1 and 127.0.0.2 (all of 127/8 is loopback
// on Linux), a temporary store, and `openssl s_client` as the independent client that says which
// certificates were sent. Every wait is bounded; the server is always stopped with SIGTERM and
// must exit 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <regex>
#include <thread>

#include "background.hpp"
#include "test_pki.hpp"

namespace {

using clitest::Appliance;
using clitest::Background;
using clitest::Result;
using clitest::TempDir;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `applctl serve` on free ports of 127.0.0.1 and 127.0.0.2 over the appliance's store.
class Server {
 public:
  explicit Server(const Appliance& a, std::vector<std::string> extra = {}) : proc_(argv(a, std::move(extra))) {
    bool up = proc_.wait_until([](const std::string& out, const std::string&) {
      return std::regex_search(out, std::regex(R"(listening on 127\.0\.0\.2:\d+\n)"));
    });
    INFO("serve stdout: " << proc_.out() << "\nstderr: " << proc_.err());
    REQUIRE(up);
    std::smatch m;
    std::string out = proc_.out();
    REQUIRE(std::regex_search(out, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))")));
    port1 = std::stoi(m[1]);
    REQUIRE(std::regex_search(out, m, std::regex(R"(listening on 127\.0\.0\.2:(\d+))")));
    port2 = std::stoi(m[1]);
  }
  Background& proc() { return proc_; }
  // SIGTERM; the exit code.
  int stop() { return proc_.stop(SIGTERM); }

  int port1 = 0, port2 = 0;

 private:
  static std::vector<std::string> argv(const Appliance& a, std::vector<std::string> extra) {
    std::vector<std::string> v{APPLCTL_BIN, "--store", a.store.string(), "-v", "serve", "--listen", "127.0.0.1:0",
                               "--listen", "127.0.0.2:0"};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  }
  Background proc_;
};

std::string normalize_fingerprint(const std::string& openssl_out) {
  std::string v = openssl_out.substr(openssl_out.find('=') + 1), out;
  for (char c : v)
    if (std::isxdigit(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The PEM certificates in s_client -showcerts output, in order.
std::vector<std::string> pem_blocks(const std::string& text) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
  for (auto b = text.find(begin); b != std::string::npos; b = text.find(begin, b + 1)) {
    auto e = text.find(end, b);
    if (e == std::string::npos) break;
    out.push_back(text.substr(b, e + end.size() - b) + "\n");
  }
  return out;
}

std::string fingerprint_of_pem(const std::string& pem) {
  Result r = clitest::openssl({"x509", "-noout", "-fingerprint", "-sha256"}, pem);
  REQUIRE(r.code == 0);
  return normalize_fingerprint(r.out);
}

// The fingerprints of the chain an `openssl s_client` is sent, leaf first. sni nullopt: none.
std::vector<std::string> served_chain(const std::string& ip, int port, const std::optional<std::string>& sni) {
  std::vector<std::string> argv{"timeout", "20", "openssl", "s_client", "-connect", ip + ":" + std::to_string(port),
                                "-showcerts"};
  if (sni) {
    argv.push_back("-servername");
    argv.push_back(*sni);
  } else {
    argv.push_back("-noservername");
  }
  Result r = clitest::run_process(argv);
  INFO("s_client " << ip << ":" << port << " sni " << sni.value_or("(none)") << ": " << r.code << "\n" << r.out << r.err);
  REQUIRE(r.code == 0);
  std::vector<std::string> fps;
  for (const auto& pem : pem_blocks(r.out)) fps.push_back(fingerprint_of_pem(pem));
  REQUIRE(!fps.empty());
  return fps;
}

std::string served_leaf(const std::string& ip, int port, const std::optional<std::string>& sni) {
  return served_chain(ip, port, sni).front();
}

// Polls until the leaf served for (ip, sni) is `want`; bounded.
bool eventually_served(const std::string& ip, int port, const std::optional<std::string>& sni, const std::string& want) {
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
    if (served_leaf(ip, port, sni) == want) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

std::string fingerprint(const Appliance& a, const std::string& name) {
  return a.json({"cert", "show", name})["fingerprint_sha256"].get<std::string>();
}

// An appliance with the factory default, `www` (www.example.com), `wild` (*.example.com) and
// `ipcert` (ip.example.com), all EC P-256 with their keys.
void populate(const Appliance& a) {
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "self-signed", "--name", "www", "--key", "ec:P-256", "--cn", "www.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "self-signed", "--name", "wild", "--key", "ec:P-256", "--cn", "*.example.com"}).code == 0);
  REQUIRE(a.run({"cert", "self-signed", "--name", "ipcert", "--key", "ec:P-256", "--cn", "ip.example.com"}).code == 0);
}

// A plain TCP connection (the test's own misbehaving client), with a receive timeout.
struct RawClient {
  int fd = -1;
  RawClient(const std::string& ip, int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  }
  ~RawClient() { close(); }
  void send(const std::string& data) const { REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size())); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  // Reads until the server closes (true) or the receive timeout (false).
  bool closed_by_server() const {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
};

}  // namespace

TEST_CASE("serve presents the certificate SNI selects: exact, wildcard, none, unknown", "[cli][serve]") {
  Appliance a;
  populate(a);
  const std::string www = fingerprint(a, "www"), wild = fingerprint(a, "wild"),
                    factory = fingerprint(a, "factory-default");
  Server s(a);

  CHECK(served_leaf("127.0.0.1", s.port1, "www.example.com") == www);
  CHECK(served_leaf("127.0.0.1", s.port1, "WWW.Example.COM") == www);
  CHECK(served_leaf("127.0.0.1", s.port1, "shop.example.com") == wild);
  CHECK(served_leaf("127.0.0.1", s.port1, std::nullopt) == factory);
  CHECK(served_leaf("127.0.0.1", s.port1, "unknown.test") == factory);
  CHECK(served_leaf("127.0.0.1", s.port1, "a.b.example.com") == factory);  // a wildcard covers one label
  // The same answers as `sni resolve`.
  for (const char* name : {"www.example.com", "shop.example.com", "unknown.test"})
    CHECK(served_leaf("127.0.0.2", s.port2, std::string(name)) == a.json({"sni", "resolve", name})["fingerprint_sha256"]);

  CHECK(s.stop() == 0);
  std::string log = s.proc().err();
  INFO(log);
  // -v: one line per connection with the SNI name, the rule and the certificate; never a key.
  CHECK(log.find("sni=www.example.com rule=exact-san cert='www'") != std::string::npos);
  CHECK(log.find("sni=shop.example.com rule=wildcard-san cert='wild'") != std::string::npos);
  CHECK(log.find("sni=- rule=default cert='factory-default'") != std::string::npos);
  CHECK(log.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("serve picks by the local address the client connected to", "[cli][serve]") {
  Appliance a;
  populate(a);
  REQUIRE(a.run({"ip", "add", "127.0.0.2"}).code == 0);
  REQUIRE(a.run({"ip", "assign", "ipcert", "127.0.0.2"}).code == 0);
  Server s(a);
  const std::string ipcert = fingerprint(a, "ipcert"), factory = fingerprint(a, "factory-default");
  CHECK(served_leaf("127.0.0.2", s.port2, std::nullopt) == ipcert);
  CHECK(served_leaf("127.0.0.1", s.port1, std::nullopt) == factory);
  CHECK(served_leaf("127.0.0.2", s.port2, "unknown.test") == ipcert);
  // A matching SAN wins over the address.
  CHECK(served_leaf("127.0.0.2", s.port2, "www.example.com") == fingerprint(a, "www"));
  CHECK(s.stop() == 0);
  CHECK(s.proc().err().find("rule=address cert='ipcert'") != std::string::npos);
}

TEST_CASE("serve sends the chain its chain mode says, and sees chain set without a signal", "[cli][serve]") {
  TempDir pki;
  auto p = [&](const std::string& n) { return (pki / n).string(); };
  clitest::spit(pki / "ext.cnf",
                "[req]\ndistinguished_name = dn\n[dn]\n"
                "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
                "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
                "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:chain.example.com\n"
                "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n");
  auto ok = [](const Result& r) {
    INFO(r.err);
    REQUIRE(r.code == 0);
  };
  for (const char* k : {"root", "int", "leaf"})
    ok(clitest::openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p(std::string(k) + ".key")}));
  ok(clitest::openssl({"req", "-x509", "-new", "-key", p("root.key"), "-subj", "/CN=Serve Test Root", "-days", "3650",
                       "-config", p("ext.cnf"), "-extensions", "ca", "-out", p("root.pem")}));
  ok(clitest::openssl({"req", "-new", "-key", p("int.key"), "-subj", "/CN=Serve Test Intermediate", "-out", p("int.csr")}));
  ok(clitest::openssl({"x509", "-req", "-in", p("int.csr"), "-CA", p("root.pem"), "-CAkey", p("root.key"), "-days", "1825",
                       "-extfile", p("ext.cnf"), "-extensions", "ca", "-out", p("int.pem")}));
  ok(clitest::openssl({"req", "-new", "-key", p("leaf.key"), "-subj", "/CN=chain.example.com", "-out", p("leaf.csr")}));
  ok(clitest::openssl({"x509", "-req", "-in", p("leaf.csr"), "-CA", p("int.pem"), "-CAkey", p("int.key"), "-days", "365",
                       "-extfile", p("ext.cnf"), "-extensions", "leaf", "-out", p("leaf.pem")}));
  const std::string leaf_fp = fingerprint_of_pem(clitest::slurp(pki / "leaf.pem"));
  const std::string int_fp = fingerprint_of_pem(clitest::slurp(pki / "int.pem"));
  const std::string root_fp = fingerprint_of_pem(clitest::slurp(pki / "root.pem"));

  Appliance a;
  REQUIRE(a.run({"init", "--hostname", "appl.example.com"}).code == 0);
  Result imp = a.run({"cert", "import", "--name", "ca-web", p("leaf.pem"), p("leaf.key"), p("int.pem"), p("root.pem")});
  INFO(imp.out << imp.err);
  REQUIRE(imp.code == 0);
  auto shown = a.json({"cert", "show", "ca-web"})["chain"]["certificates"].get<std::vector<std::string>>();
  REQUIRE(shown == std::vector<std::string>{leaf_fp, int_fp, root_fp});

  Server s(a);  // polls the store every second (the default)
  CHECK(served_chain("127.0.0.1", s.port1, "chain.example.com") == shown);  // automatic: leaf, intermediate, root

  REQUIRE(a.run({"chain", "set", "ca-web", "--manual", p("int.pem")}).code == 0);
  auto manual = a.json({"cert", "show", "ca-web"})["chain"]["certificates"].get<std::vector<std::string>>();
  REQUIRE(manual == std::vector<std::string>{leaf_fp, int_fp});
  bool changed = false;
  for (auto end = std::chrono::steady_clock::now() + 10s; !changed && std::chrono::steady_clock::now() < end;) {
    changed = served_chain("127.0.0.1", s.port1, "chain.example.com") == manual;
    if (!changed) std::this_thread::sleep_for(200ms);
  }
  CHECK(changed);
  CHECK(s.stop() == 0);
  CHECK(s.proc().err().find("reloaded the store (the store changed)") != std::string::npos);
}

TEST_CASE("serve: ip assign then SIGHUP serves the new certificate, open connections finish", "[cli][serve]") {
  Appliance a;
  populate(a);
  REQUIRE(a.run({"ip", "add", "127.0.0.2"}).code == 0);
  const std::string ipcert = fingerprint(a, "ipcert"), factory = fingerprint(a, "factory-default");
  Server s(a, {"--poll-interval", "0"});  // only SIGHUP reloads
  CHECK(served_leaf("127.0.0.2", s.port2, std::nullopt) == factory);

  // A client that shook hands before the change and sends its request after the reload.
  TempDir tmp;
  const fs::path fifo = tmp / "stdin";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::optional<Background> early;
  int writer = -1;
  std::thread opener([&] { writer = ::open(fifo.c_str(), O_WRONLY); });  // pairs with the client's open
  early.emplace(std::vector<std::string>{"timeout", "20", "openssl", "s_client", "-connect",
                                         "127.0.0.2:" + std::to_string(s.port2), "-noservername", "-ign_eof"},
                fifo);
  opener.join();
  REQUIRE(writer >= 0);
  CHECK(early->wait_until([](const std::string& out, const std::string&) { return out.find("Verify return code") != std::string::npos; }));

  REQUIRE(a.run({"ip", "assign", "ipcert", "127.0.0.2"}).code == 0);
  std::this_thread::sleep_for(1500ms);
  CHECK(served_leaf("127.0.0.2", s.port2, std::nullopt) == factory);  // no poll: not yet
  s.proc().signal(SIGHUP);
  CHECK(eventually_served("127.0.0.2", s.port2, std::nullopt, ipcert));

  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::write(writer, get.data(), get.size()) == static_cast<ssize_t>(get.size()));
  ::close(writer);
  CHECK(early->wait_until([](const std::string& out, const std::string&) { return out.find("cipher:") != std::string::npos; }));
  std::string early_out = early->out();
  INFO(early_out);
  CHECK(early_out.find("HTTP/1.1 200 OK") != std::string::npos);
  CHECK(early_out.find("fingerprint_sha256: " + factory) != std::string::npos);  // what it shook hands with
  early.reset();

  CHECK(s.stop() == 0);
  CHECK(s.proc().err().find("reloaded the store (SIGHUP)") != std::string::npos);
}

TEST_CASE("serve answers an HTTP GET with a text/plain status and closes", "[cli][serve]") {
  Appliance a;
  populate(a);
  Server s(a);
  auto request = [&](const std::string& text) {
    return clitest::run_process({"timeout", "20", "openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(s.port1),
                                 "-servername", "www.example.com", "-quiet"},
                                {}, text);
  };
  Result r = request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(r.out.find("Content-Type: text/plain") != std::string::npos);
  CHECK(r.out.find("certificate: www\n") != std::string::npos);
  CHECK(r.out.find("fingerprint_sha256: " + fingerprint(a, "www") + "\n") != std::string::npos);
  CHECK(r.out.find("rule: exact-san\n") != std::string::npos);
  CHECK(r.out.find("sni: www.example.com\n") != std::string::npos);
  CHECK(r.out.find("address: 127.0.0.1\n") != std::string::npos);

  Result post = request("POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 0\r\n\r\n");
  CHECK(post.out.find("HTTP/1.1 405") == 0);
  Result junk = request("hello\n\n");
  CHECK(junk.out.find("HTTP/1.1 400") == 0);
  CHECK(s.stop() == 0);
}

TEST_CASE("serve survives garbage, early disconnects and stalled clients", "[cli][serve]") {
  Appliance a;
  populate(a);
  Server s(a, {"--timeout", "1"});
  const std::string www = fingerprint(a, "www");

  RawClient stalled("127.0.0.1", s.port1);  // connects and says nothing
  {
    RawClient garbage("127.0.0.1", s.port1);
    garbage.send(std::string("GET / HTTP/1.1\r\n\r\n") + std::string(2000, '\xff'));
    CHECK(garbage.closed_by_server());
  }
  {
    RawClient partial("127.0.0.2", s.port2);  // the start of a ClientHello, then gone
    partial.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  }
  { RawClient gone("127.0.0.1", s.port1); }  // connects and closes at once
  {
    RawClient half("127.0.0.1", s.port1);  // a record header announcing more than it sends
    half.send(std::string("\x16\x03\x01\x40\x00", 5));
    ::shutdown(half.fd, SHUT_WR);
    CHECK(half.closed_by_server());
  }
  {
    // Whole ClientHellos from clients that are gone before the answer (a reset for some): the
    // server's writes fail with EPIPE / ECONNRESET, which must not kill it (SIGPIPE).
    Result r = clitest::run_process({"python3", "-c", R"py(
import socket, ssl, struct, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for i in range(40):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    t = ctx.wrap_socket(s, server_hostname="www.example.com", do_handshake_on_connect=False)
    t.setblocking(False)
    try:
        t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    if i % 2:
        t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    t.close()
print("sent")
)py",
                                     std::to_string(s.port1)});
    INFO(r.err);
    CHECK(r.out == "sent\n");
  }
  // Others are served while the stalled client is still connected.
  CHECK(served_leaf("127.0.0.1", s.port1, "www.example.com") == www);
  CHECK(served_leaf("127.0.0.2", s.port2, "www.example.com") == www);
  // The stalled client is dropped after --timeout (1 s here); the receive timeout is 5 s.
  auto t0 = std::chrono::steady_clock::now();
  CHECK(stalled.closed_by_server());
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  CHECK(s.proc().running());
  CHECK(served_leaf("127.0.0.1", s.port1, "www.example.com") == www);
  CHECK(s.stop() == 0);
  CHECK(s.proc().err().find("handshake timed out") != std::string::npos);
}

TEST_CASE("serve: port in use is exit 7, a bad address exit 2, no default certificate exit 4", "[cli][serve]") {
  Appliance a;
  populate(a);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  const std::string busy = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));

  Result r = clitest::run_process({"timeout", "20", APPLCTL_BIN, "--store", a.store.string(), "serve", "--listen", busy});
  ::close(fd);
  CHECK(r.code == 7);
  CHECK(r.out.empty());
  CHECK(r.err.find("cannot listen on " + busy) != std::string::npos);
  CHECK(r.err.find("in use") != std::string::npos);
  Result j = clitest::run_process({"timeout", "20", APPLCTL_BIN, "--store", a.store.string(), "--json", "serve", "--listen",
                                   "127.0.0.1:0", "--listen", "192.0.2.1:0"});
  CHECK(j.code == 7);  // not a local address
  CHECK(j.json()["error"]["code"] == "remote-failed");

  for (const char* bad : {"localhost:8443", "127.0.0.1", "::1:8443", "127.0.0.1:70000", "[::1]8443"}) {
    INFO(bad);
    CHECK(clitest::run_process({"timeout", "20", APPLCTL_BIN, "--store", a.store.string(), "serve", "--listen", bad}).code == 2);
  }
  Appliance empty;  // no store at all: nothing to serve, and nothing created
  Result none = clitest::run_process({"timeout", "20", APPLCTL_BIN, "--store", empty.store.string(), "serve", "--listen", "127.0.0.1:0"});
  CHECK(none.code == 4);
  CHECK_FALSE(fs::exists(empty.store));
}

TEST_CASE("serve listens on IPv6 when the machine has ::1", "[cli][serve]") {
  Appliance a;
  populate(a);
  Background proc({APPLCTL_BIN, "--store", a.store.string(), "serve", "--listen", "[::1]:0"});
  bool up = proc.wait_until([](const std::string& out, const std::string&) { return out.find("listening on [::1]:") != std::string::npos; });
  if (!up) {
    CHECK(proc.stop() == 7);  // no IPv6 loopback here: a clear bind error
    WARN("no IPv6 loopback: " << proc.err());
    return;
  }
  std::smatch m;
  std::string out = proc.out();
  REQUIRE(std::regex_search(out, m, std::regex(R"(listening on \[::1\]:(\d+))")));
  Result r = clitest::run_process({"timeout", "20", "openssl", "s_client", "-connect", "[::1]:" + std::string(m[1]),
                                   "-servername", "www.example.com", "-showcerts"});
  REQUIRE(r.code == 0);
  CHECK(fingerprint_of_pem(pem_blocks(r.out).at(0)) == fingerprint(a, "www"));
  CHECK(proc.stop() == 0);
}

TEST_CASE("sni: the factory default certificate is the last resort, never chosen over the operator's",
          "[cli][serve][sni]") {
  Appliance a;
  const auto& pki = clitest::test_pki();
  REQUIRE(a.run({"init", "--hostname", "support.example.com"}).code == 0);
  const std::string factory = fingerprint(a, "factory-default");
  // The operator's CA-signed certificate for the same name; the factory one expires years later.
  REQUIRE(a.run({"csr", "create", "--name", "web", "--key", "ec:P-256", "--cn", "support.example.com", "-o",
                 (a.dir / "web.csr").string()})
              .code == 0);
  pki.sign_csr(a.dir / "web.csr", a.dir / "web.pem");
  REQUIRE(a.run({"cert", "import", (a.dir / "web.pem").string()}).code == 0);
  const std::string web = fingerprint(a, "web");

  nlohmann::json r = a.json({"sni", "resolve", "support.example.com"});
  CHECK(r["certificate"] == "web");
  CHECK(r["rule"] == "exact-san");
  // No name matches and the operator chose no default yet: the factory default is the default.
  CHECK(a.json({"sni", "resolve", "other.example.net"})["certificate"] == "factory-default");
  REQUIRE(a.run({"cert", "default", "web"}).code == 0);
  r = a.json({"sni", "resolve", "other.example.net"});
  CHECK(r["certificate"] == "web");
  CHECK(r["rule"] == "default");
  // An address served by the factory default (ip add) is honoured by address, never over a name.
  REQUIRE(a.run({"ip", "add", "127.0.0.2"}).code == 0);
  r = a.json({"sni", "resolve", "other.example.net", "--ip", "127.0.0.2"});
  CHECK(r["certificate"] == "factory-default");
  CHECK(r["rule"] == "address");
  CHECK(a.json({"sni", "resolve", "support.example.com", "--ip", "127.0.0.2"})["certificate"] == "web");
  REQUIRE(a.run({"ip", "assign", "web", "127.0.0.2"}).code == 0);
  CHECK(a.json({"sni", "resolve", "support.example.com", "--ip", "127.0.0.2"})["certificate"] == "web");

  {  // What a real TLS client is served agrees.
    Server s(a);
    CHECK(served_leaf("127.0.0.1", s.port1, std::string("support.example.com")) == web);
    CHECK(served_leaf("127.0.0.2", s.port2, std::string("support.example.com")) == web);
    CHECK(served_leaf("127.0.0.1", s.port1, std::nullopt) == web);
    s.stop();
  }

  // New hostnames re-issue the factory certificate for them, in its place.
  nlohmann::json init = a.json({"init", "--hostname", "appl.example.org"});
  CHECK(init["hostnames_changed"] == true);
  CHECK(init["factory_reissued"] == true);
  nlohmann::json f = a.json({"cert", "show", "factory-default"});
  CHECK(f["fingerprint_sha256"] != factory);
  CHECK(f["alt_names"] == nlohmann::json::array({"DNS:appl.example.org"}));
  REQUIRE(a.run({"cert", "export", "factory-default", "--format", "der", "-o", (a.dir / "factory.cer").string()}).code == 0);
  Result text = clitest::openssl_ok({"x509", "-inform", "DER", "-in", (a.dir / "factory.cer").string(), "-noout", "-ext",
                                     "subjectAltName"});
  CHECK(clitest::has(text.out, "DNS:appl.example.org"));
  CHECK_FALSE(clitest::has(text.out, "support.example.com"));
  // The same hostnames again: nothing changes.
  CHECK(a.json({"init", "--hostname", "appl.example.org"})["factory_reissued"] == false);
  CHECK(a.json({"cert", "show", "factory-default"})["fingerprint_sha256"] == f["fingerprint_sha256"]);
}
