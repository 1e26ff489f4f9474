// The audit export file: what WriteExport writes, ReadExport reads back byte
// for byte; anything else is refused naming the file and line.
#include "connectors/audit/export_file.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace liaison::audit {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/custody_export_test_" +
         std::to_string(::getpid()) + "_" + name;
}

std::string WriteText(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(AuditExport, RecordsRoundTripByteForByte) {
  std::vector<kafka::Record> records(3);
  records[0].partition = 0;
  records[0].offset = 4;
  records[0].value = std::string("\0\x01\xff binary", 10);
  records[0].timestamp = absl::FromUnixMillis(1796000000123);
  records[1].partition = 0;
  records[1].offset = 5;
  records[1].value = "";
  records[1].timestamp = absl::FromUnixMillis(1796000000124);
  records[2].partition = 2;
  records[2].offset = 0;
  records[2].value = "x";
  records[2].timestamp = absl::FromUnixMillis(1796000001000);
  std::ostringstream out;
  ASSERT_TRUE(WriteExport("t.audit", records, out).ok());
  EXPECT_TRUE(absl::StartsWith(out.str(),
                               "{\"format\":\"liaison-audit-export\",\"version\":1,\"topic\":"
                               "\"t.audit\"}\n"))
      << out.str();
  const std::string path = WriteText("roundtrip", out.str());
  absl::StatusOr<std::vector<kafka::Record>> read = ReadExport(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*read)[i].partition, records[i].partition);
    EXPECT_EQ((*read)[i].offset, records[i].offset);
    EXPECT_EQ((*read)[i].value, records[i].value);
    EXPECT_EQ((*read)[i].timestamp, records[i].timestamp);
    EXPECT_EQ((*read)[i].topic, "t.audit");
  }
  std::remove(path.c_str());
}

TEST(AuditExport, BadFilesAreRefusedNamingTheLine) {
  const std::string header =
      "{\"format\":\"liaison-audit-export\",\"version\":1,\"topic\":\"a\"}\n";
  const std::string at = "\"timestamp\":\"2026-12-05T08:30:00.000Z\"";
  const std::string good = "{\"partition\":0,\"offset\":1," + at + ",\"value\":\"eA==\"}\n";
  struct Case {
    const char* name;
    std::string text;
    const char* fragment;
  };
  for (const Case& c : std::vector<Case>{
           {"empty", "", ": empty"},
           {"noheader", good, ":1: not an audit export"},
           {"version", "{\"format\":\"liaison-audit-export\",\"version\":2}\n",
            ":1: export version 2"},
           {"notjson", header + "{oops\n", ":2: not a JSON object"},
           {"base64", header + "{\"partition\":0,\"offset\":1," + at + ",\"value\":\"***\"}\n",
            ":2: value: not base64"},
           {"time",
            header + "{\"partition\":0,\"offset\":1,\"timestamp\":\"yesterday\",\"value\":\"\"}\n",
            ":2: timestamp"},
           {"nooffset", header + "{\"partition\":0," + at + ",\"value\":\"\"}\n",
            ":2: offset: missing"},
           {"order", header + good + good, ":3: partition 0 offset 1 after partition 0 offset 1"},
       }) {
    const std::string path = WriteText(c.name, c.text);
    absl::StatusOr<std::vector<kafka::Record>> read = ReadExport(path);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_TRUE(absl::StrContains(read.status().message(), path + c.fragment))
        << c.name << ": " << read.status();
    std::remove(path.c_str());
  }
  EXPECT_EQ(ReadExport(TempPath("absent")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace liaison::audit
