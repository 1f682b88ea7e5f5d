#include "cli/secrets_command.h"

#include <iostream>
#include <iterator>

#include "cli/daemon_answer.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

namespace {

Result<std::string> read_value(const SecretsCommand& command, std::istream& in) {
  std::string value;
  if (command.from_file) {
    value = CORDON_TRY(read_file(*command.from_file));
  } else {
    value.assign(std::istreambuf_iterator<char>(in), {});
    // `echo "$TOKEN" | cordonctl secrets put …` must store the token, not the token and a newline.
    if (!command.keep_newline && value.ends_with('\n')) value.pop_back();
    if (!command.keep_newline && value.ends_with('\r')) value.pop_back();
  }
  if (value.empty()) return fail(Errc::invalid_argument, "the value is empty");
  return value;
}

void print_metadata(const Json& metadata, std::ostream& out) {
  std::string tools;
  for (const auto& tool : metadata["tools"]) tools += (tools.empty() ? "" : ",") + tool.get<std::string>();
  out << metadata["name"].get<std::string>() << "\tversion " << metadata["version"].get<std::int64_t>() << "\ttools "
      << tools << "\t" << metadata["created_at"].get<std::string>() << "\n";
}

} // namespace

Result<void> run_secrets_command(const SecretsCommand& command, std::istream& in, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  switch (command.action) {
  case SecretsCommand::Action::list: {
    const auto listed = CORDON_TRY(answer_json(client.get("/v1/secrets"), "secretsd"));
    for (const auto& metadata : listed["secrets"]) print_metadata(metadata, out);
    return ok();
  }
  case SecretsCommand::Action::remove: {
    CORDON_TRY(answer_json(client.request(ipc::Method::delete_, "/v1/secrets/" + command.name), "secretsd"));
    out << "deleted every version of " << command.name << "\n";
    return ok();
  }
  case SecretsCommand::Action::put:
  case SecretsCommand::Action::rotate: break;
  }
  auto value = CORDON_TRY(read_value(command, in));
  Json body = {{"value_base64", to_base64(as_bytes(value))}};
  crypto::wipe({reinterpret_cast<std::uint8_t*>(value.data()), value.size()});
  if (!command.tools.empty() || command.action == SecretsCommand::Action::put) body["tools"] = command.tools;
  std::string text = body.dump();
  auto response = command.action == SecretsCommand::Action::put
                      ? client.request(ipc::Method::put, "/v1/secrets/" + command.name, text)
                      : client.post("/v1/secrets/" + command.name + "/rotate", text);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  const auto metadata = CORDON_TRY(answer_json(std::move(response), "secretsd", command.action == SecretsCommand::Action::put ? 201 : 200));
  print_metadata(metadata, out);
  return ok();
}

} // namespace cordon::cli
