// secretsd with its KEK sealed to a real TPM 2.0 (swtpm): survives restarts, refuses changed
// PCRs with a clear message, and after crypto-shred a saved database and sealed blob yield
// nothing.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/integration/secretsd/helpers.h"
#include "tests/support/swtpm.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

SecretsdProcessOptions tpm_options(const TempSwtpm& tpm, std::vector<unsigned> pcrs = {16}) {
  SecretsdProcessOptions options;
  options.custody = "tpm";
  options.tcti = tpm.tcti();
  options.pcrs = std::move(pcrs);
  return options;
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string lease_value(RunningSecretsd& stack, const std::string& secret) {
  const auto action = http_action();
  auto granted = json_of(lease(stack.client, signed_packet(stack.client, action), action, secret), 201);
  auto value = from_base64(granted["value_base64"].get<std::string>()).value();
  return std::string(value.begin(), value.end());
}

} // namespace

TEST_CASE("a TPM-sealed vault reads its secret after secretsd and the TPM restart") {
  auto tpm = TempSwtpm::create().value();
  RunningSecretsd stack(tpm_options(*tpm));
  auto status = json_of(stack.client.get("/v1/status"), 200);
  CHECK(status["kek_custody"] == "tpm");
  CHECK(status["kek"].get<std::string>().find("bound to PCR 16") != std::string::npos);
  put_secret(stack.client, "api-key", "sealed-value");
  stack.secretsd.stop();
  REQUIRE(tpm->stop());
  REQUIRE(tpm->start());
  auto restarted = stack.secretsd.start();
  INFO((restarted ? std::string() : restarted.error().message));
  REQUIRE(restarted);
  stack.client.close();
  CHECK(lease_value(stack, "api-key") == "sealed-value");
}

TEST_CASE("after the bound PCR is extended secretsd refuses to start and names the PCR") {
  auto tpm = TempSwtpm::create().value();
  RunningSecretsd stack(tpm_options(*tpm));
  put_secret(stack.client, "api-key", "sealed-value");
  stack.secretsd.stop();
  const auto blob_before = file_bytes(stack.secretsd.state_dir() / "kek.tpm");
  REQUIRE(tpm->extend_pcr(16, "an unexpected boot component"));
  auto refused = stack.secretsd.start();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("PCR 16") != std::string::npos);
  CHECK(refused.error().message.find("refused to unseal") != std::string::npos);
  CHECK(file_bytes(stack.secretsd.state_dir() / "kek.tpm") == blob_before);
}

TEST_CASE("after crypto-shred a saved database and sealed blob yield no value") {
  auto tpm = TempSwtpm::create().value();
  RunningSecretsd stack(tpm_options(*tpm, {}));
  put_secret(stack.client, "api-key", "value-that-must-die");
  const auto state = stack.secretsd.state_dir();
  // What an attacker would keep: every file of the vault and the sealed KEK, taken before shred.
  stack.secretsd.stop();
  const auto saved = stack.directory / "saved";
  std::filesystem::copy(state, saved, std::filesystem::copy_options::recursive);
  REQUIRE(stack.secretsd.start());
  stack.client.close();

  require_problem(stack.client.post("/v1/shred", R"({"confirm_tenant":"someone-else"})"), 400, "invalid_argument");
  auto shredded = json_of(stack.client.post("/v1/shred", R"({"confirm_tenant":"test"})"), 200);
  CHECK(shredded["state"] == "shredded");
  CHECK(json_of(stack.client.get("/v1/status"), 200)["state"] == "shredded");
  require_problem(stack.client.get("/v1/secrets"), 409, "conflict");
  CHECK(wait_for_event(stack, "vault.shredded", "tpm"));
  CHECK(tpm->handles(TpmHandleKind::persistent).value().empty());
  CHECK_FALSE(std::filesystem::exists(state / "kek.tpm"));

  // Put the saved files back: the sealed blob cannot be loaded without the evicted parent, so
  // secretsd cannot recover the KEK and refuses to start.
  stack.secretsd.stop();
  std::filesystem::remove_all(state);
  std::filesystem::copy(saved, state, std::filesystem::copy_options::recursive);
  auto restored = stack.secretsd.start();
  REQUIRE_FALSE(restored);
  CHECK(restored.error().message.find("cannot recover the KEK") != std::string::npos);
  // And the saved database holds the value only as ciphertext.
  const auto database = file_bytes(saved / "vault.db") + file_bytes(saved / "vault.db-wal");
  CHECK(database.find("value-that-must-die") == std::string::npos);
}
