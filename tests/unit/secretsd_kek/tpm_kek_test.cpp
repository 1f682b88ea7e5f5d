#include "secretsd/kek/tpm_kek.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "tests/support/swtpm.h"
#include "tests/support/temp_dir.h"

namespace {

using cordon::Errc;
using cordon::secretsd::KekCustodyKind;
using cordon::secretsd::TpmKek;
using cordon::secretsd::TpmKekOptions;
using cordon::testing::TempDir;
using cordon::testing::TempSwtpm;
using cordon::testing::TpmHandleKind;

constexpr std::uint32_t parent_handle = 0x81000C0D;

#define REQUIRE_OK(expression)                                                                     \
  do {                                                                                             \
    const auto& require_ok_result_ = (expression);                                                 \
    if (!require_ok_result_) FAIL(#expression << ": " << require_ok_result_.error().message);      \
  } while (0)

std::unique_ptr<TempSwtpm> start_swtpm() {
  auto tpm = TempSwtpm::create();
  REQUIRE_OK(tpm);
  return std::move(*tpm);
}

TpmKekOptions options_for(const TempSwtpm& tpm, const TempDir& directory,
                          std::vector<unsigned> pcrs = {}) {
  TpmKekOptions options;
  options.tcti = tpm.tcti();
  options.directory = directory.path();
  options.parent_handle = parent_handle;
  options.pcrs = std::move(pcrs);
  return options;
}

std::unique_ptr<TpmKek> open_kek(const TpmKekOptions& options) {
  auto kek = TpmKek::open(options);
  REQUIRE_OK(kek);
  return std::move(*kek);
}

// The KEK as ordinary bytes, for comparisons in tests only.
std::string load_kek(const TpmKekOptions& options) {
  auto kek = open_kek(options)->load_or_create();
  REQUIRE_OK(kek);
  REQUIRE(kek->size() == cordon::secretsd::kek_bytes);
  return std::string(kek->view());
}

cordon::Error load_error(const TpmKekOptions& options) {
  auto kek = open_kek(options)->load_or_create();
  REQUIRE_FALSE(kek.has_value());
  return kek.error();
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_bytes(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

bool holds_handle(TempSwtpm& tpm, std::uint32_t handle) {
  auto handles = tpm.handles(TpmHandleKind::persistent);
  REQUIRE_OK(handles);
  return std::find(handles->begin(), handles->end(), handle) != handles->end();
}

std::string handle_text(std::uint32_t handle) { return fmt::format("{:#010x}", handle); }

// Someone else's key at the handle: an ECC owner primary made persistent with tpm2-tools.
void persist_foreign_key(TempSwtpm& tpm, std::uint32_t handle) {
  REQUIRE_OK(tpm.run_tool("tpm2_createprimary", {"-C", "o", "-G", "ecc", "-c", "foreign.ctx"}));
  REQUIRE_OK(
      tpm.run_tool("tpm2_evictcontrol", {"-C", "o", "-c", "foreign.ctx", handle_text(handle)}));
}

} // namespace

TEST_CASE("a sealed KEK unseals to the same bytes after secretsd and the TPM restart") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  const std::string first = load_kek(options);

  REQUIRE_OK(tpm->stop());
  REQUIRE_OK(tpm->start());

  CHECK(load_kek(options) == first);
}

TEST_CASE("the sealed blob and the parent name are files of mode 0600") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  load_kek(options);

  for (const auto* name : {"kek.tpm", "kek.tpm-parent"}) {
    struct stat status {};
    REQUIRE(::stat((directory / name).c_str(), &status) == 0);
    CHECK(S_ISREG(status.st_mode));
    CHECK((status.st_mode & 07777) == 0600);
  }
}

TEST_CASE("two KEKs created on fresh TPMs differ") {
  const auto first_tpm = start_swtpm();
  const auto second_tpm = start_swtpm();
  const TempDir first_directory("cordon-kek");
  const TempDir second_directory("cordon-kek");

  CHECK(load_kek(options_for(*first_tpm, first_directory)) !=
        load_kek(options_for(*second_tpm, second_directory)));
}

TEST_CASE("a KEK bound to PCR 16 is refused once PCR 16 is extended, and its blob is kept") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory, {16});
  load_kek(options);
  const std::string blob = read_bytes(directory / "kek.tpm");

  REQUIRE_OK(tpm->extend_pcr(16, "a different boot"));
  const auto error = load_error(options);

  CHECK(error.code == Errc::permission_denied);
  CHECK(error.message ==
        "the TPM refused to unseal the KEK: PCR 16 no longer holds the value it was sealed to");
  CHECK(read_bytes(directory / "kek.tpm") == blob);
}

TEST_CASE("a KEK bound to PCRs 16 and 23 unseals again after a reboot resets them") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory, {23, 16});
  const std::string first = load_kek(options);
  REQUIRE_OK(tpm->extend_pcr(23, "a different boot"));
  CHECK(load_error(options).message.find("PCRs 16,23 no longer hold the values") !=
        std::string::npos);

  REQUIRE_OK(tpm->stop());
  REQUIRE_OK(tpm->start());

  CHECK(load_kek(options) == first);
}

TEST_CASE("a KEK sealed to other PCRs than configured is refused as a conflict") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  load_kek(options_for(*tpm, directory, {16}));
  const std::string blob = read_bytes(directory / "kek.tpm");

  const auto error = load_error(options_for(*tpm, directory));

  CHECK(error.code == Errc::conflict);
  CHECK(error.message.find("is bound to PCR 16 but secretsd is configured for no PCRs") !=
        std::string::npos);
  CHECK(read_bytes(directory / "kek.tpm") == blob);
}

TEST_CASE("after shred a saved copy of the sealed blob yields nothing and the parent is evicted") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  load_kek(options);
  const std::string saved_blob = read_bytes(directory / "kek.tpm");
  const std::string saved_name = read_bytes(directory / "kek.tpm-parent");
  REQUIRE(holds_handle(*tpm, parent_handle));

  REQUIRE_OK(open_kek(options)->shred());

  CHECK_FALSE(std::filesystem::exists(directory / "kek.tpm"));
  CHECK_FALSE(std::filesystem::exists(directory / "kek.tpm-parent"));
  CHECK_FALSE(holds_handle(*tpm, parent_handle));
  write_bytes(directory / "kek.tpm", saved_blob);
  write_bytes(directory / "kek.tpm-parent", saved_name);
  const auto error = load_error(options);
  CHECK(error.code == Errc::integrity);
  CHECK(error.message.find(
            "no longer holds Cordon's storage key at 0x81000c0d (was the TPM cleared?)") !=
        std::string::npos);
}

TEST_CASE("after shred a new, different KEK is created") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  const std::string first = load_kek(options);

  REQUIRE_OK(open_kek(options)->shred());

  CHECK(load_kek(options) != first);
  CHECK(holds_handle(*tpm, parent_handle));
}

TEST_CASE("shred succeeds when there is nothing to shred, and twice in a row") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  const auto kek = open_kek(options);
  REQUIRE_OK(kek->shred());
  REQUIRE_OK(kek->load_or_create());

  REQUIRE_OK(kek->shred());
  REQUIRE_OK(kek->shred());

  CHECK(std::filesystem::is_empty(directory.path()));
  CHECK_FALSE(holds_handle(*tpm, parent_handle));
}

TEST_CASE("an unreachable TPM is reported as unavailable, naming the TCTI") {
  std::string tcti;
  {
    const auto tpm = start_swtpm();
    tcti = tpm->tcti();
  } // stopped: nothing listens on its port any more
  const TempDir directory("cordon-kek");
  TpmKekOptions options;
  options.tcti = tcti;
  options.directory = directory.path();

  const auto kek = TpmKek::open(options);

  REQUIRE_FALSE(kek.has_value());
  CHECK(kek.error().code == Errc::unavailable);
  CHECK(kek.error().message.rfind("cannot reach the TPM at " + tcti + ": ", 0) == 0);
}

TEST_CASE("a TPM that went away after open is reported as unavailable") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto kek = open_kek(options_for(*tpm, directory));
  REQUIRE_OK(tpm->stop());

  const auto result = kek->load_or_create();

  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == Errc::unavailable);
  CHECK(result.error().message.find("cannot reach the TPM at " + tpm->tcti()) != std::string::npos);
  const auto shredded = kek->shred();
  REQUIRE_FALSE(shredded.has_value());
  CHECK(shredded.error().code == Errc::unavailable);
}

TEST_CASE("a cleared TPM is reported as an integrity failure that asks whether it was cleared") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  load_kek(options);
  const std::string blob = read_bytes(directory / "kek.tpm");

  REQUIRE_OK(tpm->clear());
  const auto error = load_error(options);

  CHECK(error.code == Errc::integrity);
  CHECK(error.message ==
        "the TPM no longer holds Cordon's storage key at 0x81000c0d (was the TPM cleared?); the "
        "KEK sealed in " +
            (directory / "kek.tpm").string() + " cannot be recovered");
  CHECK(read_bytes(directory / "kek.tpm") == blob);
}

TEST_CASE("a sealed blob with a changed byte is refused as an integrity failure") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  load_kek(options);
  std::string blob = read_bytes(directory / "kek.tpm");
  blob[blob.size() - 1] = static_cast<char>(blob[blob.size() - 1] ^ 0x01); // in the TPM2B_PRIVATE
  write_bytes(directory / "kek.tpm", blob);

  const auto error = load_error(options);

  CHECK(error.code == Errc::integrity);
  CHECK(error.message.find("does not load under the storage key at 0x81000c0d") !=
        std::string::npos);
  CHECK(read_bytes(directory / "kek.tpm") == blob);
}

TEST_CASE("a truncated sealed blob is refused as an integrity failure") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  load_kek(options);
  const std::string blob = read_bytes(directory / "kek.tpm");
  write_bytes(directory / "kek.tpm", blob.substr(0, blob.size() / 2));

  const auto error = load_error(options);

  CHECK(error.code == Errc::integrity);
  CHECK(error.message.find("is damaged") != std::string::npos);
}

TEST_CASE("someone else's key at the parent handle is refused as a conflict and not evicted") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  persist_foreign_key(*tpm, parent_handle);

  const auto error = load_error(options_for(*tpm, directory));

  CHECK(error.code == Errc::conflict);
  CHECK(error.message.find("holds an object that is not Cordon's storage key") !=
        std::string::npos);
  CHECK(error.message.find("refusing to evict") != std::string::npos);
  CHECK(holds_handle(*tpm, parent_handle));
  CHECK_FALSE(std::filesystem::exists(directory / "kek.tpm"));
}

TEST_CASE("shred leaves someone else's key at the parent handle alone") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  persist_foreign_key(*tpm, parent_handle);

  REQUIRE_OK(open_kek(options_for(*tpm, directory))->shred());

  CHECK(holds_handle(*tpm, parent_handle));
}

TEST_CASE("a key at the parent handle other than the recorded parent is refused as an integrity "
          "failure") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  load_kek(options);
  REQUIRE_OK(tpm->run_tool("tpm2_evictcontrol", {"-C", "o", "-c", handle_text(parent_handle)}));
  persist_foreign_key(*tpm, parent_handle);

  const auto error = load_error(options);

  CHECK(error.code == Errc::integrity);
  CHECK(error.message.find("is not the storage key the KEK was sealed under") != std::string::npos);
  REQUIRE_OK(open_kek(options)->shred());
  CHECK(holds_handle(*tpm, parent_handle));
}

TEST_CASE("a leftover parent without a sealed blob is evicted and replaced") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  const std::string first = load_kek(options);
  const std::string first_name = read_bytes(directory / "kek.tpm-parent");
  std::filesystem::remove(directory / "kek.tpm"); // as if creation stopped before writing it

  const std::string second = load_kek(options);

  CHECK(second != first);
  CHECK(read_bytes(directory / "kek.tpm-parent") != first_name);
  CHECK(holds_handle(*tpm, parent_handle));
  CHECK(load_kek(options) == second);
}

TEST_CASE("a sealed blob without its parent name file still unseals under its parent") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory);
  const std::string first = load_kek(options);
  std::filesystem::remove(directory / "kek.tpm-parent");

  CHECK(load_kek(options) == first);
  REQUIRE_OK(open_kek(options)->shred());
  CHECK_FALSE(holds_handle(*tpm, parent_handle));
}

TEST_CASE("creating, unsealing, a refused unseal and shred leave no objects or sessions loaded") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");
  const auto options = options_for(*tpm, directory, {16});
  const auto kek = open_kek(options);

  REQUIRE_OK(kek->load_or_create());
  REQUIRE_OK(kek->load_or_create());
  REQUIRE_OK(tpm->extend_pcr(16, "a different boot"));
  REQUIRE_FALSE(kek->load_or_create().has_value());
  REQUIRE_OK(kek->shred());

  for (const auto kind : {TpmHandleKind::transient, TpmHandleKind::loaded_session}) {
    const auto handles = tpm->handles(kind);
    REQUIRE_OK(handles);
    CHECK(handles->empty());
  }
}

TEST_CASE("describe names the TCTI, the parent handle and the PCR binding") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");

  const auto unbound = open_kek(options_for(*tpm, directory));
  const auto one = open_kek(options_for(*tpm, directory, {7}));
  const auto two = open_kek(options_for(*tpm, directory, {11, 7, 11}));

  CHECK(unbound->kind() == KekCustodyKind::tpm);
  CHECK(unbound->describe() == "tpm (" + tpm->tcti() + "; parent 0x81000c0d; not bound to PCRs)");
  CHECK(one->describe() == "tpm (" + tpm->tcti() + "; parent 0x81000c0d; bound to PCR 7)");
  CHECK(two->describe() == "tpm (" + tpm->tcti() + "; parent 0x81000c0d; bound to PCRs 7,11)");
}

TEST_CASE("open refuses a PCR above 23, a non-owner persistent handle and a missing directory") {
  const auto tpm = start_swtpm();
  const TempDir directory("cordon-kek");

  auto bad_pcr = options_for(*tpm, directory, {24});
  auto platform_handle = options_for(*tpm, directory);
  platform_handle.parent_handle = 0x81800001;
  auto transient_handle = options_for(*tpm, directory);
  transient_handle.parent_handle = 0x80000001;
  auto missing_directory = options_for(*tpm, directory);
  missing_directory.directory = directory / "missing";

  for (const auto& options : {bad_pcr, platform_handle, transient_handle, missing_directory}) {
    const auto kek = TpmKek::open(options);
    REQUIRE_FALSE(kek.has_value());
    CHECK(kek.error().code == Errc::invalid_argument);
  }
}
