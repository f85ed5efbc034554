// `apply`: compare the file with the store, print the plan, then carry it out in one transaction.
// The plan is a list of actions for people and, beside it, the steps that make them; keys are
// generated and certificates signed while planning, before the store is locked.
#include <functional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "applctl/services/appliance.hpp"
#include "applctl/services/import.hpp"
#include "applctl/provision/provision.hpp"
#include "provision/kmip.hpp"

namespace applctl {

namespace {

using Step = std::function<void(Store&, Transaction&)>;

// The store as the plan sees it before any change.
struct Snapshot {
  std::vector<CertRow> rows;
  std::unordered_map<std::string, const CertRow*> by_name, by_fingerprint;
  std::unordered_map<std::int64_t, const CertRow*> by_id;
  std::optional<std::int64_t> factory, default_id;
  std::vector<std::string> hostnames;
  std::vector<IpRow> ips;
  std::int64_t audit_head = 0;

  explicit Snapshot(const Store& store) : rows(store.list_certs()) {
    for (const auto& r : rows) {
      by_name[r.friendly_name] = &r;
      by_fingerprint[r.fingerprint_sha256] = &r;
      by_id[r.id] = &r;
    }
    factory = factory_cert_id(store);
    default_id = default_cert_id(store);
    hostnames = appliance_hostnames(store);
    ips = store.list_ips();
    audit_head = store.audit_head();
  }
  const CertRow* name(const std::string& n) const {
    auto it = by_name.find(n);
    return it == by_name.end() ? nullptr : it->second;
  }
  const CertRow* fingerprint(const std::string& fp) const {
    auto it = by_fingerprint.find(fp);
    return it == by_fingerprint.end() ? nullptr : it->second;
  }
  const CertRow* id(std::optional<std::int64_t> id) const {
    if (!id) return nullptr;
    auto it = by_id.find(*id);
    return it == by_id.end() ? nullptr : it->second;
  }
};

std::string short_fp(const std::string& fp) { return fp.substr(0, 16); }

std::int64_t id_of(const Store& store, const std::string& name) {
  auto row = store.cert_by_name(name);
  if (!row) fail(ErrorKind::Failed, fmt::format("internal: certificate '{}' vanished during apply", name));
  return row->id;
}

// A new certificate under a temporary name takes the place of `old` and then its name.
void insert_in_place_of(Store& store, const CertRow& old, const CertInfo& info, BytesView der,
                        std::optional<std::int64_t> key_id, std::string_view source) {
  const std::string temp = fmt::format("{} (new {})", old.friendly_name, info.fingerprint_sha256.substr(0, 8));
  std::int64_t id = store.insert_cert(info, der, temp, key_id, source);
  replace_certificate(store, old, id);
  store.rename_cert(id, old.friendly_name);
}

// What the file says of one imported certificate entry.
struct ImportPlan {
  std::vector<CertInfo> infos;  // of decoded.certificates
  std::size_t named = 0;        // index of the certificate the entry's name is for
  std::string named_fp;
  bool has_key = false;         // the named certificate's key is in the file or the store
};

class Planner {
 public:
  Planner(const Store& store, const ApplyRequest& request)
      : store_(store), file_(request.file), dry_run_(request.dry_run), prune_(request.prune), now_(store) {
    for (const auto& c : file_.certificates) entry_names_.insert(c.name);
  }

  // The actions that bring the store to the file's state, and the steps that make them.
  void plan() {
    for (const auto& c : file_.certificates)
      if (c.import) file_fingerprints_.insert(import_plans_.emplace(c.name, inspect_import(c)).first->second.named_fp);
    plan_hostnames_and_factory();
    for (const auto& c : file_.certificates) {
      if (c.self_signed) plan_self_signed(c);
      else plan_import(c);
    }
    plan_factory_switch();
    if (file_.ips) plan_ips();
    if (file_.default_cert) plan_default();
    if (prune_ && !file_.certificates.empty()) plan_prune_certificates();
    if (file_.kmip) plan_kmip_settings();
  }

  const std::vector<PlanAction>& actions() const { return actions_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool changes_kmip() const { return changes_kmip_; }
  // True when nothing changed the store since the snapshot the plan was made from.
  bool current(const Store& store) const { return store.audit_head() == now_.audit_head; }

  void execute(Store& store, Transaction& tx) const {
    for (const auto& step : steps_) step(store, tx);
  }

 private:
  void act(char op, std::string kind, std::string name, std::string detail, Step step) {
    actions_.push_back({op, std::move(kind), std::move(name), std::move(detail)});
    steps_.push_back(std::move(step));
  }

  // ---- hostnames and the factory default certificate -------------------------------------------
  void plan_hostnames_and_factory() {
    const bool new_store = !now_.factory;
    std::vector<std::string> hostnames = file_.hostnames ? *file_.hostnames : now_.hostnames;
    if (hostnames.empty() && new_store) hostnames = initial_hostnames(store_);
    if (!hostnames.empty() && hostnames != now_.hostnames)
      act(now_.hostnames.empty() ? '+' : '~', "hostnames", fmt::format("{}", fmt::join(hostnames, ", ")),
          now_.hostnames.empty() ? "" : fmt::format("was {}", fmt::join(now_.hostnames, ", ")),
          [hostnames](Store& s, Transaction& tx) {
            set_appliance_hostnames(s, hostnames);
            tx.touch("hostnames");
          });
    const CertRow* factory_row = now_.id(now_.factory);
    factory_name_ = factory_row ? factory_row->friendly_name : kFactoryName;
    for (const auto& c : file_.certificates)
      if (c.factory_default) factory_entry_ = &c;
    if (!new_store || factory_entry_) return;
    for (const auto& c : file_.certificates)
      if (c.name == kFactoryName)
        fail(ErrorKind::BadInput,
             fmt::format("{}: the name '{}' is kept for the factory default certificate of a new store", c.pos.str(),
                         kFactoryName),
             "rename the entry, or mark it factory_default: true");
    auto factory = std::make_shared<std::optional<FactoryCertificate>>();
    if (!dry_run_) *factory = make_factory_certificate(hostnames);
    act('+', "certificate", kFactoryName, fmt::format("factory default, self-signed ec:P-256 for {}", fmt::join(hostnames, ", ")),
        [factory](Store& s, Transaction& tx) {
          install_factory_certificate(s, **factory);
          tx.touch(std::string("cert:") + kFactoryName);
        });
  }

  void plan_factory_switch() {
    if (!factory_entry_) return;
    const std::string& name = factory_entry_->name;
    if (now_.factory && factory_name_ == name) return;
    const bool new_store = !now_.factory;
    act(new_store ? '+' : '~', "factory-default", name, new_store ? "" : fmt::format("was {}", factory_name_),
        [name, new_store, has_default = file_.default_cert.has_value()](Store& s, Transaction& tx) {
          std::int64_t id = id_of(s, name);
          set_factory_cert_id(s, id);
          if (new_store && !has_default) set_default_cert_id(s, id);
          tx.touch("factory-default:" + name);
        });
    factory_name_ = name;
  }

  // ---- certificates --------------------------------------------------------------------------
  std::vector<std::string> self_signed_differences(const CertRow& row, const SelfSignedSpec& spec) const {
    std::vector<std::string> diffs;
    if (!row.self_signed) diffs.push_back(fmt::format("is {} now, not self-signed", row.source));
    if (!row.key_id) diffs.push_back("has no private key");
    const std::string key = row.key_id ? store_.key_spec(*row.key_id) : "";
    if (row.key_id && key != spec.key.str()) diffs.push_back(fmt::format("key {} -> {}", key, spec.key.str()));
    const std::string subject = subject_rfc4514(spec.subject);
    if (row.subject != subject) diffs.push_back(fmt::format("subject '{}' -> '{}'", row.subject, subject));
    std::vector<std::string> sans;
    for (const auto& s : spec.sans) sans.push_back(s.str());
    if (row.alt_names != sans)
      diffs.push_back(fmt::format("san [{}] -> [{}]", fmt::join(row.alt_names, ", "), fmt::join(sans, ", ")));
    const std::int64_t days = (row.not_after - row.not_before) / 86400;
    if (days != spec.days) diffs.push_back(fmt::format("days {} -> {}", days, spec.days));
    return diffs;
  }

  void plan_self_signed(const CertificateSpec& c) {
    const SelfSignedSpec& spec = *c.self_signed;
    const CertRow* row = now_.name(c.name);
    std::vector<std::string> diffs;
    if (row) {
      diffs = self_signed_differences(*row, spec);
      if (diffs.empty()) return;  // unchanged: kept, not re-issued
    }
    struct Made {
      std::optional<PrivateKey> key;
      Bytes der;
      CertInfo info;
    };
    auto made = std::make_shared<Made>();
    if (!dry_run_) {
      made->key = PrivateKey::generate(spec.key);
      made->der = make_self_signed(*made->key, {spec.subject, spec.sans, spec.days, 0});
      made->info = inspect_certificate(made->der);
    }
    std::optional<CertRow> old = row ? std::optional<CertRow>(*row) : std::nullopt;
    const std::string what = fmt::format("self-signed {}, {}, {} days", spec.key.str(),
                                         spec.subject.cn.empty() ? spec.sans.front().str() : "CN=" + spec.subject.cn,
                                         spec.days);
    act(row ? '~' : '+', "certificate", c.name, row ? fmt::format("re-issued: {}", fmt::join(diffs, "; ")) : what,
        [made, old, name = c.name](Store& s, Transaction& tx) {
          std::int64_t key_id = s.insert_key(*made->key);
          if (old) insert_in_place_of(s, *old, made->info, made->der, key_id, "self-signed");
          else s.insert_cert(made->info, made->der, name, key_id, "self-signed");
          tx.touch(fmt::format("cert:{}:{}", name, short_fp(made->info.fingerprint_sha256)));
        });
  }

  ImportPlan inspect_import(const CertificateSpec& c) const {
    const ImportSpec& in = *c.import;
    ImportPlan p;
    for (const auto& der : in.decoded.certificates) p.infos.push_back(inspect_certificate(der));
    std::vector<std::size_t> leaves;
    for (std::size_t i = 0; i < p.infos.size(); ++i)
      if (p.infos[i].role == Role::Leaf) leaves.push_back(i);
    if (leaves.size() == 1) p.named = leaves.front();
    else if (p.infos.size() != 1)
      fail(ErrorKind::BadInput,
           fmt::format("{}: certificates '{}': '{}' holds {} server certificates; the name is for exactly one",
                       c.pos.str(), c.name, in.source, leaves.size()),
           "split the file, one server certificate (with its chain) per entry");
    p.named_fp = p.infos[p.named].fingerprint_sha256;
    const std::string& spki = p.infos[p.named].spki_sha256;
    for (const auto& k : in.decoded.keys) p.has_key = p.has_key || k.spki_sha256() == spki;
    p.has_key = p.has_key || store_.find_key(spki).has_value();
    return p;
  }

  void plan_import(const CertificateSpec& c) {
    const ImportPlan& p = import_plans_.at(c.name);
    const CertInfo& info = p.infos[p.named];
    const Bytes& der = c.import->decoded.certificates[p.named];
    auto keys = std::make_shared<std::vector<PrivateKey>>(c.import->decoded.keys);
    auto add_keys = [keys](Store& s) {
      for (const auto& k : *keys) s.insert_key(k);
    };
    const CertRow* by_name = now_.name(c.name);
    const CertRow* by_fp = now_.fingerprint(info.fingerprint_sha256);
    const std::string from = fmt::format("from {}", c.import->source);
    if (by_fp && by_fp == by_name) {
      if (!by_name->key_id && p.has_key)
        act('~', "certificate", c.name, "private key added " + from,
            [add_keys, id = by_name->id, spki = info.spki_sha256, name = c.name](Store& s, Transaction& tx) {
              add_keys(s);
              s.set_cert_key(id, *s.find_key(spki));
              tx.touch("cert:" + name);
            });
    } else if (by_fp) {
      if (entry_names_.contains(by_fp->friendly_name))
        fail(ErrorKind::BadInput,
             fmt::format("{}: certificates '{}': its certificate is stored as '{}', a name the file gives to another entry",
                         c.pos.str(), c.name, by_fp->friendly_name),
             "names cannot be swapped in one apply: rename one of them first (applctl cert rename)");
      std::optional<CertRow> old = by_name ? std::optional<CertRow>(*by_name) : std::nullopt;
      act('~', "certificate", c.name,
          old ? fmt::format("replaced by the stored '{}' ({}), renamed", by_fp->friendly_name, short_fp(info.fingerprint_sha256))
              : fmt::format("renamed from '{}'", by_fp->friendly_name),
          [add_keys, old, row = *by_fp, name = c.name, spki = info.spki_sha256](Store& s, Transaction& tx) {
            add_keys(s);
            if (old) replace_certificate(s, *old, row.id);
            s.rename_cert(row.id, name);
            if (!row.key_id)
              if (auto k = s.find_key(spki)) s.set_cert_key(row.id, *k);
            tx.touch("cert:" + name);
          });
    } else {
      std::optional<CertRow> old = by_name ? std::optional<CertRow>(*by_name) : std::nullopt;
      act(old ? '~' : '+', "certificate", c.name,
          old ? fmt::format("replaced {} -> {} {}", short_fp(old->fingerprint_sha256), short_fp(info.fingerprint_sha256), from)
              : fmt::format("{}{} {}", role_name(info.role), p.has_key ? " with its key" : "", from),
          [add_keys, old, info, der, name = c.name](Store& s, Transaction& tx) {
            add_keys(s);
            auto key_id = s.find_key(info.spki_sha256);
            if (old) insert_in_place_of(s, *old, info, der, key_id, "imported");
            else s.insert_cert(info, der, name, key_id, "imported");
            tx.touch(fmt::format("cert:{}:{}", name, short_fp(info.fingerprint_sha256)));
          });
    }
    plan_chain_certificates(c, p);
  }

  // The other certificates of an imported file (intermediates, root) are added under names of
  // their own when the store does not have them.
  void plan_chain_certificates(const CertificateSpec& c, const ImportPlan& p) {
    for (std::size_t i = 0; i < p.infos.size(); ++i) {
      if (i == p.named) continue;
      const CertInfo& info = p.infos[i];
      if (!chain_fingerprints_.insert(info.fingerprint_sha256).second || file_fingerprints_.contains(info.fingerprint_sha256) ||
          now_.fingerprint(info.fingerprint_sha256))
        continue;
      act('+', "certificate", info.issued_to, fmt::format("{} from {} (chain of {})", role_name(info.role), c.import->source, c.name),
          [info, der = c.import->decoded.certificates[i]](Store& s, Transaction& tx) {
            if (s.cert_by_fingerprint(info.fingerprint_sha256)) return;  // also in an earlier entry
            std::string name = import_name(s, info).name;
            s.insert_cert(info, der, name, s.find_key(info.spki_sha256), "imported");
            tx.touch(fmt::format("cert:{}:{}", name, short_fp(info.fingerprint_sha256)));
          });
    }
  }

  // ---- IP addresses and the default ------------------------------------------------------------
  // The certificate `name` will be after the certificate steps, checked to be servable.
  void require_servable_after(const std::string& name, const FilePos& pos, std::string_view what) const {
    auto bad = [&](std::string why) {
      fail(ErrorKind::BadInput, fmt::format("{}: {}: '{}' {}", pos.str(), what, name, why),
           "name a server certificate with its private key (an entry of the file or a stored certificate)");
    };
    const bool in_file = entry_names_.contains(name);
    if (auto it = import_plans_.find(name); it != import_plans_.end()) {
      const Role role = it->second.infos[it->second.named].role;
      if (role != Role::Leaf) bad(fmt::format("is a CA certificate ({})", role_name(role)));
      if (!it->second.has_key) bad("has no private key");
      return;
    }
    if (in_file || (name == factory_name_ && name == kFactoryName && !now_.factory)) return;  // self-signed or new factory
    const CertRow* row = now_.name(name);
    if (!row) bad("is neither in the file nor in the store");
    if (prune_ && !file_.certificates.empty() && name != factory_name_) bad("is not in the file, and --prune removes it");
    if (row->role != Role::Leaf) bad(fmt::format("is a CA certificate ({})", role_name(row->role)));
    if (!row->key_id) bad("has no private key");
  }

  std::string name_of(std::optional<std::int64_t> id) const {
    const CertRow* row = now_.id(id);
    return row ? row->friendly_name : "";
  }

  void plan_ips() {
    std::set<std::string> listed;
    for (const auto& ip : *file_.ips) {
      listed.insert(ip.address);
      const std::string target = ip.certificate.empty() ? factory_name_ : ip.certificate;
      if (!ip.certificate.empty()) require_servable_after(ip.certificate, ip.pos, "ips");
      auto current = std::find_if(now_.ips.begin(), now_.ips.end(), [&](const IpRow& r) { return r.address == ip.address; });
      if (current != now_.ips.end() && name_of(current->cert_id) == target) continue;
      const bool add = current == now_.ips.end();
      act(add ? '+' : '~', "ip", ip.address,
          add ? fmt::format("served by {}", target) : fmt::format("served by {} (was {})", target, name_of(current->cert_id)),
          [add, address = ip.address, target](Store& s, Transaction& tx) {
            if (add) s.add_ip(address, id_of(s, target));
            else s.assign_ip(address, id_of(s, target));
            tx.touch("ip:" + address);
          });
    }
    if (!prune_) return;
    for (const auto& ip : now_.ips)
      if (!listed.contains(ip.address))
        act('-', "ip", ip.address, "not in the file", [address = ip.address](Store& s, Transaction& tx) {
          s.remove_ip(address);
          tx.touch("ip:" + address);
        });
  }

  void plan_default() {
    const std::string& name = *file_.default_cert;
    require_servable_after(name, file_.default_pos, "default");
    const std::string current = name_of(now_.default_id);
    if (current == name) return;
    act(current.empty() ? '+' : '~', "default", name, current.empty() ? "" : fmt::format("was {}", current), [name](Store& s, Transaction& tx) {
      set_default_cert_id(s, id_of(s, name));
      tx.touch("default:" + name);
    });
  }

  // ---- --prune -------------------------------------------------------------------------------
  void plan_prune_certificates() {
    for (const auto& row : now_.rows) {
      if (entry_names_.contains(row.friendly_name) || file_fingerprints_.contains(row.fingerprint_sha256) ||
          chain_fingerprints_.contains(row.fingerprint_sha256))
        continue;
      if (row.friendly_name == factory_name_) continue;  // the factory default stays
      const bool was_default = now_.default_id == row.id && !file_.default_cert;
      act('-', "certificate", row.friendly_name,
          was_default ? "not in the file (the default: the factory default takes over)" : "not in the file",
          [id = row.id](Store& s, Transaction& tx) {
            auto r = s.cert_by_id(id);
            if (!r) return;  // replaced by an earlier step
            drop_certificate(s, *r);
            tx.touch("cert:" + r->friendly_name);
          });
    }
  }

  // ---- KMIP settings (saved beside the database by apply_appliance; the step is the audit row) ----
  void plan_kmip_settings() {
    auto action = plan_kmip(*file_.kmip, store_.dir());
    if (!action) return;
    changes_kmip_ = true;
    warnings_.insert(warnings_.end(), file_.kmip->warnings.begin(), file_.kmip->warnings.end());
    act(action->op, action->kind, action->name, action->detail,
        [server = action->name](Store&, Transaction& tx) { tx.touch("kmip:" + server); });
  }

  const Store& store_;
  const ApplianceFile& file_;
  const bool dry_run_;
  const bool prune_;
  const Snapshot now_;
  const CertificateSpec* factory_entry_ = nullptr;
  std::string factory_name_;
  std::set<std::string> entry_names_;
  std::unordered_map<std::string, ImportPlan> import_plans_;  // by entry name
  std::set<std::string> file_fingerprints_;   // the certificates the entries name
  std::set<std::string> chain_fingerprints_;  // the other certificates of imported files
  std::vector<PlanAction> actions_;
  std::vector<Step> steps_;
  std::vector<std::string> warnings_;
  bool changes_kmip_ = false;
};

}  // namespace

ApplyResult apply_appliance(Store& store, const ApplyRequest& request) {
  // A store that does not exist yet is planned against as empty, so that a file the plan
  // rejects leaves no store behind.
  std::optional<Store> empty;
  if (!std::filesystem::exists(Store::database_path(store.dir()))) empty = Store::open(store.dir(), Store::Mode::ReadOnly);
  Planner planner(empty ? *empty : store, request);
  planner.plan();
  ApplyResult result{planner.actions(), false, planner.warnings()};
  if (request.dry_run || result.actions.empty()) return result;

  // New KMIP settings are tested before the store is locked: a failed test changes nothing.
  std::optional<KmipUpdate> kmip;
  if (request.file.kmip) kmip.emplace(*request.file.kmip, store.dir());
  if (planner.changes_kmip()) kmip->test();

  auto tx = store.write("apply");
  const Planner* plan = &planner;
  std::optional<Planner> again;
  if (!planner.current(store)) {
    // Another command changed the store since the plan was made: plan again, under the lock
    // (and test KMIP settings that only this plan changes, under it too).
    plan = &again.emplace(store, request);
    again->plan();
    result.actions = again->actions();
    result.warnings = again->warnings();
    if (result.actions.empty()) return result;
    if (again->changes_kmip()) kmip->test();
  }
  plan->execute(store, tx);
  if (plan->changes_kmip()) kmip->save();
  try {
    tx.commit();
  } catch (...) {
    if (kmip) kmip->restore();
    throw;
  }
  if (kmip) kmip->committed();
  result.changed = true;
  return result;
}

}  // namespace applctl
