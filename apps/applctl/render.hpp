// Turning results into JSON documents (the field names the man pages list) and into human tables
// and key: value blocks.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "applctl/services/appliance.hpp"
#include "applctl/services/certs.hpp"
#include "applctl/services/requests.hpp"

namespace applctl::cli {

// A left-aligned table with a header row; columns as wide as their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : rows_{std::move(headers)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string str() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the values aligned.
class Block {
 public:
  Block& add(std::string key, std::string value);
  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

std::string date_of(UnixTime t);  // "2027-01-31"

nlohmann::json to_json(const CertSummary& c);
nlohmann::json to_json(const CertDetails& d);
nlohmann::json to_json(const RequestRow& r);
nlohmann::json to_json(const std::vector<CertSummary>& list);
// The text of to_json(c).dump(2) with every line after the first indented by `indent` spaces,
// appended to out: `--json cert list` writes thousands of these without building a document of
// each (the CLI tests check it against nlohmann's own text).
void append_json(std::string& out, const CertSummary& c, int indent);

std::string cert_table(const std::vector<CertSummary>& list);
std::string cert_block(const CertSummary& c);
std::string cert_details_block(const CertDetails& d);
std::string request_block(const RequestRow& r);

}  // namespace applctl::cli
