// ACME Renewal Information (RFC 9773) without a server (pebble 2.4 has none): the certificate
// identifier of the RFC's example, suggested windows as servers send them, the ones to refuse,
// and "replaces" in newOrder.
#include <cstdlib>
#include <thread>

#include "applctl/acme/order.hpp"
#include "applctl/base/timeutil.hpp"
#include "unit_pki.hpp"

namespace {
using namespace applctl;
using std::chrono::seconds;
using unit_pki::error_of;
using unit_pki::TempDir;
namespace fs = std::filesystem;
}  // namespace

TEST_CASE("acme: the ARI identifier of RFC 9773's example certificate", "[acme]") {
  // RFC 9773 section 4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4
  // and serial 00:87:65:43:21 give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
  TempDir dir;
  dir.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 "
         "-subj /CN=ARI-CA -addext subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 "
         "2>/dev/null");
  dir.sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=ari.example 2>/dev/null");
  dir.sh("printf 'authorityKeyIdentifier=keyid\\n' > leaf.ext");
  dir.sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x87654321 -days 10 -extfile leaf.ext "
         "-outform DER -out leaf.der 2>/dev/null");
  Bytes der = read_file(dir / "leaf.der");
  CHECK(acme::ari_cert_id(der) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");

  // A serial without its top bit set has no leading zero; no AKI, no identifier.
  dir.sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x1234 -days 10 -extfile leaf.ext "
         "-outform DER -out small.der 2>/dev/null");
  CHECK(acme::ari_cert_id(read_file(dir / "small.der")) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjQ");
  dir.sh("openssl x509 -in ca.pem -outform DER -out ca.der");
  dir.sh("openssl req -x509 -key ca.key -out noaki.pem -days 1 -subj /CN=x -addext authorityKeyIdentifier=none "
         "-addext subjectKeyIdentifier=none 2>/dev/null && openssl x509 -in noaki.pem -outform DER -out noaki.der");
  CHECK(error_of([&] { acme::ari_cert_id(read_file(dir / "noaki.der")); }).kind() == ErrorKind::BadInput);
}

TEST_CASE("acme: renewalInfo's suggested window as RFC 9773 shows it", "[acme]") {
  // RFC 9773 section 4.2's example response, with its Retry-After of 21600.
  const std::string body = R"({
    "suggestedWindow": {
      "start": "2025-01-02T04:00:00Z",
      "end": "2025-01-03T04:00:00Z"
    },
    "explanationURL": "https://acme.example.com/docs/ari"
  })";
  acme::RenewalWindow w = acme::parse_renewal_info(body, seconds(21600));
  CHECK(format_rfc3339(w.start) == "2025-01-02T04:00:00Z");
  CHECK(format_rfc3339(w.end) == "2025-01-03T04:00:00Z");
  CHECK(w.explanation_url == "https://acme.example.com/docs/ari");
  CHECK(w.retry_after == seconds(21600));

  // Offsets and fractions as Boulder sends them; no explanationURL; no Retry-After.
  acme::RenewalWindow b = acme::parse_renewal_info(
      R"({"suggestedWindow":{"start":"2025-03-01T10:30:00.123456789+02:00","end":"2025-03-02T08:30:00Z"}})", std::nullopt);
  CHECK(format_rfc3339(b.start) == "2025-03-01T08:30:00Z");
  CHECK(b.end - b.start == 86400);
  CHECK(b.explanation_url.empty());
  CHECK_FALSE(b.retry_after);
}

TEST_CASE("acme: renewalInfo that cannot be used is refused", "[acme]") {
  auto kind = [](const std::string& body) {
    return unit_pki::kind_of([&] { acme::parse_renewal_info(body, std::nullopt); });
  };
  CHECK(kind(R"({"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}})") == ErrorKind::Remote);
  CHECK(kind(R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-02T04:00:00Z"}})") == ErrorKind::Remote);
  CHECK(kind(R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z"}})") == ErrorKind::Remote);
  CHECK(kind(R"({"suggestedWindow":{"start":"yesterday","end":"2025-01-02T04:00:00Z"}})") == ErrorKind::Remote);
  CHECK(kind(R"({"suggestedWindow":{"start":20250102,"end":"2025-01-02T04:00:00Z"}})") == ErrorKind::Remote);
  CHECK(kind(R"({"explanationURL":"https://x"})") == ErrorKind::Remote);
  // Seen while writing fuzz/acme_json.cpp: an offset moves the times before year 0000, which the message
  // once re-formatted (a Failed error, exit 1); the message now quotes what the server sent.
  CHECK(kind(R"({"suggestedWindow":{"start":"0000-01-01T00:10:00+01:00","end":"0000-01-01T00:00:00+01:00"}})") ==
        ErrorKind::Remote);
  CHECK(kind("not json") == ErrorKind::Remote);
  CHECK(kind("[]") == ErrorKind::Remote);
}

TEST_CASE("acme: newOrder carries replaces only when given", "[acme]") {
  std::vector<acme::Identifier> ids = {{"dns", "test.example"}, {"ip", "192.0.2.1"}};
  CHECK(acme::new_order_payload(ids, std::nullopt) ==
        nlohmann::json::parse(R"({"identifiers":[{"type":"dns","value":"test.example"},{"type":"ip","value":"192.0.2.1"}]})"));
  CHECK(acme::new_order_payload(ids, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")["replaces"] == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

namespace {
// A stand-in ACME server (plain HTTP, python) whose directory offers renewalInfo and which
// answers GET renewalInfo/ID for one ID with RFC 9773's example window; 404 otherwise.
struct AriServer {
  TempDir dir;
  int port = 0;
  std::string pid;
  AriServer(const std::string& id, bool offer) {
    unit_pki::write_text(dir / "ari.py", R"PY(
import http.server, json, socket, sys
want, offer = sys.argv[1], sys.argv[2] == "1"
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
base = "http://127.0.0.1:%d" % port
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/dir":
            d = {"newNonce": base + "/nonce", "newAccount": base + "/acct", "newOrder": base + "/order"}
            if offer: d["renewalInfo"] = base + "/ari"
            body, code, extra = d, 200, {}
        elif self.path == "/ari/" + want:
            body = {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"},
                    "explanationURL": "https://acme.example.com/docs/ari"}
            code, extra = 200, {"Retry-After": "21600"}
        else:
            body, code, extra = {"type": "urn:ietf:params:acme:error:malformed", "detail": "no " + self.path}, 404, {}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if code == 200 else "application/problem+json")
        for k, v in extra.items(): self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
srv = http.server.HTTPServer(("127.0.0.1", port), H)
open("port", "w").write(str(port))
srv.serve_forever()
)PY");
    pid = unit_pki::run(dir.path().string(), "/usr/bin/python3 ari.py '" + id + "' " + (offer ? "1" : "0") +
                                                 " > ari.log 2>&1 & echo $!");
    // The port file is written once the server listens: polled (every 5 ms, 4 s at most) until
    // it holds the whole number, which the script writes after creating the file.
    std::string text;
    for (int i = 0; i < 800; ++i) {
      if (fs::exists(dir.path() / "port")) text = unit_pki::read_text(dir / "port");
      if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    INFO("ari.py did not write its port; ari.log: " << (fs::exists(dir.path() / "ari.log") ? unit_pki::read_text(dir / "ari.log") : ""));
    REQUIRE(!text.empty());
    port = std::stoi(text);
  }
  ~AriServer() { std::system(("kill " + pid).c_str()); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/dir"; }
};
}  // namespace

TEST_CASE("acme: renewal_info asks the directory's renewalInfo for the certificate's identifier", "[acme]") {
  TempDir dir;
  dir.sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 "
         "-subj /CN=ARI-CA -addext subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 "
         "2>/dev/null");
  dir.sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=ari.example 2>/dev/null");
  dir.sh("printf 'authorityKeyIdentifier=keyid\\n' > leaf.ext");
  dir.sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x87654321 -days 10 -extfile leaf.ext "
         "-outform DER -out leaf.der 2>/dev/null");
  dir.sh("openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 0x1234 -days 10 -extfile leaf.ext "
         "-outform DER -out other.der 2>/dev/null");
  const Bytes der = read_file(dir / "leaf.der");
  const PrivateKey account = PrivateKey::generate(KeySpec::parse("ec:P-256"));

  AriServer server("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", true);
  acme::Client client(server.url(), account, acme::HttpOptions{});
  std::optional<acme::RenewalWindow> w = acme::renewal_info(client, der);
  REQUIRE(w);
  CHECK(format_rfc3339(w->start) == "2025-01-02T04:00:00Z");
  CHECK(format_rfc3339(w->end) == "2025-01-03T04:00:00Z");
  CHECK(w->explanation_url == "https://acme.example.com/docs/ari");
  CHECK(w->retry_after == seconds(21600));
  // Another certificate: the server's 404 problem is a Remote error.
  CHECK(unit_pki::kind_of([&] { acme::renewal_info(client, read_file(dir / "other.der")); }) == ErrorKind::Remote);

  // A directory without renewalInfo: no window, and no request for one.
  AriServer plain("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", false);
  acme::Client other(plain.url(), account, acme::HttpOptions{});
  CHECK_FALSE(acme::renewal_info(other, der));
}
