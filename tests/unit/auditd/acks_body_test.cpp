#include <catch2/catch.hpp>

#include <vector>

#include "auditd/api.h"

using namespace cordon;
using namespace cordon::auditd;

TEST_CASE("the ack body is byte for byte what the JSON library writes, for one event and a batch") {
  const std::vector<ledger::Ack> acks{{0, std::string(64, '0')},
                                      {7, "9f5cc65c24170e66aa33f983312850484e44ef34e66248f2a09e1fc8cf9ed5b5"},
                                      {UINT64_MAX, std::string(64, 'f')}};
  CHECK(acks_body(std::span(acks).first(1), false) == ack_json(acks[0]).dump());
  Json array = Json::array();
  for (const auto& ack : acks) array.push_back(ack_json(ack));
  CHECK(acks_body(acks, true) == array.dump());
  CHECK(parse_json(acks_body(acks, true)).value() == array);
}
