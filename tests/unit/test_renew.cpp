// [renew] renew_certificates on a real store: the ACME seam (a fake AcmeRenewer), windows that win
// over --before, the renewal state the store records, and what plan_renewals refuses.
#include <algorithm>

#include <catch2/catch.hpp>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/renew.hpp"
#include "unit_pki.hpp"

using namespace applctl;
using unit_pki::has_code;
using unit_pki::kind_of;
using unit_pki::TempDir;

namespace {

using unit_pki::kDay;

CertSummary add_self_signed(Store& store, const std::string& name, int days = 90) {
  SelfSignedRequest r;
  r.name = name;
  r.key = KeySpec::parse("ec:P-256");
  r.subject.cn = name + ".example.com";
  r.days = days;
  return create_self_signed(store, r);
}

void mark_acme(Store& store, std::int64_t id) {
  AcmeOrigin o;
  o.server = "https://acme.test/dir";
  o.identifiers = {"acme.example.com"};
  auto tx = store.write("test acme origin");
  store.set_renewal_origin(id, "acme", o.to_json().dump());
  tx.commit();
}

// An ACME server stand-in: a window when asked, a certificate for the key when re-ordering, or a
// remote failure.
class FakeAcme : public AcmeRenewer {
 public:
  std::optional<RenewalWindow> window;
  bool down = false;
  int orders = 0;
  std::string server_seen;
  std::function<void()> during_order;  // e.g. another command renewing the same certificate
  std::optional<RenewalWindow> suggested_window(const AcmeOrigin& origin, const CertRow&, BytesView) override {
    server_seen = origin.server;
    return window;
  }
  Decoded reorder(const AcmeOrigin& origin, const PrivateKey& key, const CertRow& old, BytesView) override {
    ++orders;
    if (during_order) during_order();
    if (down) fail(ErrorKind::Remote, "cannot connect to " + origin.server);
    NewCertificate spec;
    spec.subject.cn = old.issued_to;
    spec.sans = {{SanType::DNS, old.issued_to}};
    spec.days = 90;
    Decoded d;
    d.format = "pem";
    d.certificates.push_back(make_self_signed(key, spec));
    return d;
  }
};

}  // namespace

TEST_CASE("renew: nothing due in a new store of 90-day certificates and no change", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  add_self_signed(store, "web");
  const auto head = store.audit_head();
  RenewRequest req;
  req.all = true;
  RenewResult r = renew_certificates(store, req, nullptr);
  CHECK(r.exit_code() == 11);
  CHECK(r.renewed.empty());
  REQUIRE(r.not_due.size() == 2);  // web and the factory default
  CHECK(store.audit_head() == head);
}

TEST_CASE("renew: a forced self-signed renewal keeps the row and records success", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  CertSummary web = add_self_signed(store, "web");
  RenewRequest req;
  req.refs = {"web"};
  req.force = true;
  RenewResult r = renew_certificates(store, req, nullptr);
  REQUIRE(r.renewed.size() == 1);
  CHECK(r.exit_code() == 0);
  CertRow after = *store.cert_by_id(web.row.id);
  CHECK(after.friendly_name == "web");
  CHECK(after.fingerprint_sha256 == r.renewed[0].fingerprint_sha256);
  CHECK(after.fingerprint_sha256 != web.row.fingerprint_sha256);
  CHECK(after.key_id == web.row.key_id);
  CHECK(after.not_after - after.not_before == web.row.not_after - web.row.not_before);
  auto state = store.renewal_state(web.row.id);
  REQUIRE(state);
  CHECK(state->last_success);
  CHECK_FALSE(state->failed());
}

TEST_CASE("renew: an ACME certificate without a renewer fails alone and is recorded", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  CertSummary acme = add_self_signed(store, "acme");
  CertSummary web = add_self_signed(store, "web");
  mark_acme(store, acme.row.id);
  RenewRequest req;
  req.refs = {"acme", "web"};
  req.force = true;
  RenewPlan plan = plan_renewals(store, req);
  // What the CLI asks before it runs applctl-acme, and the plan's view of the same certificate.
  CHECK(store.has_renewal_method("acme"));
  CHECK(std::any_of(plan.due.begin(), plan.due.end(), [](const RenewPlanEntry& e) { return e.method == RenewMethod::Acme; }));
  RenewResult r = renew_certificates(store, req, nullptr);
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0].friendly_name == "acme");
  CHECK(r.failed[0].error.find("ACME") != std::string::npos);
  REQUIRE(r.renewed.size() == 1);
  CHECK(r.renewed[0].friendly_name == "web");
  CHECK(r.exit_code() == 1);
  CHECK(store.cert_by_id(acme.row.id)->fingerprint_sha256 == acme.row.fingerprint_sha256);
  auto state = store.renewal_state(acme.row.id);
  REQUIRE(state);
  CHECK(state->failed());
  CHECK(state->method == "acme");
  CHECK(has_code(summarize(store, *store.cert_by_id(acme.row.id)).warnings, "renewal-failed"));
}

TEST_CASE("renew: an ACME certificate re-ordered through the renewer, a remote failure is exit 7", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  CertSummary acme = add_self_signed(store, "acme");
  mark_acme(store, acme.row.id);
  FakeAcme server;
  RenewRequest req;
  req.refs = {"acme"};
  req.force = true;
  req.rekey = true;
  RenewResult r = renew_certificates(store, req, &server);
  REQUIRE(r.renewed.size() == 1);
  CHECK(r.renewed[0].method == RenewMethod::Acme);
  CHECK(r.renewed[0].rekeyed);
  CHECK(server.orders == 1);
  CHECK(server.server_seen == "https://acme.test/dir");
  CertRow after = *store.cert_by_id(acme.row.id);
  CHECK(after.fingerprint_sha256 == r.renewed[0].fingerprint_sha256);
  CHECK(after.key_id != acme.row.key_id);

  server.down = true;
  RenewResult failed = renew_certificates(store, req, &server);
  REQUIRE(failed.failed.size() == 1);
  CHECK(failed.exit_code() == 7);
  CHECK(store.cert_by_id(acme.row.id)->fingerprint_sha256 == after.fingerprint_sha256);
  CHECK(store.renewal_state(acme.row.id)->failed());
}

TEST_CASE("renew: the ACME server's window wins over the default rule", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  CertSummary acme = add_self_signed(store, "acme");
  mark_acme(store, acme.row.id);
  FakeAcme server;
  RenewRequest req;
  req.refs = {"acme"};
  req.pick = [] { return 0.5; };
  // a fresh 90-day certificate is not due by the default rule, but a window in the past is due now
  server.window = RenewalWindow{now() - 2 * kDay, now() - kDay};
  RenewResult r = renew_certificates(store, req, &server);
  CHECK(r.renewed.size() == 1);
  // a window in the future: not due, and the due time is inside the window
  server.window = RenewalWindow{now() + 10 * kDay, now() + 12 * kDay};
  RenewResult later = renew_certificates(store, req, &server);
  CHECK(later.renewed.empty());
  REQUIRE(later.not_due.size() == 1);
  CHECK(later.not_due[0].due == server.window->start + kDay);
  CHECK(later.exit_code() == 11);
}

TEST_CASE("renew: a caller's window wins over --before", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  add_self_signed(store, "web");
  RenewRequest req;
  req.refs = {"web"};
  req.before = parse_renew_before("1/1");  // due now without a window
  req.window = [](const CertRow&) { return std::optional<RenewalWindow>(RenewalWindow{now() + kDay, now() + 2 * kDay}); };
  CHECK(plan_renewals(store, req).due.empty());
  req.window = nullptr;
  CHECK(plan_renewals(store, req).due.size() == 1);
}

TEST_CASE("renew: plan needs CERT or --all (not both) and refuses an unknown name", "[renew]") {
  TempDir tmp;
  Store store = Store::open(tmp.path() / "s", Store::Mode::ReadWrite);
  add_self_signed(store, "web");
  RenewRequest none;
  CHECK(kind_of([&] { plan_renewals(store, none); }) == ErrorKind::Usage);
  RenewRequest both;
  both.all = true;
  both.refs = {"web"};
  CHECK(kind_of([&] { plan_renewals(store, both); }) == ErrorKind::Usage);
  RenewRequest unknown;
  unknown.refs = {"web", "nope"};
  CHECK(kind_of([&] { plan_renewals(store, unknown); }) == ErrorKind::NotFound);
}

TEST_CASE("renew: a certificate another run renewed meanwhile is not overwritten and keeps its success", "[renew]") {
  TempDir tmp;
  const auto dir = tmp.path() / "s";
  Store store = Store::open(dir, Store::Mode::ReadWrite);
  CertSummary acme = add_self_signed(store, "acme");
  mark_acme(store, acme.row.id);
  RenewRequest req;
  req.refs = {"acme"};
  req.force = true;
  FakeAcme other_server;
  std::string other_fp;
  FakeAcme server;
  // while this run waits for the server (no lock held), a second run renews the certificate
  server.during_order = [&] {
    Store other = Store::open(dir, Store::Mode::ReadWrite);
    RenewResult r = renew_certificates(other, req, &other_server);
    REQUIRE(r.renewed.size() == 1);
    other_fp = r.renewed[0].fingerprint_sha256;
  };
  RenewResult r = renew_certificates(store, req, &server);
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0].error.find("another command") != std::string::npos);
  CHECK(store.cert_by_id(acme.row.id)->fingerprint_sha256 == other_fp);
  auto state = store.renewal_state(acme.row.id);
  REQUIRE(state);
  CHECK_FALSE(state->failed());
  CHECK(state->last_success);
}
