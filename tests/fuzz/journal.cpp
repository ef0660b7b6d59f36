// Fuzz target: search journals (JSON lines; a torn last line is dropped, a damaged one named).
#include <edgenas/search/journal.hpp>

#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzz::only_edgenas_errors([&] {
    const std::string path = fuzz::write_temp(data, size, "journal.jsonl");
    std::size_t records = 0;
    {
      edgenas::search::Journal j(path);
      records = j.records().size();
      j.append(edgenas::json::Value().set("type", "finished"));
    }
    // What was kept, plus the record appended, reads back.
    edgenas::search::Journal again(path);
    fuzz::require(again.records().size() == records + 1 && again.torn_bytes() == 0, "journal reopens");
  });
}
