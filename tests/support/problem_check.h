#pragma once

#include <string>

#include <catch2/catch.hpp>

#include "common/error.h"
#include "common/ipc/http.h"
#include "common/json.h"

namespace cordon::testing {

// Asserts an RFC 9457 problem answer with this status and problem type suffix, and a detail.
inline void require_problem(const Result<ipc::Response>& response, int status, const std::string& type) {
  REQUIRE(response);
  INFO(response->body);
  CHECK(response->status == status);
  CHECK(response->content_type == "application/problem+json");
  auto body = parse_json(response->body);
  REQUIRE(body);
  CHECK((*body)["type"] == "https://cordon.dev/problems/" + type);
  CHECK((*body)["status"] == status);
  CHECK(!(*body)["detail"].get<std::string>().empty());
}

// Asserts an answer with this status and a JSON body, and returns the body.
inline Json json_of(const Result<ipc::Response>& response, int status) {
  REQUIRE(response);
  INFO(response->status << " " << response->body);
  REQUIRE(response->status == status);
  auto body = parse_json(response->body);
  REQUIRE(body);
  return *body;
}

} // namespace cordon::testing
