// TextTable: the aligned, plain-text tables edgectl prints (`edgectl status`).
//
// Example:
//   TextTable table({"SERVICE", "PID"});
//   table.AddRow({"store", "4242"});
//   std::cout << table.Render();
//   // SERVICE  PID
//   // store    4242
#ifndef EDGE_CLI_TABLE_H_
#define EDGE_CLI_TABLE_H_

#include <string>
#include <vector>

namespace edge::cli {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);

  // Missing cells print empty; extra cells are dropped.
  void AddRow(std::vector<std::string> row);

  // Left-aligned columns two spaces apart, one line per row, no trailing spaces.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

}  // namespace edge::cli

#endif  // EDGE_CLI_TABLE_H_
