#pragma once

#include <filesystem>
#include <string>

namespace cordon::testing {

// A fresh directory under /tmp (short, so socket paths stay under 108 bytes), removed with
// everything in it on destruction. Aborts if it cannot be created: a test cannot run without it.
class TempDir {
public:
  explicit TempDir(const std::string& prefix = "cordon");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

} // namespace cordon::testing
