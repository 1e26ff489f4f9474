// The repository explains itself: every link in a Markdown file of the
// repository (README.md files, docs/) points at a path that exists in the
// repository, and at a heading or `<a id>` anchor that exists in the target
// file when it names one. A link that leaves the repository (http, https,
// mailto, an absolute path, or a relative path climbing out of the
// checkout) fails: a clone must be readable on its own.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = fs::weakly_canonical(LIAISON_SOURCE_DIR);

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The Markdown files of the repository, outside build, state and cache
// folders (.cache holds sources unpacked by scripts/sanitize.sh).
std::vector<fs::path> MarkdownFiles() {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(kRoot); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name == ".git" || name == "var" || name.rfind("build", 0) == 0 ||
                               name == "node_modules" || name == ".ci-cache" || name == ".cache")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".md") out.push_back(it->path());
  }
  return out;
}

// The text outside fenced code blocks and inline code spans, line by line.
std::vector<std::string> ProseLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  bool fenced = false;
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, 3, "```") == 0) {
      fenced = !fenced;
      out.emplace_back();
      continue;
    }
    if (fenced) {
      out.emplace_back();
      continue;
    }
    std::string prose;
    bool code = false;
    for (char c : line) {
      if (c == '`') {
        code = !code;
        continue;
      }
      if (!code) prose.push_back(c);
    }
    out.push_back(prose);
  }
  return out;
}

// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
// to hyphens.
std::string Slug(const std::string& heading) {
  std::string out;
  for (unsigned char c : heading) {
    if (std::isalnum(c)) {
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (c == ' ' || c == '-') {
      out.push_back('-');
    } else if (c == '_') {
      out.push_back('_');
    }
  }
  return out;
}

std::set<std::string> Anchors(const fs::path& file) {
  std::set<std::string> out;
  const std::string text = Read(file);
  for (const std::string& line : ProseLines(text)) {
    if (!line.empty() && line[0] == '#') {
      const size_t start = line.find_first_not_of('#');
      if (start != std::string::npos)
        out.insert(
            Slug(line.substr(start + 1).substr(line.substr(start + 1).find_first_not_of(' '))));
    }
  }
  static const std::regex kId(R"re(<a (?:id|name)="([^"]+)")re");
  for (auto m = std::sregex_iterator(text.begin(), text.end(), kId); m != std::sregex_iterator();
       ++m) {
    out.insert((*m)[1].str());
  }
  return out;
}

// "" when the link is good, else what is wrong with it.
std::string Problem(const fs::path& from, const std::string& link) {
  static const std::regex kScheme(R"(^[a-zA-Z][a-zA-Z0-9+.-]*:)");
  if (std::regex_search(link, kScheme)) return "leaves the repository (a URL)";
  const size_t hash = link.find('#');
  const std::string path_part = link.substr(0, hash);
  const std::string anchor = hash == std::string::npos ? "" : link.substr(hash + 1);
  if (!path_part.empty() && path_part[0] == '/') return "an absolute path";
  const fs::path target =
      path_part.empty() ? from : fs::weakly_canonical(from.parent_path() / path_part);
  const std::string relative = fs::relative(target, kRoot).string();
  if (relative.rfind("..", 0) == 0) return "leaves the repository (climbs out of the checkout)";
  if (!fs::exists(target)) return "no such file or folder in the repository";
  if (!anchor.empty() && target.extension() == ".md" && Anchors(target).count(anchor) == 0) {
    return "no heading or <a id> '" + anchor + "' in " + relative;
  }
  return "";
}

TEST(DocLinks, EveryMarkdownLinkPointsInsideTheRepository) {
  const std::vector<fs::path> files = MarkdownFiles();
  ASSERT_GT(files.size(), 5u) << "no Markdown files found under " << kRoot;
  // [text](target) and [text](target "title"); <scheme:...> autolinks.
  static const std::regex kLink(R"(\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\))");
  static const std::regex kAutolink(R"(<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]+)>)");
  int links = 0;
  for (const fs::path& file : files) {
    const std::vector<std::string> lines = ProseLines(Read(file));
    for (size_t i = 0; i < lines.size(); ++i) {
      for (const std::regex* re : {&kLink, &kAutolink}) {
        for (auto m = std::sregex_iterator(lines[i].begin(), lines[i].end(), *re);
             m != std::sregex_iterator(); ++m) {
          ++links;
          const std::string link = (*m)[1].str();
          const std::string problem = Problem(file, link);
          EXPECT_EQ(problem, "") << fs::relative(file, kRoot).string() << ":" << i + 1 << ": ("
                                 << link << ") " << problem;
        }
      }
    }
  }
  EXPECT_GT(links, 20);
}

// The checker itself: it must refuse what the test is for.
TEST(DocLinks, CheckerRefusesBrokenAndOutsideLinks) {
  const fs::path readme = kRoot / "README.md";
  EXPECT_EQ(Problem(readme, "docs/rules.md"), "");
  EXPECT_EQ(Problem(readme, "docs/acceptance.md#ac-03"), "");
  EXPECT_NE(Problem(readme, "docs/acceptance.md#ac-99"), "");
  EXPECT_NE(Problem(readme, "docs/no-such-page.md"), "");
  EXPECT_NE(Problem(readme, "../shared/DESIGN.md"), "");
  EXPECT_NE(Problem(readme, "https://example.org/"), "");
  EXPECT_NE(Problem(readme, "/etc/passwd"), "");
  EXPECT_EQ(Slug("What the broker answers when something is wrong"),
            "what-the-broker-answers-when-something-is-wrong");
}

}  // namespace
